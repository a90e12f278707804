//! Users and workspaces: the admin's user management (scoped, role-checked) and the offline
//! `holdfast admin` commands (trusted: whoever runs them can read the data directory).

use secrecy::SecretString;

use super::audit::{AuditEvent, record, record_server};
use super::auth::password::check_new_password;
use super::auth::permissions::Action;
use super::auth::{ClientInfo, IssuedLink, LinkPurpose, TenantScope};
use super::store::rows::{UserRecord, WorkspaceRecord};
use crate::domain::email::EmailAddress;
use crate::domain::ids::{UserId, WorkspaceId};
use crate::domain::role::Role;
use crate::domain::text::required_line;
use crate::error::{AppError, ErrorCode};

use super::auth::setup::NAME_MAX;

crate::app::service! {
    /// A workspace's members: invitations, roles, disabling; offline account creation.
    Users
}

/// A user as the admin page shows it.
#[derive(Debug, Clone)]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    /// False until an invited user has set a password.
    pub active: bool,
    /// Whether a second factor is enrolled.
    pub mfa: bool,
    /// Locked after too many failed sign-ins.
    pub locked: bool,
}

impl From<UserRecord> for UserView {
    fn from(user: UserRecord) -> Self {
        Self {
            id: user.id,
            email: user.email.to_string(),
            name: user.name,
            role: user.role,
            disabled: user.disabled,
            active: user.password_hash.is_some(),
            mfa: user.mfa.is_some(),
            locked: user.locked,
        }
    }
}

/// Only an owner may make someone an owner or change an owner.
pub(crate) fn check_role_change(actor: &TenantScope, from: Option<Role>, to: Role) -> Result<(), AppError> {
    actor.require(Action::ManageUsers)?;
    let touches_owner = to == Role::Owner || from == Some(Role::Owner);
    if touches_owner && actor.role() != Role::Owner {
        return Err(ErrorCode::Forbidden.into());
    }
    Ok(())
}

/// A client belongs to a company: they are invited from its portal page, never given the role
/// here without one (E2004 `role`).
fn refuse_client_without_company(role: Role, company: Option<crate::domain::ids::RecordId>) -> Result<(), AppError> {
    if role == Role::Client && company.is_none() {
        return Err(AppError::field(ErrorCode::InvalidFormat, "role")
            .with_hint("Clients are invited from their company's page (Client portal)."));
    }
    Ok(())
}

/// Fails if `target` is the last active owner and the change would remove them.
fn keep_an_owner(users: &[UserRecord], target: &UserRecord) -> Result<(), AppError> {
    let owners = users.iter().filter(|u| u.role == Role::Owner && !u.disabled).count();
    if target.role == Role::Owner && !target.disabled && owners <= 1 {
        return Err(AppError::field(ErrorCode::Forbidden, "role"));
    }
    Ok(())
}

