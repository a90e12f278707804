//! `TenantScope`: proof that a request was authenticated, and for which workspace and user.

use crate::domain::ids::{RecordId, UserId, WorkspaceId};
use crate::domain::role::Role;

/// The state of the second factor for step-up checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// The user has no second factor (their role doesn't require one).
    NotEnrolled,
    /// Checked at this Unix time in this session.
    CheckedAt(i64),
    /// Enrolled but not checked in this session (e.g. an API token).
    NotChecked,
}

/// How long a second-factor check counts for sensitive actions.
pub const STEP_UP_SECONDS: i64 = 10 * 60;

/// Constructed only inside `app::auth`, after a session or API token is verified. No
/// `Deserialize`, no `Default`, no public fields: it can't be forged from request data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    workspace: WorkspaceId,
    user: UserId,
    role: Role,
    second_factor: SecondFactor,
    /// An owner or admin of the home workspace (the first one): only they may change what is
    /// shared by every workspace on the server (policies, email, alerts, backups).
    server_operator: bool,
}

impl TenantScope {
    pub(in crate::app::auth) fn new(
        workspace: WorkspaceId,
        user: UserId,
        role: Role,
        second_factor: SecondFactor,
        home: Option<WorkspaceId>,
    ) -> Self {
        let server_operator = home == Some(workspace) && matches!(role, Role::Owner | Role::Admin);
        Self { workspace, user, role, second_factor, server_operator }
    }

    pub fn is_server_operator(&self) -> bool {
        self.server_operator
    }

    /// Server-wide settings: an owner or admin of the home workspace (E1005 otherwise).
    pub fn require_server_operator(&self) -> Result<(), crate::error::AppError> {
        if self.server_operator { Ok(()) } else { Err(crate::error::AppError::new(crate::error::ErrorCode::Forbidden)) }
    }

    /// Sensitive actions need a second-factor check within the last 10 minutes (E1008).
    /// A user without a second factor (their role doesn't require one) has nothing to confirm.
    pub fn require_recent_second_factor(&self, now: i64) -> Result<(), crate::error::AppError> {
        match self.second_factor {
            SecondFactor::NotEnrolled => Ok(()),
            SecondFactor::CheckedAt(at) if now - at <= STEP_UP_SECONDS => Ok(()),
            SecondFactor::CheckedAt(_) | SecondFactor::NotChecked => {
                Err(crate::error::AppError::new(crate::error::ErrorCode::StepUpRequired))
            }
        }
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

/// Proof that a client — someone a firm invited to its portal — was authenticated, and which
/// company of which workspace they belong to: what they reach is confined to that company.
/// Like [`TenantScope`], constructed only inside `app::auth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientScope {
    workspace: WorkspaceId,
    user: UserId,
    company: RecordId,
}

impl ClientScope {
    pub(in crate::app::auth) fn new(workspace: WorkspaceId, user: UserId, company: RecordId) -> Self {
        Self { workspace, user, company }
    }

    pub fn workspace(&self) -> &WorkspaceId {
        &self.workspace
    }

    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The one company whose records this client may see.
    pub fn company(&self) -> &RecordId {
        &self.company
    }
}
