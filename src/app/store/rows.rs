//! The records kept in the store, each with its envelope schema version.

use serde::{Deserialize, Serialize};

use super::codec::Versioned;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{UserId, WorkspaceId};
use crate::domain::role::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WorkspaceRecord {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: i64,
}

impl Versioned for WorkspaceRecord {
    const VERSION: u16 = 1;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UserRecord {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub email: EmailAddress,
    pub name: String,
    pub role: Role,
    /// PHC string; `None` until an invited user sets a password.
    pub password_hash: Option<String>,
    /// Earlier hashes, newest first, so recent passwords can't be reused.
    pub password_history: Vec<String>,
    pub disabled: bool,
    pub created_at: i64,
    /// The enrolled second factor, if any.
    #[serde(default)]
    pub mfa: Option<MfaRecord>,
    /// A TOTP secret (sealed, hex) shown for enrolment but not yet confirmed with a code.
    #[serde(default)]
    pub mfa_pending: Option<String>,
    /// Consecutive failed passwords; reset by a successful sign-in.
    #[serde(default)]
    pub failed_logins: u32,
    /// Hard lock after too many failures: only an admin unlock or a password reset lifts it.
    #[serde(default)]
    pub locked: bool,
    /// Addresses this user signed in from, with when (newest last; bounded).
    #[serde(default)]
    pub known_addresses: Vec<(String, i64)>,
    /// A client's company: the one portal they reach (`None` for members of the firm).
    #[serde(default)]
    pub company: Option<crate::domain::ids::RecordId>,
}

impl UserRecord {
    /// A new, active user without a second factor.
    pub fn new(
        workspace_id: WorkspaceId,
        email: EmailAddress,
        name: String,
        role: Role,
        password_hash: Option<String>,
        now: i64,
    ) -> Self {
        Self {
            id: UserId::random(),
            workspace_id,
            email,
            name,
            role,
            password_hash,
            password_history: Vec::new(),
            disabled: false,
            created_at: now,
            mfa: None,
            mfa_pending: None,
            failed_logins: 0,
            locked: false,
            known_addresses: Vec::new(),
            company: None,
        }
    }
}

/// An enrolled TOTP authenticator and its backup codes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MfaRecord {
    /// The 160-bit secret, sealed under the master key for this user (hex).
    pub secret_sealed: String,
    pub enabled_at: i64,
    /// The last accepted time step: a code is never accepted twice.
    pub last_step: u64,
    /// Keyed hashes of the unused backup codes.
    pub backup_codes: Vec<String>,
    /// Consecutive wrong codes, and until when attempts are paused.
    pub failures: u32,
    pub paused_until: i64,
}

impl Versioned for UserRecord {
    const VERSION: u16 = 1;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub created_at: i64,
    pub last_seen: i64,
    pub ip: String,
    pub user_agent: String,
    #[serde(default)]
    pub stage: SessionStage,
    /// When the second factor was last checked in this session (step-up).
    #[serde(default)]
    pub mfa_at: Option<i64>,
}

/// How far sign-in has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStage {
    /// Signed in.
    #[default]
    Full,
    /// Password accepted; the second factor is still due (reaches only `/login/mfa`).
    PendingMfa,
    /// Password accepted; the role requires MFA and none is enrolled yet (reaches only setup).
    MustEnroll,
}

impl Versioned for SessionRecord {
    const VERSION: u16 = 1;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ApiTokenRecord {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub label: String,
    /// The first characters of the token, so people can tell tokens apart.
    pub hint: String,
    pub created_at: i64,
    pub last_used: Option<i64>,
}

impl Versioned for ApiTokenRecord {
    const VERSION: u16 = 1;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LinkKind {
    Reset,
    Invite,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LinkRecord {
    pub kind: LinkKind,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub expires_at: i64,
}

impl Versioned for LinkRecord {
    const VERSION: u16 = 1;
}

/// One audit-log entry. `hash` covers every other field, including `prev_hash`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AuditRecord {
    pub seq: u64,
    pub at: i64,
    pub workspace_id: WorkspaceId,
    pub actor: Option<UserId>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub event: String,
    pub target: Option<String>,
    pub fields: Vec<String>,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Versioned for AuditRecord {
    const VERSION: u16 = 1;
}
