//! Recording audit events: one call, inside the write transaction of the change it records.

use super::auth::{ClientInfo, TenantScope};
use super::store::audit::GENESIS_HASH;
use super::store::rows::AuditRecord;
use super::store::{ServerWrite, WorkspaceWrite};
use crate::domain::ids::{UserId, WorkspaceId};
use crate::error::AppError;

/// The chain for server-wide events that belong to no workspace (offline settings changes).
pub const SERVER_CHAIN: WorkspaceId = WorkspaceId::SERVER;

/// Whether the audited attempt succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

/// One event to record. Never put secrets or encrypted field values in here: only ids,
/// event names and the *names* of changed fields.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub event: &'static str,
    pub actor: Option<UserId>,
    pub target: Option<String>,
    pub fields: Vec<String>,
    pub outcome: Outcome,
    pub client: Option<ClientInfo>,
}

impl AuditEvent {
    pub fn new(event: &'static str, actor: Option<UserId>) -> Self {
        Self { event, actor, target: None, fields: Vec::new(), outcome: Outcome::Success, client: None }
    }

    pub fn target(mut self, target: impl ToString) -> Self {
        self.target = Some(target.to_string());
        self
    }

    pub fn fields(mut self, fields: &[&str]) -> Self {
        self.fields = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    pub fn failed(mut self) -> Self {
        self.outcome = Outcome::Failure;
        self
    }

    pub fn from_client(mut self, client: &ClientInfo) -> Self {
        self.client = Some(client.clone());
        self
    }
}

/// Appends `event` to the chain of `txn`'s workspace.
pub(crate) fn record(txn: &WorkspaceWrite<'_>, at: i64, event: AuditEvent) -> Result<(), AppError> {
    txn.append_audit(entry(txn.workspace(), at, event))
}

/// Appends `event` to `workspace`'s chain from a server-wide transaction: sign-in events,
/// before any scope exists, and the server's own chain ([`SERVER_CHAIN`]).
pub(crate) fn record_server(
    txn: &ServerWrite<'_>,
    workspace: &WorkspaceId,
    at: i64,
    event: AuditEvent,
) -> Result<(), AppError> {
    txn.append_audit(workspace, entry(workspace, at, event))
}

fn entry(workspace: &WorkspaceId, at: i64, event: AuditEvent) -> AuditRecord {
    AuditRecord {
        seq: 0,
        at,
        workspace_id: *workspace,
        actor: event.actor,
        ip: event.client.as_ref().map(|c| c.ip.clone()),
        user_agent: event.client.as_ref().map(|c| c.user_agent.clone()),
        event: event.event.to_owned(),
        target: event.target,
        fields: event.fields,
        outcome: match event.outcome {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
        .to_owned(),
        prev_hash: GENESIS_HASH.to_owned(),
        hash: String::new(),
    }
}

pub use super::store::audit::{ChainProblem, ChainReport};

crate::app::service! {
    /// The audit log: verification, the viewer, security logs and alerts.
    Audit
}

impl Audit<'_> {
    /// Checks every workspace's audit chain (and the server's).
    pub async fn verify(&self) -> Result<ChainReport, AppError> {
        self.store().read(|txn| txn.verify_audit_chains()).await
    }
}

/// Records `event` in its own write transaction (for events that change nothing else, such as
/// a download).
pub async fn record_now(app: &super::App, scope: &TenantScope, event: AuditEvent) -> Result<(), AppError> {
    let now = app.now();
    app.store().workspace(scope).write(move |txn| record(txn, now, event)).await
}

/// One line of a user's security log (their account page).
#[derive(Debug, Clone)]
pub struct SecurityEvent {
    pub at: i64,
    pub event: String,
    pub ip: String,
    pub outcome: String,
}

impl From<AuditRecord> for SecurityEvent {
    fn from(entry: AuditRecord) -> Self {
        Self { at: entry.at, event: entry.event, ip: entry.ip.unwrap_or_default(), outcome: entry.outcome }
    }
}

/// How far back the account page looks, and how much it shows.
const SECURITY_LOG_SCAN: usize = 2000;
const SECURITY_LOG_SHOW: usize = 15;

impl Audit<'_> {
    /// Recent sign-in, MFA, password and token events by or about the signed-in user.
    pub async fn security_log(&self, scope: &super::auth::TenantScope) -> Result<Vec<SecurityEvent>, AppError> {
        let entries = self.store().workspace(scope).read(|txn| txn.recent_audit(SECURITY_LOG_SCAN)).await?;
        let me = scope.user().to_string();
        Ok(entries
            .into_iter()
            .filter(|e| e.actor.as_ref() == Some(scope.user()) || e.target.as_deref() == Some(me.as_str()))
            .filter(|e| ["auth.", "mfa.", "api_token."].iter().any(|p| e.event.starts_with(p)))
            .take(SECURITY_LOG_SHOW)
            .map(SecurityEvent::from)
            .collect())
    }
}

impl Audit<'_> {
    /// Recent alerts for the security page: this workspace's security events and lock-outs,
    /// and server-wide ones (rate-limit storms, offline settings changes, operational alerts),
    /// newest first.
    pub async fn security_alerts(&self, scope: &super::auth::TenantScope) -> Result<Vec<SecurityEvent>, AppError> {
        scope.require(super::auth::permissions::Action::ManageSettings)?;
        scope.require_server_operator()?;
        let mut entries = self.store().workspace(scope).read(|txn| txn.recent_audit(SECURITY_LOG_SCAN)).await?;
        entries.extend(self.store().read(|txn| txn.recent_server_audit(SECURITY_LOG_SCAN)).await?);
        entries.retain(|e| {
            e.event.starts_with("security.")
                || e.event.starts_with("ops.")
                || matches!(e.event.as_str(), "auth.locked" | "mfa.paused")
        });
        entries.sort_by_key(|e| std::cmp::Reverse(e.at));
        Ok(entries.into_iter().take(SECURITY_LOG_SHOW).map(SecurityEvent::from).collect())
    }
}
