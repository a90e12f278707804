//! Recording audit events: one call, inside the write transaction of the change it records.

use redb::WriteTransaction;

use super::auth::ClientInfo;
use super::error::AppError;
use super::store::audit::{GENESIS_HASH, append};
use super::store::records::AuditRecord;
use crate::domain::ids::{UserId, WorkspaceId};

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

/// Appends `event` to `workspace`'s chain inside `txn`.
pub(crate) fn record(
    txn: &WriteTransaction,
    workspace: &WorkspaceId,
    at: i64,
    event: AuditEvent,
) -> Result<(), AppError> {
    let entry = AuditRecord {
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
    };
    append(txn, workspace, entry)
}
