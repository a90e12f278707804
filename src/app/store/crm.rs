//! CRM records, their secondary indexes, timelines, the search outbox, idempotent answers and
//! per-workspace CRM settings. Every function takes the workspace id from a verified scope and
//! every key starts with it; the caller's write transaction makes record, indexes, timeline,
//! outbox row and audit entry one atomic change.

use std::ops::Bound;

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::access::{get, put};
use super::codec::{self, Versioned};
use super::keys::{prefix_end, tenant_key};
use super::tables::{CRM_SETTINGS, RECORD_INDEX, RECORDS, SEARCH_OUTBOX, TALLIES, TIMELINE};
use super::{sealed, storage};
use crate::domain::crm::Kind;
use crate::domain::fields::{Currency, Money};
use crate::domain::ids::{RecordId, UserId, WorkspaceId};
use crate::error::{AppError, ErrorCode};

/// A tally name and the amount one record adds to it (if any).
pub(crate) type TallyShare = (Vec<u8>, Option<(Currency, Money)>);

/// A stored CRM record: its kind, id and the index keys it is listed under.
pub(crate) trait Entity: Versioned + Clone + Send + Sync + 'static {
    const KIND: Kind;
    fn id(&self) -> RecordId;
    /// `(index, term)` pairs; the store appends the record id to each.
    fn index_terms(&self) -> Vec<(u8, Vec<u8>)>;
    /// The tallies this record counts towards, with the amount it adds (if any).
    fn tallies(&self) -> Vec<TallyShare> {
        Vec::new()
    }
    /// Top-level JSON fields stored encrypted (see [`super::sealed`]). They are never index
    /// terms: exact lookups of them go through the keyed blind index of the search index.
    const SEALED: &'static [&'static str] = &[];
}

fn record_key(workspace: &WorkspaceId, kind: Kind, id: &RecordId) -> Vec<u8> {
    tenant_key(workspace, &[&[kind.byte()], id.as_bytes()])
}

/// `workspace ‖ kind ‖ index`: where one index of one kind begins.
pub(crate) fn index_prefix(workspace: &WorkspaceId, kind: Kind, index: u8) -> Vec<u8> {
    tenant_key(workspace, &[&[kind.byte(), index]])
}

fn index_keys<T: Entity>(workspace: &WorkspaceId, record: &T) -> Vec<Vec<u8>> {
    let id = record.id();
    record
        .index_terms()
        .into_iter()
        .map(|(index, term)| {
            let mut key = index_prefix(workspace, T::KIND, index);
            key.extend_from_slice(&term);
            key.extend_from_slice(id.as_bytes());
            key
        })
        .collect()
}

/// Reads one record of this workspace (in a read or write transaction's table).
pub(crate) fn load<T: Entity>(
    records: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    id: &RecordId,
) -> Result<Option<T>, AppError> {
    load_opening(records, workspace, id, T::SEALED)
}

/// Reads one record opening only the sealed fields in `open`, the others left at their
/// defaults: a view for a page that does not show them, never to be saved.
pub(crate) fn load_opening<T: Entity>(
    records: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    id: &RecordId,
    open: &[&'static str],
) -> Result<Option<T>, AppError> {
    match records.get(record_key(workspace, T::KIND, id).as_slice()).map_err(storage)? {
        Some(value) => sealed::decode_opening(workspace, id, value.value(), open).map(Some),
        None => Ok(None),
    }
}

/// Reads only the fields `F` of one stored record of this workspace, straight from its JSON:
/// nothing else is decoded and nothing sealed is opened (`F` must name no sealed field).
pub(crate) fn load_fields<T: Entity, F: serde::de::DeserializeOwned>(
    records: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    id: &RecordId,
) -> Result<Option<F>, AppError> {
    let Some(value) = records.get(record_key(workspace, T::KIND, id).as_slice()).map_err(storage)? else {
        return Ok(None);
    };
    let corrupt = |why: &str| AppError::internal(ErrorCode::StorageUnavailable, format!("corrupt record: {why}"));
    // Sealed members are base64 text in either format: the fields read here are never sealed.
    let json = codec::envelope_json::<T>(value.value(), &[codec::FORMAT_V1, sealed::FORMAT_SEALED]).map_err(corrupt)?;
    serde_json::from_slice(json).map(Some).map_err(|_| corrupt("fields missing"))
}

/// Writes the record value only (no index, tally or outbox change): key rotation re-seals.
pub(crate) fn rewrite<T: Entity>(
    records: &mut redb::Table<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    record: &T,
) -> Result<(), AppError> {
    let bytes = sealed::encode(workspace, record)?;
    records.insert(record_key(workspace, T::KIND, &record.id()).as_slice(), bytes.as_slice()).map_err(storage)?;
    Ok(())
}

/// Writes `record`, replacing `previous` (its index keys are removed first).
pub(crate) fn save<T: Entity>(
    txn: &WriteTransaction,
    workspace: &WorkspaceId,
    previous: Option<&T>,
    record: &T,
) -> Result<(), AppError> {
    let mut index = txn.open_table(RECORD_INDEX).map_err(storage)?;
    let new_keys = index_keys(workspace, record);
    if let Some(old) = previous {
        for key in index_keys(workspace, old).iter().filter(|k| !new_keys.contains(k)) {
            index.remove(key.as_slice()).map_err(storage)?;
        }
    }
    for key in &new_keys {
        index.insert(key.as_slice(), ()).map_err(storage)?;
    }
    drop(index);
    rewrite(&mut txn.open_table(RECORDS).map_err(storage)?, workspace, record)?;
    if let Some(old) = previous {
        count_in(txn, workspace, T::KIND, old.tallies(), -1)?;
    }
    count_in(txn, workspace, T::KIND, record.tallies(), 1)?;
    push_outbox(txn, workspace, T::KIND, &record.id())
}

/// Deletes `record`, its index keys and its timeline.
pub(crate) fn delete<T: Entity>(txn: &WriteTransaction, workspace: &WorkspaceId, record: &T) -> Result<(), AppError> {
    let mut index = txn.open_table(RECORD_INDEX).map_err(storage)?;
    for key in index_keys(workspace, record) {
        index.remove(key.as_slice()).map_err(storage)?;
    }
    drop(index);
    let id = record.id();
    txn.open_table(RECORDS)
        .map_err(storage)?
        .remove(record_key(workspace, T::KIND, &id).as_slice())
        .map_err(storage)?;
    count_in(txn, workspace, T::KIND, record.tallies(), -1)?;
    let prefix = record_key(workspace, T::KIND, &id);
    let mut timeline = txn.open_table(TIMELINE).map_err(storage)?;
    timeline.retain_in(prefix.as_slice()..prefix_end(&prefix).as_slice(), |_, _| false).map_err(storage)?;
    drop(timeline);
    push_outbox(txn, workspace, T::KIND, &id)
}

/// A running count and exact sums per currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tally {
    pub count: i64,
    pub sums: Vec<(Currency, Money)>,
}

