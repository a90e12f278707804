//! Privacy requests about one contact: export everything held about it as JSON, and erase it
//! (record, notes, tasks, timeline, index entries, deal links, import snapshots and idempotent
//! answers that hold it). Managers and up, with a fresh second factor; each request is audited,
//! and an erasure leaves a receipt naming only the record id.

use serde_json::{Value, json};

use super::records::{attached, delete_in};
use super::{CrmRecord, ParsedFilter};
use crate::app::audit::{AuditEvent, record as audit};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::store::WorkspaceWrite;
use crate::app::store::crm::TimelineEntry;
use crate::domain::crm::{Contact, Deal, Kind, Note, Subject, Task};
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// Privacy requests about one contact: export all held about it, erase it.
    Privacy
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, AppError> {
    serde_json::to_value(value).map_err(|_| AppError::internal(ErrorCode::Internal, "not serialisable"))
}

fn require(scope: &TenantScope, action: Action, now: i64) -> Result<(), AppError> {
    scope.require(action)?;
    scope.require(Action::EditAllRecords)?;
    scope.require_recent_second_factor(now)
}

fn event(name: &'static str, scope: &TenantScope, id: &RecordId, client: &ClientInfo) -> AuditEvent {
    AuditEvent::new(name, Some(*scope.user())).target(format!("contact:{id}")).from_client(client)
}

/// A contact with its notes, tasks and the deals it is on.
struct Held {
    contact: Contact,
    notes: Vec<Note>,
    tasks: Vec<Task>,
    deals: Vec<Deal>,
}

/// Everything held about a contact (but its timeline).
fn gather(txn: &WorkspaceWrite<'_>, id: RecordId) -> Result<Held, AppError> {
    let contact = txn.load::<Contact>(&id)?.ok_or(ErrorCode::NotFound)?;
    let on_contact = ParsedFilter { subject: Some(Subject { kind: Kind::Contact, id }), ..Default::default() };
    let notes = attached::<Note>(txn, &on_contact)?;
    let tasks = attached::<Task>(txn, &on_contact)?;
    let deals = attached::<Deal>(txn, &ParsedFilter { contact: Some(id), ..Default::default() })?;
    Ok(Held { contact, notes, tasks, deals })
}

impl Privacy<'_> {
    /// Everything held about a contact, as one JSON document. Audited `privacy.exported`.
    pub async fn export(&self, scope: &TenantScope, id: RecordId, client: &ClientInfo) -> Result<Value, AppError> {
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        require(&scope, Action::ImportExport, now)?;
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                let Held { contact, notes, tasks, deals } = gather(txn, id)?;
                let timeline: Vec<TimelineEntry> = txn.timeline(Kind::Contact, &id, 10_000)?;
                // Files are listed (name, type, size, when); their contents are downloaded apart.
                let mut files = txn.files_of(Kind::Contact, &id)?;
                for note in &notes {
                    files.extend(txn.files_of(Kind::Note, &note.id)?);
                }
                let files: Vec<Value> = files
                    .iter()
                    .map(|f| json!({"id": f.id.to_string(), "name": f.name, "content_type": f.content_type, "size": f.size, "created_at": f.created_at}))
                    .collect();
                let document = json!({
                    "format": "holdfast-privacy-export/1",
                    "generated_at": now,
                    "contact": to_value(&contact)?,
                    "notes": to_value(&notes)?,
                    "tasks": to_value(&tasks)?,
                    "deals": to_value(&deals)?,
                    "timeline": to_value(&timeline)?,
                    "files": files,
                });
                audit(txn, now, event("privacy.exported", &scope, &id, &client))?;
                Ok(document)
            })
            .await
    }

    /// Erases a contact and everything attached to it in one transaction; the audit log keeps
    /// a `privacy.erased` receipt with the record id only.
    pub async fn erase(&self, scope: &TenantScope, id: RecordId, client: &ClientInfo) -> Result<(), AppError> {
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        require(&scope, Action::EditAllRecords, now)?;
        let files = self
            .store()
            .workspace(&scope)
            .write(move |txn| {
                let Held { contact, notes, tasks, deals } = gather(txn, id)?;
                for before in deals {
                    let mut after = before.clone();
                    after.contact_ids.retain(|c| *c != id);
                    after.stamp_mut().updated_at = now;
                    txn.save(Some(&before), &after)?;
                }
                let mut gone: Vec<String> = vec![id.to_string()];
                gone.extend(notes.iter().map(|n| n.id.to_string()));
                gone.extend(tasks.iter().map(|t| t.id.to_string()));
                let files = delete_in(txn, &contact)?;
                forget_snapshots(txn, &gone)?;
                let receipt = event("privacy.erased", &scope, &id, &client).fields(&[
                    "record",
                    "notes",
                    "tasks",
                    "timeline",
                    "index",
                    "deal_links",
                    "snapshots",
                    "files",
                ]);
                audit(txn, now, receipt)?;
                Ok(files)
            })
            .await?;
        files.remove(self).await;
        Ok(())
    }
}

/// Drops import snapshots and idempotent answers of this workspace that hold an erased record
/// (ids are hex, so a plain substring test of the opened text finds them).
fn forget_snapshots(txn: &WorkspaceWrite<'_>, ids: &[String]) -> Result<(), AppError> {
    let holds = |text: &str| ids.iter().any(|id| text.contains(id.as_str()));
    txn.forget_import_items(|item| holds(&item.id.to_string()) || item.before.as_deref().is_some_and(holds))?;
    txn.forget_answers_holding(holds)
}
