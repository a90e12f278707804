//! Committed imports: their summaries, the error report of rejected rows, and revert — delete
//! what the import created and restore what it changed, skipping records changed since.

use super::export::write_csv;
use super::import::Imports;
use super::import::{BATCH_ROWS, ImportRecord, Rejection, RevertSummary, version_hash};
use super::index_terms::{self, Term};
use super::records::{attached, check_references, delete_in, record_activity};
use super::{CrmRecord, ParsedFilter, WriteContext};
use crate::app::audit::{AuditEvent, record as audit};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::files::DeletedFiles;
use crate::app::store::WorkspaceWrite;
use crate::app::store::imports::ImportItem;
use crate::domain::crm::{Changes, Company, Contact, Kind, Note, Subject, Task};
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};

/// The error report: one line per rejected row.
pub fn error_report(rejected: &[Rejection]) -> Result<String, AppError> {
    write_csv(
        &["row", "field", "code", "message"],
        rejected.iter().map(|r| vec![r.row.to_string(), r.field.clone(), r.code.clone(), r.message().to_owned()]),
    )
}

impl Imports<'_> {
    /// One import of this workspace (E3002 for unknown and foreign ids).
    pub async fn summary(&self, scope: &TenantScope, id: RecordId) -> Result<ImportRecord, AppError> {
        scope.require(Action::ImportExport)?;
        self.store().workspace(scope).read(move |txn| txn.import(&id)).await?.ok_or_else(|| ErrorCode::NotFound.into())
    }

    /// This workspace's latest imports of `kind`.
    pub async fn recent(&self, scope: &TenantScope, kind: Kind) -> Result<Vec<ImportRecord>, AppError> {
        scope.require(Action::ImportExport)?;
        let mut found = self.store().workspace(scope).read(|txn| txn.recent_imports(200)).await?;
        found.retain(|i| i.kind == kind);
        found.truncate(20);
        Ok(found)
    }

    /// The import committed from `upload`, once the upload itself is gone.
    pub async fn of_upload(&self, scope: &TenantScope, upload: RecordId) -> Result<RecordId, AppError> {
        scope.require(Action::ImportExport)?;
        let found = self.store().workspace(scope).read(|txn| txn.recent_imports(200)).await?;
        found.into_iter().find(|i| i.upload == Some(upload)).map(|i| i.id).ok_or_else(|| ErrorCode::NotFound.into())
    }

    /// Undoes an import (once): needs a fresh second factor; audited `import.reverted`.
    pub async fn revert(
        &self,
        scope: &TenantScope,
        id: RecordId,
        client: &ClientInfo,
    ) -> Result<RevertSummary, AppError> {
        let import = self.summary(scope, id).await?;
        scope.require_recent_second_factor(self.now())?;
        if import.reverted.is_some() {
            return Err(AppError::field(ErrorCode::Duplicate, "import"));
        }
        let now = self.now();
        let mut summary = RevertSummary { at: now, by: Some(*scope.user()), ..Default::default() };
        // Companies the import created are removed last: their contacts go first.
        let mut created_companies: Vec<ImportItem> = Vec::new();
        let mut from = 0u32;
        loop {
            let (scope, client, mut import) = (scope.clone(), client.clone(), import.clone());
            let (next, done, files);
            (summary, created_companies, next, done, files) = self
                .store()
                .workspace(&scope)
                .write(move |txn| {
                    let items = txn.import_items(&id, from, BATCH_ROWS)?;
                    let ctx = WriteContext { now, by: *scope.user(), pipeline: &[] };
                    // Files attached since the import go with their records, once this commits.
                    let mut files = DeletedFiles::default();
                    for item in &items {
                        match item.kind {
                            Kind::Contact => revert_item::<Contact>(txn, item, &ctx, &mut summary, &mut files)?,
                            Kind::Company if item.before.is_none() => created_companies.push(item.clone()),
                            Kind::Company => revert_item::<Company>(txn, item, &ctx, &mut summary, &mut files)?,
                            Kind::Deal | Kind::Note | Kind::Task => summary.skipped.push(item.row),
                        }
                    }
                    let done = items.len() < BATCH_ROWS;
                    if done {
                        for item in &created_companies {
                            if company_in_use(txn, &item.id)? {
                                summary.skipped.push(item.row);
                            } else {
                                revert_item::<Company>(txn, item, &ctx, &mut summary, &mut files)?;
                            }
                        }
                        import.reverted = Some(summary.clone());
                        txn.save_import(&import)?;
                        let fields = [
                            format!("deleted={}", summary.deleted),
                            format!("restored={}", summary.restored),
                            format!("skipped={}", summary.skipped.len()),
                        ];
                        let event = AuditEvent::new("import.reverted", Some(*scope.user()))
                            .target(format!("import:{id}"))
                            .fields(&fields.iter().map(String::as_str).collect::<Vec<_>>())
                            .from_client(&client);
                        audit(txn, now, event)?;
                    }
                    let next = from + u32::try_from(items.len()).unwrap_or(u32::MAX);
                    Ok((summary, created_companies, next, done, files))
                })
                .await?;
            files.remove(self).await;
            if done {
                return Ok(summary);
            }
            from = next;
        }
    }
}

/// Whether anything still refers to company `id`: a contact or deal of it, or a note or task
/// attached to it (added after the import, or a row whose revert was skipped). Such a company
/// stays: deleting it would take others' work along or leave dangling references.
fn company_in_use(txn: &WorkspaceWrite<'_>, id: &RecordId) -> Result<bool, AppError> {
    let index = txn.index()?;
    for kind in [Kind::Contact, Kind::Deal] {
        if index.count(kind, index_terms::COMPANY, &Term::new().record(id).done(), 1)? > 0 {
            return Ok(true);
        }
    }
    drop(index);
    let filter = ParsedFilter { subject: Some(Subject { kind: Kind::Company, id: *id }), ..Default::default() };
    Ok(!attached::<Note>(txn, &filter)?.is_empty() || !attached::<Task>(txn, &filter)?.is_empty())
}

/// Deletes a created record or restores a changed one, unless it changed since the import;
/// a deleted record's files join `files`.
fn revert_item<T: CrmRecord>(
    txn: &WorkspaceWrite<'_>,
    item: &ImportItem,
    ctx: &WriteContext<'_>,
    summary: &mut RevertSummary,
    files: &mut DeletedFiles,
) -> Result<(), AppError> {
    let Some(current) = txn.load::<T>(&item.id)? else {
        if item.before.is_some() {
            summary.skipped.push(item.row);
        }
        return Ok(());
    };
    if version_hash(&current)? != item.after_hash {
        summary.skipped.push(item.row);
        return Ok(());
    }
    let Some(json) = &item.before else {
        files.extend(delete_in(txn, &current)?);
        summary.deleted += 1;
        return Ok(());
    };
    let mut before: T = serde_json::from_str(json).map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
    before.stamp_mut().updated_at = ctx.now;
    if check_references(txn, &before).is_err() {
        summary.skipped.push(item.row);
        return Ok(());
    }
    txn.save(Some(&current), &before)?;
    record_activity(txn, Some(&current), &before, &Changes::default(), ctx)?;
    summary.restored += 1;
    Ok(())
}