impl Versioned for Tally {
    const VERSION: u16 = 1;
}

/// Adds (`sign` 1) or removes (`sign` -1) one record's contribution to its tallies.
fn count_in(
    txn: &WriteTransaction,
    workspace: &WorkspaceId,
    kind: Kind,
    tallies: Vec<TallyShare>,
    sign: i64,
) -> Result<(), AppError> {
    if tallies.is_empty() {
        return Ok(());
    }
    let mut table = txn.open_table(TALLIES).map_err(storage)?;
    for (name, amount) in tallies {
        let key = tenant_key(workspace, &[&[kind.byte()], &name]);
        let mut tally: Tally = get(&table, &key)?.unwrap_or_default();
        tally.count += sign;
        if let Some((currency, money)) = amount {
            let signed = if sign < 0 { money.negated() } else { money };
            match tally.sums.iter_mut().find(|(c, _)| *c == currency) {
                Some((_, total)) => *total = total.plus(signed),
                None => tally.sums.push((currency, signed)),
            }
            tally.sums.retain(|(_, m)| *m != Money::zero());
        }
        if tally.count == 0 && tally.sums.is_empty() {
            table.remove(key.as_slice()).map_err(storage)?;
        } else {
            put(&mut table, &key, &tally)?;
        }
    }
    Ok(())
}

/// Every tally of one kind in a workspace, by name.
pub(crate) fn tallies(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    kind: Kind,
) -> Result<Vec<(Vec<u8>, Tally)>, AppError> {
    let prefix = tenant_key(workspace, &[&[kind.byte()]]);
    let mut out = Vec::new();
    for row in table.range(prefix.as_slice()..prefix_end(&prefix).as_slice()).map_err(storage)? {
        let (key, value) = row.map_err(storage)?;
        out.push((key.value()[prefix.len()..].to_vec(), super::codec::decode(value.value())?));
    }
    Ok(out)
}

/// One index row visited by [`scan`]: the record id and the row's key after the scan prefix
/// (an opaque cursor to continue after it).
pub(crate) struct IndexRow {
    pub id: RecordId,
    pub after_prefix: Vec<u8>,
}

