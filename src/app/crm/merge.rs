//! Merging two contacts or two companies: the kept record takes over the other's emails,
//! phones, tags and any field it lacks; notes, tasks and deals move over; the other record is
//! deleted. One transaction, audited, on the kept record's timeline.

use super::records::Records;
use super::records::attached;
use super::{CrmRecord, ParsedFilter};
use crate::app::audit::{AuditEvent, record as audit};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::store::WorkspaceWrite;
use crate::app::store::crm::TimelineEntry;
use crate::domain::crm::{Company, Contact, Deal, Kind, Note, Subject, Task, TimelineEvent};
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};

/// A kind that can absorb a duplicate of itself.
pub(crate) trait Mergeable: CrmRecord {
    /// Takes over what `other` has and `self` lacks.
    fn absorb(&mut self, other: &Self);
    /// Points records that refer to `from` at `to` instead (contacts of a company, deals).
    fn repoint(txn: &WorkspaceWrite<'_>, from: RecordId, to: RecordId) -> Result<(), AppError>;
}

fn fill<T: Clone>(slot: &mut Option<T>, other: &Option<T>) {
    if slot.is_none() {
        slot.clone_from(other);
    }
}

fn union<T: Clone + PartialEq>(list: &mut Vec<T>, other: &[T]) {
    for item in other {
        if !list.contains(item) {
            list.push(item.clone());
        }
    }
}

/// Saves every record of kind `R` matching `filter` after `change`.
fn rewrite<R: CrmRecord>(
    txn: &WorkspaceWrite<'_>,
    filter: &ParsedFilter,
    change: impl Fn(&mut R),
) -> Result<(), AppError> {
    for before in attached::<R>(txn, filter)? {
        let mut after = before.clone();
        change(&mut after);
        txn.save(Some(&before), &after)?;
    }
    Ok(())
}

impl Mergeable for Contact {
    fn absorb(&mut self, other: &Contact) {
        union(&mut self.emails, &other.emails);
        self.emails.dedup_by(|a, b| a.address == b.address);
        union(&mut self.phones, &other.phones);
        union(&mut self.tags, &other.tags);
        fill(&mut self.title, &other.title);
        fill(&mut self.company_id, &other.company_id);
        fill(&mut self.date_of_birth, &other.date_of_birth);
        fill(&mut self.tax_id, &other.tax_id);
        fill(&mut self.bank_details, &other.bank_details);
        self.last_contacted = self.last_contacted.max(other.last_contacted);
        if self.background.is_empty() {
            self.background.clone_from(&other.background);
        }
    }

    fn repoint(txn: &WorkspaceWrite<'_>, from: RecordId, to: RecordId) -> Result<(), AppError> {
        let deals = ParsedFilter { contact: Some(from), ..Default::default() };
        rewrite::<Deal>(txn, &deals, |deal| {
            deal.contact_ids.retain(|c| *c != from);
            if !deal.contact_ids.contains(&to) {
                deal.contact_ids.push(to);
            }
        })
    }
}

impl Mergeable for Company {
    fn absorb(&mut self, other: &Company) {
        union(&mut self.tags, &other.tags);
        fill(&mut self.website, &other.website);
        fill(&mut self.phone, &other.phone);
        fill(&mut self.industry, &other.industry);
        fill(&mut self.size, &other.size);
        fill(&mut self.tax_id, &other.tax_id);
        fill(&mut self.bank_details, &other.bank_details);
        fill(&mut self.credit_limit, &other.credit_limit);
        if self.address == Default::default() {
            self.address.clone_from(&other.address);
        }
        if self.description.is_empty() {
            self.description.clone_from(&other.description);
        }
    }

    fn repoint(txn: &WorkspaceWrite<'_>, from: RecordId, to: RecordId) -> Result<(), AppError> {
        let filter = ParsedFilter { company: Some(from), ..Default::default() };
        rewrite::<Contact>(txn, &filter, |c| c.company_id = Some(to))?;
        rewrite::<Deal>(txn, &filter, |d| d.company_id = Some(to))
    }
}

impl Records<'_> {
    /// Merges `other` into `keep` (managers and up).
    pub(crate) async fn merge<T: Mergeable>(
        &self,
        scope: &TenantScope,
        keep: RecordId,
        other: RecordId,
        client: &ClientInfo,
    ) -> Result<T, AppError> {
        scope.require(Action::EditAllRecords)?;
        if keep == other {
            return Err(AppError::field(ErrorCode::InvalidFormat, "other_id"));
        }
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                let before = txn.load::<T>(&keep)?.ok_or(ErrorCode::NotFound)?;
                let gone = txn.load::<T>(&other)?.ok_or(AppError::field(ErrorCode::NotFound, "other_id"))?;
                // A file is sealed to the record it was attached to: it can't move with a merge,
                // and must not vanish with the merged record either.
                if !txn.files_of(T::KIND, &other)?.is_empty() {
                    return Err(AppError::field(ErrorCode::InvalidFormat, "other_id").with_hint(
                        "The other record has files attached. Download them and attach them here, then delete \
                         them there, before merging.",
                    ));
                }
                let mut kept = before.clone();
                kept.absorb(&gone);
                kept.stamp_mut().updated_at = now;
                txn.save(Some(&before), &kept)?;
                let moved = ParsedFilter { subject: Some(Subject { kind: T::KIND, id: other }), ..Default::default() };
                rewrite::<Note>(txn, &moved, |n| n.subject_id = keep)?;
                rewrite::<Task>(txn, &moved, |t| t.subject_id = Some(keep))?;
                T::repoint(txn, other, keep)?;
                txn.delete(&gone)?;
                let line = TimelineEntry {
                    at: now,
                    actor: Some(*scope.user()),
                    event: TimelineEvent::Merged,
                    fields: Vec::new(),
                    detail: Some(gone.title()),
                    link: None,
                };
                txn.append_timeline(T::KIND, &keep, &line)?;
                let event = AuditEvent::new("record.merged", Some(*scope.user()))
                    .target(format!("{}:{keep}", T::KIND.as_str()))
                    .fields(&[&format!("merged_from={}:{other}", Kind::as_str(T::KIND))])
                    .from_client(&client);
                audit(txn, now, event)?;
                Ok(kept)
            })
            .await
    }
}
