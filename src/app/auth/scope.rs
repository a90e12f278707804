//! `TenantScope`: proof that a request was authenticated, and for which workspace and user.

use crate::domain::ids::{UserId, WorkspaceId};
use crate::domain::role::Role;

/// Constructed only inside `app::auth`, after a session or API token is verified. No
/// `Deserialize`, no `Default`, no public fields: it can't be forged from request data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    workspace: WorkspaceId,
    user: UserId,
    role: Role,
}

impl TenantScope {
    pub(in crate::app::auth) fn new(workspace: WorkspaceId, user: UserId, role: Role) -> Self {
        Self { workspace, user, role }
    }

    pub fn workspace(&self) -> &WorkspaceId {
        &self.workspace
    }

    pub fn user(&self) -> &UserId {
        &self.user
    }

    pub fn role(&self) -> Role {
        self.role
    }
}
