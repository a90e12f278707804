//! Bulk actions on a selection of records (tag, assign, delete) and the duplicate check on
//! create. Each bulk action is one transaction through the same update and delete paths as a
//! single change, so indexes, timelines, tallies, search and audit stay in step.

use super::records::Records;
use super::records::{delete_checked_in, update_in};
use super::{BulkAction, CrmRecord};
use crate::app::audit::{AuditEvent, record as audit};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::files::DeletedFiles;
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};

/// The most records one bulk action may touch.
pub const MAX_SELECTION: usize = 500;

/// `tags` plus `tag`, unless it is there already.
pub(crate) fn with_tag(tags: &[String], tag: &str) -> Vec<String> {
    let mut next = tags.to_vec();
    if !next.iter().any(|t| t == tag) {
        next.push(tag.to_owned());
    }
    next
}

impl Records<'_> {
    /// Applies `action` to every selected record (managers and up; delete needs a fresh second
    /// factor). All or nothing: one refused record refuses the whole action.
    pub(crate) async fn bulk<T: CrmRecord>(
        &self,
        scope: &TenantScope,
        ids: Vec<RecordId>,
        action: BulkAction,
        client: &ClientInfo,
    ) -> Result<usize, AppError> {
        scope.require(Action::ImportExport)?;
        if ids.is_empty() {
            return Err(AppError::field(ErrorCode::Required, "ids"));
        }
        if ids.len() > MAX_SELECTION {
            return Err(AppError::field(ErrorCode::TooLong, "ids"));
        }
        let now = self.now();
        if action == BulkAction::Delete {
            scope.require_recent_second_factor(now)?;
        }
        if let BulkAction::AddTag(tag) = &action {
            crate::domain::fields::tag(tag, "tag")?;
        }
        let (scope, client) = (scope.clone(), client.clone());
        let (count, files) = self
            .store()
            .workspace(&scope)
            .write(move |txn| {
                let mut files = DeletedFiles::default();
                for id in &ids {
                    if action == BulkAction::Delete {
                        files.extend(delete_checked_in::<T>(txn, &scope, *id, now, &client)?);
                        continue;
                    }
                    let record = txn.load::<T>(id)?.ok_or(ErrorCode::NotFound)?;
                    let input =
                        record.bulk_input(&action).ok_or(AppError::field(ErrorCode::InvalidFormat, "action"))?;
                    update_in::<T>(txn, &scope, *id, input, now, &client)?;
                }
                let name = match action {
                    BulkAction::AddTag(_) => "tag",
                    BulkAction::Assign(_) => "assign",
                    BulkAction::Delete => "delete",
                };
                let event = AuditEvent::new("records.bulk", Some(*scope.user()))
                    .target(format!("{}:{}", T::KIND.plural(), ids.len()))
                    .fields(&[name])
                    .from_client(&client);
                audit(txn, now, event)?;
                Ok((ids.len(), files))
            })
            .await?;
        files.remove(self).await;
        Ok(count)
    }

    /// Records that look like the one `input` would create (same email, same company name).
    pub(crate) async fn possible_duplicates<T: CrmRecord>(
        &self,
        scope: &TenantScope,
        input: &T::Input,
    ) -> Result<Vec<(RecordId, String)>, AppError> {
        scope.require(Action::ReadRecords)?;
        let probes = T::duplicate_probes(input);
        if probes.is_empty() {
            return Ok(Vec::new());
        }
        // Ten records at most: read in place.
        self.store().workspace(scope).read_now(|txn| {
            let (index, records) = (txn.index()?, txn.records()?);
            let mut found: Vec<(RecordId, String)> = Vec::new();
            for (index_id, term) in probes {
                index.scan(T::KIND, index_id, &term, None, false, |row| {
                    if !found.iter().any(|(id, _)| *id == row.id)
                        && let Some(title) = super::titles::stored_title::<T>(&records, &row.id)?
                    {
                        found.push((row.id, title));
                    }
                    Ok(found.len() < 10)
                })?;
            }
            Ok(found)
        })
    }
}