impl Users<'_> {
    pub async fn list(&self, scope: &TenantScope) -> Result<Vec<UserView>, AppError> {
        scope.require(Action::ManageUsers)?;
        let mut users = self.store().workspace(scope).read(|txn| txn.users()).await?;
        users.sort_by_key(|u| u.name.to_lowercase());
        Ok(users.into_iter().map(UserView::from).collect())
    }

    /// Adds a user without a password and returns their invitation link (72 h).
    pub async fn invite(
        &self,
        scope: &TenantScope,
        email: &str,
        name: &str,
        role: Role,
        client: &ClientInfo,
    ) -> Result<IssuedLink, AppError> {
        check_role_change(scope, None, role)?;
        refuse_client_without_company(role, None)?;
        let email = EmailAddress::parse(email)?;
        let name = required_line(name, NAME_MAX, "name")?;
        let now = self.now();
        let user = UserRecord::new(*scope.workspace(), email, name, role, None, now);
        let event =
            AuditEvent::new("user.invited", Some(*scope.user())).target(user.id).fields(&["role"]).from_client(client);
        self.store()
            .workspace(scope)
            .write(move |txn| {
                txn.insert_user(&user)?;
                let link = super::auth::links_issue(txn, LinkPurpose::Invite, user.id, now)?;
                record(txn, now, event)?;
                Ok(link)
            })
            .await
    }

    /// Changes a user's role; their sessions are revoked so the new role applies at once.
    pub async fn change_role(
        &self,
        scope: &TenantScope,
        user: UserId,
        role: Role,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        scope.require(Action::ManageUsers)?;
        scope.require_recent_second_factor(self.now())?;
        self.update_user_as_admin(scope, user, client, "user.role_changed", move |actor, users, target| {
            check_role_change(actor, Some(target.role), role)?;
            refuse_client_without_company(role, target.company)?;
            if role != Role::Owner {
                keep_an_owner(users, target)?;
            }
            target.role = role;
            Ok(())
        })
        .await
    }

    /// Disables or re-enables a user; disabling revokes their sessions and API tokens.
    pub async fn set_disabled(
        &self,
        scope: &TenantScope,
        user: UserId,
        disabled: bool,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let event = if disabled { "user.disabled" } else { "user.enabled" };
        self.update_user_as_admin(scope, user, client, event, move |actor, users, target| {
            check_role_change(actor, Some(target.role), target.role)?;
            if disabled {
                keep_an_owner(users, target)?;
            }
            target.disabled = disabled;
            Ok(())
        })
        .await
    }

    /// Issues a password-reset link for a user of the admin's workspace.
    pub async fn issue_reset_link(
        &self,
        scope: &TenantScope,
        user: UserId,
        client: &ClientInfo,
    ) -> Result<IssuedLink, AppError> {
        scope.require(Action::ManageUsers)?;
        scope.require_recent_second_factor(self.now())?;
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                let target = txn.user(&user)?.filter(|u| !u.disabled).ok_or(ErrorCode::NotFound)?;
                // A reset link takes over the account: only owners may do it to owners.
                check_role_change(&scope, Some(target.role), target.role)?;
                let link = super::auth::links_issue(txn, LinkPurpose::Reset, target.id, now)?;
                let event = AuditEvent::new("auth.reset_link_issued", Some(*scope.user()))
                    .target(target.id)
                    .from_client(&client);
                record(txn, now, event)?;
                Ok(link)
            })
            .await
    }

    /// Loads a user of the admin's own workspace (a foreign id is "not found"), applies
    /// `change`, saves, revokes the user's sessions (and tokens when disabled) and audits.
    async fn update_user_as_admin(
        &self,
        scope: &TenantScope,
        user: UserId,
        client: &ClientInfo,
        event: &'static str,
        change: impl FnOnce(&TenantScope, &[UserRecord], &mut UserRecord) -> Result<(), AppError> + Send + 'static,
    ) -> Result<(), AppError> {
        scope.require(Action::ManageUsers)?;
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                let users = txn.users()?;
                let mut target = users.iter().find(|u| u.id == user).cloned().ok_or(ErrorCode::NotFound)?;
                change(&scope, &users, &mut target)?;
                txn.update_user(&target)?;
                txn.delete_sessions_of(&target.id)?;
                if target.disabled {
                    txn.delete_tokens_of(&target.id)?;
                }
                let entry = AuditEvent::new(event, Some(*scope.user()))
                    .target(target.id)
                    .fields(&["role", "disabled"])
                    .from_client(&client);
                record(txn, now, entry)
            })
            .await
    }

    /// `holdfast admin create-workspace`.
    pub async fn create_workspace(&self, name: &str) -> Result<WorkspaceId, AppError> {
        let name = required_line(name, NAME_MAX, "name")?;
        let now = self.now();
        let workspace = WorkspaceRecord { id: WorkspaceId::random(), name, created_at: now };
        self.store()
            .write(move |txn| {
                txn.insert_workspace(&workspace)?;
                let event = AuditEvent::new("workspace.created", None).target(workspace.id);
                record_server(txn, &workspace.id, now, event)?;
                Ok(workspace.id)
            })
            .await
    }

    /// `holdfast admin create-user`: a user with a password in a named workspace.
    pub async fn create(
        &self,
        workspace: &str,
        email: &str,
        name: &str,
        role: Role,
        company: Option<crate::domain::ids::RecordId>,
        password: &SecretString,
    ) -> Result<UserId, AppError> {
        let name = required_line(name, NAME_MAX, "name")?;
        let email = EmailAddress::parse(email)?;
        match (role, company) {
            (Role::Client, None) => return Err(AppError::field(ErrorCode::Required, "company")),
            (Role::Client, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(AppError::field(ErrorCode::InvalidFormat, "company")
                    .with_hint("--company is only for the client role."));
            }
        }
        if let Some(company) = company {
            // The company must be one of the workspace's own.
            let scope = super::auth::offline_scope(self, workspace).await?;
            let found =
                self.store().workspace(&scope).read_now(|txn| txn.load::<crate::domain::crm::Company>(&company))?;
            found.ok_or_else(|| AppError::field(ErrorCode::NotFound, "company"))?;
        }
        let workspace_name = workspace.to_owned();
        let workspace = self
            .store()
            .read(move |txn| txn.workspace_by_name(&workspace_name))
            .await?
            .ok_or_else(|| AppError::field(ErrorCode::NotFound, "workspace"))?;
        check_new_password(password, &self.security_policy(), &[email.as_str(), &name, &workspace.name])?;
        let hash = self.hasher().hash(password).await?;
        let now = self.now();
        let mut user = UserRecord::new(workspace.id, email, name, role, Some(hash), now);
        user.company = company;
        self.store()
            .write(move |txn| {
                txn.insert_user(&user)?;
                let event = AuditEvent::new("user.created", None).target(user.id).fields(&["role"]);
                record_server(txn, &user.workspace_id, now, event)?;
                Ok(user.id)
            })
            .await
    }
}
