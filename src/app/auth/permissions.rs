//! The single table of which role may do what. Services check it; the UI reads it to hide what
//! a role can't do. Every match is exhaustive, with no wildcard arm, so a new role or action
//! must be decided everywhere.

use super::scope::TenantScope;
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Invite users, change roles, disable/enable, issue reset links.
    ManageUsers,
    /// Change runtime policies and see system details.
    ManageSettings,
    /// Read CRM records.
    ReadRecords,
    /// Create CRM records.
    CreateRecords,
    /// Edit records one owns or is assigned.
    EditOwnRecords,
    /// Edit and delete any record.
    EditAllRecords,
    /// Import, export and bulk changes.
    ImportExport,
    /// Use the client portal.
    UsePortal,
    /// Create personal API tokens.
    UseApi,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::ManageUsers,
        Action::ManageSettings,
        Action::ReadRecords,
        Action::CreateRecords,
        Action::EditOwnRecords,
        Action::EditAllRecords,
        Action::ImportExport,
        Action::UsePortal,
        Action::UseApi,
    ];
}

/// Whether `role` may do `action`.
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Owner | Role::Admin => match action {
            ManageUsers | ManageSettings | ReadRecords | CreateRecords | EditOwnRecords | EditAllRecords
            | ImportExport | UseApi => true,
            UsePortal => false,
        },
        Role::Manager => match action {
            ReadRecords | CreateRecords | EditOwnRecords | EditAllRecords | ImportExport | UseApi => true,
            ManageUsers | ManageSettings | UsePortal => false,
        },
        Role::Staff => match action {
            ReadRecords | CreateRecords | EditOwnRecords | UseApi => true,
            ManageUsers | ManageSettings | EditAllRecords | ImportExport | UsePortal => false,
        },
        Role::ViewOnly => match action {
            ReadRecords | UseApi => true,
            ManageUsers | ManageSettings | CreateRecords | EditOwnRecords | EditAllRecords | ImportExport
            | UsePortal => false,
        },
        Role::Client => match action {
            UsePortal => true,
            ManageUsers | ManageSettings | ReadRecords | CreateRecords | EditOwnRecords | EditAllRecords
            | ImportExport | UseApi => false,
        },
    }
}

impl TenantScope {
    /// `Ok` if this scope's role may do `action`, else E1005.
    pub fn require(&self, action: Action) -> Result<(), AppError> {
        if allows(self.role(), action) { Ok(()) } else { Err(AppError::new(ErrorCode::Forbidden)) }
    }

    pub fn can(&self, action: Action) -> bool {
        allows(self.role(), action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_role_table() {
        use Action::*;
        let expect = |role: Role, allowed: &[Action]| {
            for action in Action::ALL {
                assert_eq!(allows(role, action), allowed.contains(&action), "{role} {action:?}");
            }
        };
        let staff_up = [ReadRecords, CreateRecords, EditOwnRecords, UseApi];
        expect(Role::Owner, &[&staff_up[..], &[EditAllRecords, ImportExport, ManageUsers, ManageSettings]].concat());
        expect(Role::Admin, &[&staff_up[..], &[EditAllRecords, ImportExport, ManageUsers, ManageSettings]].concat());
        expect(Role::Manager, &[&staff_up[..], &[EditAllRecords, ImportExport]].concat());
        expect(Role::Staff, &staff_up);
        expect(Role::ViewOnly, &[ReadRecords, UseApi]);
        expect(Role::Client, &[UsePortal]);
    }
}