/// Visits the index rows under `prefix` in key order (or reverse), starting after `cursor`,
/// while `visit` returns true.
pub(crate) fn scan(
    index: &impl ReadableTable<&'static [u8], ()>,
    prefix: &[u8],
    cursor: Option<&[u8]>,
    reverse: bool,
    mut visit: impl FnMut(IndexRow) -> Result<bool, AppError>,
) -> Result<(), AppError> {
    let end = prefix_end(prefix);
    let after = cursor.map(|c| [prefix, c].concat());
    let range = match (&after, reverse) {
        (Some(a), false) => (Bound::Excluded(a.as_slice()), Bound::Excluded(end.as_slice())),
        (Some(a), true) => (Bound::Included(prefix), Bound::Excluded(a.as_slice())),
        (None, _) => (Bound::Included(prefix), Bound::Excluded(end.as_slice())),
    };
    let rows = index.range::<&[u8]>(range).map_err(storage)?;
    let mut step =
        |row: Result<(redb::AccessGuard<'_, &'static [u8]>, redb::AccessGuard<'_, ()>), redb::StorageError>| {
            let (key, _) = row.map_err(storage)?;
            let key = key.value();
            let Some(id_bytes) = key.len().checked_sub(16).and_then(|at| <[u8; 16]>::try_from(&key[at..]).ok()) else {
                return Ok(true);
            };
            visit(IndexRow { id: RecordId::from_bytes(id_bytes), after_prefix: key[prefix.len()..].to_vec() })
        };
    if reverse {
        for row in rows.rev() {
            if !step(row)? {
                break;
            }
        }
    } else {
        for row in rows {
            if !step(row)? {
                break;
            }
        }
    }
    Ok(())
}

/// Counts the index rows under `prefix` (bounded by `limit`).
pub(crate) fn count(
    index: &impl ReadableTable<&'static [u8], ()>,
    prefix: &[u8],
    limit: usize,
) -> Result<usize, AppError> {
    let end = prefix_end(prefix);
    Ok(index.range::<&[u8]>(prefix..end.as_slice()).map_err(storage)?.take(limit).count())
}

/// One line of a record's activity timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TimelineEntry {
    pub at: i64,
    pub actor: Option<UserId>,
    /// created, updated, note, task, task-done, stage, merged, imported
    pub event: String,
    /// Names of changed fields (never their values: some are confidential).
    pub fields: Vec<String>,
    /// A short fixed-form detail, e.g. "Proposal → Won" or a task title.
    pub detail: Option<String>,
    /// A related record (the note or task).
    pub link: Option<(Kind, RecordId)>,
}

impl Versioned for TimelineEntry {
    const VERSION: u16 = 1;
}

pub(crate) fn append_timeline(
    txn: &WriteTransaction,
    workspace: &WorkspaceId,
    kind: Kind,
    id: &RecordId,
    entry: &TimelineEntry,
) -> Result<(), AppError> {
    let at = u64::try_from(entry.at).unwrap_or(0).to_be_bytes();
    let nonce: [u8; 4] = rand::random();
    let key = tenant_key(workspace, &[&[kind.byte()], id.as_bytes(), &at, &nonce]);
    put(&mut txn.open_table(TIMELINE).map_err(storage)?, &key, entry)
}

/// The newest `limit` timeline entries of one record.
pub(crate) fn timeline(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    kind: Kind,
    id: &RecordId,
    limit: usize,
) -> Result<Vec<TimelineEntry>, AppError> {
    let prefix = record_key(workspace, kind, id);
    let mut entries = Vec::new();
    for row in table.range(prefix.as_slice()..prefix_end(&prefix).as_slice()).map_err(storage)?.rev().take(limit) {
        let (_, value) = row.map_err(storage)?;
        entries.push(super::codec::decode(value.value())?);
    }
    Ok(entries)
}

/// A record the search index must look at again (created, changed or deleted).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OutboxRow {
    pub workspace: WorkspaceId,
    pub kind: Kind,
    pub id: RecordId,
}

impl Versioned for OutboxRow {
    const VERSION: u16 = 1;
}

fn push_outbox(txn: &WriteTransaction, workspace: &WorkspaceId, kind: Kind, id: &RecordId) -> Result<(), AppError> {
    let mut outbox = txn.open_table(SEARCH_OUTBOX).map_err(storage)?;
    let next = match outbox.last().map_err(storage)? {
        Some((key, _)) => <[u8; 8]>::try_from(key.value()).map(u64::from_be_bytes).unwrap_or(0) + 1,
        None => 1,
    };
    put(&mut outbox, &next.to_be_bytes(), &OutboxRow { workspace: *workspace, kind, id: *id })
}

pub(crate) use super::idempotency::{
    IdempotentAnswer, answers_of_workspace, expire_answers, idempotency_key, load_answer, save_answer,
};

/// Reads a workspace's CRM setting.
pub(crate) fn load_setting<T: Versioned>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    name: &str,
) -> Result<Option<T>, AppError> {
    get(table, &tenant_key(workspace, &[name.as_bytes()]))
}

pub(crate) fn save_setting<T: Versioned>(
    txn: &WriteTransaction,
    workspace: &WorkspaceId,
    name: &str,
    value: &T,
) -> Result<(), AppError> {
    put(&mut txn.open_table(CRM_SETTINGS).map_err(storage)?, &tenant_key(workspace, &[name.as_bytes()]), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_record_and_index_keys() {
        let ws = WorkspaceId::from_bytes([1; 16]);
        let id = RecordId::from_bytes([2; 16]);
        assert_eq!(record_key(&ws, Kind::Contact, &id), [&[1u8; 16][..], &[2], &[2u8; 16]].concat());
        assert_eq!(index_prefix(&ws, Kind::Deal, 6), [&[1u8; 16][..], &[3, 6]].concat());
    }
}
