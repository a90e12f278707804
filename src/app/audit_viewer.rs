//! The audit viewer: filtered entries of the admin's workspace, a CSV export (step-up, export
//! budget, audited, formula-safe) and a chain check.

use super::audit::Audit;
use super::audit::{AuditEvent, record_now};
use super::auth::permissions::Action;
use super::auth::{ClientInfo, TenantScope};
use super::rate_limit::Budget;
use super::store::rows::AuditRecord;
use crate::domain::spreadsheet::neutralise_formula;
use crate::error::{AppError, ErrorCode};

/// Entries shown or exported at most.
pub const MAX_ENTRIES: usize = 5_000;

/// What to show. Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Part of the actor's email or name.
    pub actor: String,
    /// Start of the event name, e.g. `auth.` or `user.role_changed`.
    pub event: String,
    /// Part of the target (an id, an address, a file name).
    pub target: String,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// One entry as the viewer shows it.
#[derive(Debug, Clone)]
pub struct AuditView {
    pub seq: u64,
    pub at: i64,
    pub actor: String,
    pub event: String,
    pub target: String,
    pub fields: String,
    pub ip: String,
    pub outcome: String,
}

impl Audit<'_> {
    /// Newest first, at most `limit`.
    pub async fn entries(
        &self,
        scope: &TenantScope,
        filter: &AuditFilter,
        limit: usize,
    ) -> Result<Vec<AuditView>, AppError> {
        scope.require(Action::ManageSettings)?;
        let (filter, limit) = (filter.clone(), limit.min(MAX_ENTRIES));
        self.store()
            .workspace(scope)
            .read(move |txn| {
                let users = txn.users()?;
                let name_of = |id: &Option<crate::domain::ids::UserId>| match id {
                    Some(id) => users
                        .iter()
                        .find(|u| u.id == *id)
                        .map_or_else(|| id.to_string(), |u| format!("{} <{}>", u.name, u.email)),
                    None => "system".to_owned(),
                };
                let wanted = |e: &AuditRecord, actor: &str| {
                    actor.to_lowercase().contains(&filter.actor.to_lowercase())
                        && e.event.starts_with(filter.event.trim())
                        && e.target.as_deref().unwrap_or("").contains(filter.target.trim())
                        && filter.from.is_none_or(|from| e.at >= from)
                        && filter.to.is_none_or(|to| e.at <= to)
                };
                let mut out = Vec::new();
                txn.visit_audit(|entry| {
                    let actor = name_of(&entry.actor);
                    if wanted(&entry, &actor) {
                        out.push(AuditView {
                            seq: entry.seq,
                            at: entry.at,
                            actor,
                            event: entry.event,
                            target: entry.target.unwrap_or_default(),
                            fields: entry.fields.join(", "),
                            ip: entry.ip.unwrap_or_default(),
                            outcome: entry.outcome,
                        });
                    }
                    out.len() < limit
                })?;
                Ok(out)
            })
            .await
    }

    /// The filtered entries as CSV (RFC 4180, formula triggers neutralised); needs a fresh
    /// second factor and an export from the hourly budget, and is itself audited.
    pub async fn export_csv(
        &self,
        scope: &TenantScope,
        filter: &AuditFilter,
        client: &ClientInfo,
    ) -> Result<String, AppError> {
        scope.require(Action::ManageSettings)?;
        scope.require_recent_second_factor(self.now())?;
        self.limiters().take(Budget::Export, *scope.user())?;
        let entries = self.entries(scope, filter, MAX_ENTRIES).await?;
        let mut writer = csv::Writer::from_writer(Vec::new());
        let failed = |e: csv::Error| AppError::internal(ErrorCode::Internal, e);
        writer
            .write_record(["seq", "time", "actor", "event", "target", "fields", "address", "outcome"])
            .map_err(failed)?;
        for e in &entries {
            let time = crate::domain::timestamps::format_utc(e.at);
            let cells = [
                e.seq.to_string(),
                time,
                e.actor.clone(),
                e.event.clone(),
                e.target.clone(),
                e.fields.clone(),
                e.ip.clone(),
                e.outcome.clone(),
            ];
            writer.write_record(cells.iter().map(|c| neutralise_formula(c))).map_err(failed)?;
        }
        let bytes = writer.into_inner().map_err(|e| AppError::internal(ErrorCode::Internal, e.to_string()))?;
        let event = AuditEvent::new("audit.exported", Some(*scope.user()))
            .target(format!("{} entries", entries.len()))
            .from_client(client);
        record_now(self, scope, event).await?;
        String::from_utf8(bytes).map_err(|e| AppError::internal(ErrorCode::Internal, e))
    }
}
