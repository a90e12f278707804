//! CRM records, their secondary indexes, tallies, timelines, the search outbox and
//! per-workspace CRM settings, as methods of [`WorkspaceTx`]: the workspace comes from the
//! handle (built from a verified scope) and every key starts with it. One write transaction
//! makes record, indexes, tallies, timeline, outbox row and audit entry one atomic change.

use std::marker::PhantomData;
use std::ops::Bound;

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::access::{get, put};
use super::codec::{self, Versioned};
use super::key_layout::{prefix_end, tenant_key};
use super::oplog::Logged;
use super::scoped::{ServerTx, ServerWrite, Txn, WorkspaceTx, WorkspaceWrite};
use super::tables::{CRM_SETTINGS, RECORD_INDEX, RECORDS, SEARCH_OUTBOX, TALLIES, TIMELINE};
use super::{sealed, storage};
use crate::app::keyring::Keyring;
use crate::domain::crm::{Kind, TimelineEvent};
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
    /// The sealed fields a list row shows (the others stay closed on list pages).
    const LISTED_SEALED: &'static [&'static str] = &[];
}

fn record_key(workspace: &WorkspaceId, kind: Kind, id: &RecordId) -> Vec<u8> {
    tenant_key(workspace, &[&[kind.byte()], id.as_bytes()])
}

/// `workspace ‖ kind ‖ index`: where one index of one kind begins.
pub(super) fn index_prefix(workspace: &WorkspaceId, kind: Kind, index: u8) -> Vec<u8> {
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

/// A record read with only some of its sealed fields opened (the others left at their
/// defaults): a view for a page that does not show them. It reads like the record it wraps
/// but is not one, so it cannot be saved. `O` says which fields are open: a list row's
/// ([`Listed`]) or none ([`Closed`]).
#[derive(Debug, Clone)]
pub struct Partial<T, O = Listed>(T, PhantomData<O>);

/// Which sealed fields a [`Partial`] opens.
pub trait Opening {
    /// None at all (else the kind's [`Entity::LISTED_SEALED`]).
    const NONE: bool;
}

/// A list row's sealed fields ([`Entity::LISTED_SEALED`]) are open.
#[derive(Debug, Clone)]
pub enum Listed {}

/// No sealed field is open (a search hit: its snippet never shows one).
#[derive(Debug, Clone)]
pub enum Closed {}

impl Opening for Listed {
    const NONE: bool = false;
}

impl Opening for Closed {
    const NONE: bool = true;
}

impl<T, O> std::ops::Deref for Partial<T, O> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T, O> std::borrow::Borrow<T> for Partial<T, O> {
    fn borrow(&self) -> &T {
        &self.0
    }
}

impl<T: Serialize, O> Serialize for Partial<T, O> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// How a record is read: whole (`T`), or partly ([`Partial<T>`]: a list row, a search hit).
pub(crate) trait Reading: Sized {
    type Of: Entity;
    /// The sealed fields opened.
    const OPEN: &'static [&'static str];
    fn opened(record: Self::Of) -> Self;
    /// The record as read.
    fn record(&self) -> &Self::Of;
}

impl<T: Entity> Reading for T {
    type Of = T;
    const OPEN: &'static [&'static str] = T::SEALED;
    fn opened(record: T) -> T {
        record
    }
    fn record(&self) -> &T {
        self
    }
}

impl<T: Entity, O: Opening> Reading for Partial<T, O> {
    type Of = T;
    const OPEN: &'static [&'static str] = if O::NONE { &[] } else { T::LISTED_SEALED };
    fn opened(record: T) -> Self {
        Partial(record, PhantomData)
    }
    fn record(&self) -> &T {
        &self.0
    }
}

/// The records table of a read transaction as one workspace sees it.
pub(crate) type ReadRecords<'t> = RecordsTable<'t, redb::ReadOnlyTable<&'static [u8], &'static [u8]>>;

/// The records table as one workspace sees it.
pub(crate) struct RecordsTable<'t, Tb> {
    table: Tb,
    workspace: WorkspaceId,
    keyring: &'t Keyring,
}

impl<Tb: ReadableTable<&'static [u8], &'static [u8]>> RecordsTable<'_, Tb> {
    /// The workspace these records belong to.
    pub(crate) fn workspace(&self) -> &WorkspaceId {
        &self.workspace
    }

    /// One record of this workspace, every sealed field opened.
    pub(crate) fn load<T: Entity>(&self, id: &RecordId) -> Result<Option<T>, AppError> {
        self.read::<T>(id)
    }

    /// One record, read as `R` says (whole, or as a list row).
    pub(crate) fn read<R: Reading>(&self, id: &RecordId) -> Result<Option<R>, AppError> {
        let key = record_key(&self.workspace, R::Of::KIND, id);
        match self.table.get(key.as_slice()).map_err(storage)? {
            Some(value) => sealed::decode_opening(Some(self.keyring), &self.workspace, id, value.value(), R::OPEN)
                .map(|record| Some(R::opened(record))),
            None => Ok(None),
        }
    }

    /// Only the fields `F` of one stored record, straight from its JSON: nothing else is
    /// decoded and nothing sealed is opened (`F` must name no sealed field).
    pub(crate) fn load_fields<T: Entity, F: serde::de::DeserializeOwned>(
        &self,
        id: &RecordId,
    ) -> Result<Option<F>, AppError> {
        let key = record_key(&self.workspace, T::KIND, id);
        let Some(value) = self.table.get(key.as_slice()).map_err(storage)? else {
            return Ok(None);
        };
        let corrupt = |why: &str| AppError::internal(ErrorCode::StorageUnavailable, format!("corrupt record: {why}"));
        // Sealed members are base64 text in either format: the fields read here are never sealed.
        let json =
            codec::envelope_json::<T>(value.value(), &[codec::FORMAT_V1, sealed::FORMAT_SEALED]).map_err(corrupt)?;
        serde_json::from_slice(json).map(Some).map_err(|_| corrupt("fields missing"))
    }

    /// Whether a record of `kind` with this id exists in this workspace.
    pub(crate) fn contains(&self, kind: Kind, id: &RecordId) -> Result<bool, AppError> {
        Ok(self.table.get(record_key(&self.workspace, kind, id).as_slice()).map_err(storage)?.is_some())
    }
}

/// The secondary index as one workspace sees it.
pub(crate) struct Index<Tb> {
    table: Tb,
    workspace: WorkspaceId,
}

impl<Tb: ReadableTable<&'static [u8], ()>> Index<Tb> {
    fn prefix(&self, kind: Kind, index: u8, term: &[u8]) -> Vec<u8> {
        let mut prefix = index_prefix(&self.workspace, kind, index);
        prefix.extend_from_slice(term);
        prefix
    }

    /// Visits the rows of index `index` of `kind` under `term` in key order (or reverse),
    /// starting after `cursor`, while `visit` returns true.
    pub(crate) fn scan(
        &self,
        kind: Kind,
        index: u8,
        term: &[u8],
        cursor: Option<&[u8]>,
        reverse: bool,
        visit: impl FnMut(IndexRow) -> Result<bool, AppError>,
    ) -> Result<(), AppError> {
        scan(&self.table, &self.prefix(kind, index, term), cursor, reverse, visit)
    }

    /// Counts the rows of index `index` of `kind` under `term` (bounded by `limit`).
    pub(crate) fn count(&self, kind: Kind, index: u8, term: &[u8], limit: usize) -> Result<usize, AppError> {
        let prefix = self.prefix(kind, index, term);
        let end = prefix_end(&prefix);
        Ok(self.table.range::<&[u8]>(prefix.as_slice()..end.as_slice()).map_err(storage)?.take(limit).count())
    }
}

impl<'t, Tx: Txn> WorkspaceTx<'t, Tx> {
    /// The workspace's records (open once, read many).
    pub(crate) fn records(
        &self,
    ) -> Result<RecordsTable<'t, impl ReadableTable<&'static [u8], &'static [u8]> + use<'t, Tx>>, AppError> {
        Ok(RecordsTable { table: self.txn.bytes(RECORDS)?, workspace: self.workspace, keyring: self.keyring })
    }

    /// The workspace's secondary index (open once, scan many).
    pub(crate) fn index(&self) -> Result<Index<impl ReadableTable<&'static [u8], ()> + use<'t, Tx>>, AppError> {
        Ok(Index { table: self.txn.set(RECORD_INDEX)?, workspace: self.workspace })
    }

    /// One record, every sealed field opened.
    pub(crate) fn load<T: Entity>(&self, id: &RecordId) -> Result<Option<T>, AppError> {
        self.records()?.load(id)
    }

    /// Every tally of one kind, by name.
    pub(crate) fn tallies(&self, kind: Kind) -> Result<Vec<(Vec<u8>, Tally)>, AppError> {
        let table = self.txn.bytes(TALLIES)?;
        let prefix = tenant_key(&self.workspace, &[&[kind.byte()]]);
        let mut out = Vec::new();
        for row in table.range(prefix.as_slice()..prefix_end(&prefix).as_slice()).map_err(storage)? {
            let (key, value) = row.map_err(storage)?;
            out.push((key.value()[prefix.len()..].to_vec(), super::codec::decode(value.value())?));
        }
        Ok(out)
    }

    /// How many records of `kind` the workspace holds (kept exact by every save and delete).
    pub(crate) fn record_count(&self, kind: Kind) -> Result<u64, AppError> {
        let key = tenant_key(&self.workspace, &[&[kind.byte()], RECORD_COUNT]);
        let tally: Option<Tally> = get(&self.txn.bytes(TALLIES)?, &key)?;
        Ok(tally.map_or(0, |t| u64::try_from(t.count).unwrap_or(0)))
    }

    /// The newest `limit` timeline entries of one record.
    pub(crate) fn timeline(&self, kind: Kind, id: &RecordId, limit: usize) -> Result<Vec<TimelineEntry>, AppError> {
        let table = self.txn.bytes(TIMELINE)?;
        let prefix = record_key(&self.workspace, kind, id);
        let mut entries = Vec::new();
        for row in table.range(prefix.as_slice()..prefix_end(&prefix).as_slice()).map_err(storage)?.rev().take(limit) {
            let (_, value) = row.map_err(storage)?;
            entries.push(super::codec::decode(value.value())?);
        }
        Ok(entries)
    }

    /// One of the workspace's CRM settings.
    pub(crate) fn setting<T: Versioned>(&self, name: &str) -> Result<Option<T>, AppError> {
        get(&self.txn.bytes(CRM_SETTINGS)?, &tenant_key(&self.workspace, &[name.as_bytes()]))
    }
}

impl WorkspaceWrite<'_> {
    /// Writes `record`, replacing `previous` (its index keys are removed first), with its
    /// tallies and a search outbox row.
    pub(crate) fn save<T: Entity>(&self, previous: Option<&T>, record: &T) -> Result<(), AppError> {
        save(self.txn, self.keyring, &self.workspace, previous, record)
    }

    /// Deletes `record`, its index keys and its timeline.
    pub(crate) fn delete<T: Entity>(&self, record: &T) -> Result<(), AppError> {
        delete(self.txn, &self.workspace, record)
    }

    /// Adds a line to a record's timeline.
    pub(crate) fn append_timeline(&self, kind: Kind, id: &RecordId, entry: &TimelineEntry) -> Result<(), AppError> {
        let at = u64::try_from(entry.at).unwrap_or(0).to_be_bytes();
        let nonce: [u8; 4] = rand::random();
        let key = tenant_key(&self.workspace, &[&[kind.byte()], id.as_bytes(), &at, &nonce]);
        put(&mut self.txn.logged(TIMELINE).map_err(storage)?, &key, entry)
    }

    /// Stores one of the workspace's CRM settings.
    pub(crate) fn save_setting<T: Versioned>(&self, name: &str, value: &T) -> Result<(), AppError> {
        let key = tenant_key(&self.workspace, &[name.as_bytes()]);
        put(&mut self.txn.logged(CRM_SETTINGS).map_err(storage)?, &key, value)
    }
}

/// Writes the record value only (no index, tally or outbox change): key rotation re-seals.
/// Answers whether the record is new (no value was replaced).
pub(super) fn rewrite<T: Entity>(
    records: &mut super::oplog::LoggedTable<&'static [u8], &'static [u8]>,
    keyring: &Keyring,
    workspace: &WorkspaceId,
    record: &T,
) -> Result<bool, AppError> {
    let bytes = sealed::encode(keyring, workspace, record)?;
    let key = record_key(workspace, T::KIND, &record.id());
    Ok(records.insert(key.as_slice(), bytes.as_slice()).map_err(storage)?.is_none())
}

/// The tally every stored record of a kind counts towards: the exact size of the unfiltered
/// list (index rows can't say it: contacts sit twice in `NAME_FORMS`). It starts with a zero
/// byte, so no tally a kind names ("stage\0…", "won\0…") can be it.
pub(crate) const RECORD_COUNT: &[u8] = b"\0records";

/// The record-count share of one record (see [`RECORD_COUNT`]).
fn record_count() -> Vec<TallyShare> {
    vec![(RECORD_COUNT.to_vec(), None)]
}

/// Writes `record`, replacing `previous` (its index keys are removed first).
fn save<T: Entity>(
    txn: &WriteTransaction,
    keyring: &Keyring,
    workspace: &WorkspaceId,
    previous: Option<&T>,
    record: &T,
) -> Result<(), AppError> {
    let mut index = txn.logged(RECORD_INDEX).map_err(storage)?;
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
    // Counted by what the table held, not by `previous`: a save over an existing record
    // (seeding, an import's upsert) never counts it twice.
    if rewrite(&mut txn.logged(RECORDS).map_err(storage)?, keyring, workspace, record)? {
        count_in(txn, workspace, T::KIND, record_count(), 1)?;
    }
    if let Some(old) = previous {
        count_in(txn, workspace, T::KIND, old.tallies(), -1)?;
    }
    count_in(txn, workspace, T::KIND, record.tallies(), 1)?;
    push_outbox(txn, workspace, T::KIND, &record.id())
}

/// Deletes `record`, its index keys and its timeline.
fn delete<T: Entity>(txn: &WriteTransaction, workspace: &WorkspaceId, record: &T) -> Result<(), AppError> {
    let mut index = txn.logged(RECORD_INDEX).map_err(storage)?;
    for key in index_keys(workspace, record) {
        index.remove(key.as_slice()).map_err(storage)?;
    }
    drop(index);
    let id = record.id();
    let removed = txn
        .logged(RECORDS)
        .map_err(storage)?
        .remove(record_key(workspace, T::KIND, &id).as_slice())
        .map_err(storage)?
        .is_some();
    if removed {
        count_in(txn, workspace, T::KIND, record_count(), -1)?;
    }
    count_in(txn, workspace, T::KIND, record.tallies(), -1)?;
    let prefix = record_key(workspace, T::KIND, &id);
    let mut timeline = txn.logged(TIMELINE).map_err(storage)?;
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
    let mut table = txn.logged(TALLIES).map_err(storage)?;
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

/// One index row visited by [`scan`]: the record id and the row's key after the scan prefix
/// (an opaque cursor to continue after it).
pub(crate) struct IndexRow {
    pub id: RecordId,
    pub after_prefix: Vec<u8>,
}

/// Visits the index rows under `prefix` in key order (or reverse), starting after `cursor`,
/// while `visit` returns true.
fn scan(
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

/// One line of a record's activity timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TimelineEntry {
    pub at: i64,
    pub actor: Option<UserId>,
    pub event: TimelineEvent,
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

/// A record the search index must look at again (created, changed or deleted). Only the
/// store writes one, so the workspace it names is one the store vouches for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OutboxRow {
    workspace: WorkspaceId,
    pub kind: Kind,
    pub id: RecordId,
}

impl OutboxRow {
    pub(crate) fn workspace(&self) -> &WorkspaceId {
        &self.workspace
    }
}

impl Versioned for OutboxRow {
    const VERSION: u16 = 1;
}

/// The key of an outbox row (a sequence number).
pub(crate) type OutboxKey = [u8; 8];

impl<'t> ServerTx<'t, redb::ReadTransaction> {
    /// The oldest `limit` outbox rows (`None`: a row this build cannot read).
    pub(crate) fn outbox(&self, limit: usize) -> Result<Vec<(OutboxKey, Option<OutboxRow>)>, AppError> {
        let table = self.txn.bytes(SEARCH_OUTBOX)?;
        let mut rows = Vec::new();
        for row in table.iter().map_err(storage)?.take(limit) {
            let (key, value) = row.map_err(storage)?;
            if let Ok(key) = OutboxKey::try_from(key.value()) {
                rows.push((key, codec::decode::<OutboxRow>(value.value()).ok()));
            }
        }
        Ok(rows)
    }

    /// How many rows wait in the outbox.
    pub(crate) fn outbox_len(&self) -> Result<u64, AppError> {
        self.txn.bytes(SEARCH_OUTBOX)?.len().map_err(storage)
    }

    /// The transaction as the workspace of a queued change sees it (for the indexer).
    pub(crate) fn queued_in(&self, row: &OutboxRow) -> WorkspaceTx<'t, redb::ReadTransaction> {
        WorkspaceTx { txn: self.txn, workspace: row.workspace, keyring: self.keyring }
    }

    /// Visits every stored record, in key order, with the records of its workspace (for
    /// rebuilds and index audits), while `visit` returns true.
    pub(crate) fn each_record(
        &self,
        mut visit: impl FnMut(&ReadRecords<'t>, Kind, RecordId) -> Result<bool, AppError>,
    ) -> Result<(), AppError> {
        let keys = self.txn.open_table(RECORDS).map_err(storage)?;
        let mut records: Option<ReadRecords<'t>> = None;
        for row in keys.iter().map_err(storage)? {
            let (key, _) = row.map_err(storage)?;
            let key = key.value();
            let (Some(workspace), Some(kind), Some(id)) = (
                key.get(..16).and_then(|b| <[u8; 16]>::try_from(b).ok()).map(WorkspaceId::from_bytes),
                key.get(16).and_then(|b| Kind::ALL.into_iter().find(|k| k.byte() == *b)),
                key.get(17..33).and_then(|b| <[u8; 16]>::try_from(b).ok()),
            ) else {
                continue;
            };
            // Keys start with the workspace: its records are read through one handle.
            if records.as_ref().is_none_or(|r| r.workspace != workspace) {
                let table = self.txn.open_table(RECORDS).map_err(storage)?;
                records = Some(RecordsTable { table, workspace, keyring: self.keyring });
            }
            if !visit(records.as_ref().expect("opened above"), kind, RecordId::from_bytes(id))? {
                break;
            }
        }
        Ok(())
    }
}

impl ServerWrite<'_> {
    /// Deletes applied outbox rows.
    pub(crate) fn delete_outbox(&self, keys: &[OutboxKey]) -> Result<(), AppError> {
        let mut outbox = self.txn.logged(SEARCH_OUTBOX).map_err(storage)?;
        for key in keys {
            outbox.remove(key.as_slice()).map_err(storage)?;
        }
        Ok(())
    }
}

pub(super) fn push_outbox(
    txn: &WriteTransaction,
    workspace: &WorkspaceId,
    kind: Kind,
    id: &RecordId,
) -> Result<(), AppError> {
    let mut outbox = txn.logged(SEARCH_OUTBOX).map_err(storage)?;
    let next = match outbox.last().map_err(storage)? {
        Some((key, _)) => <[u8; 8]>::try_from(key.value()).map(u64::from_be_bytes).unwrap_or(0) + 1,
        None => 1,
    };
    put(&mut outbox, &next.to_be_bytes(), &OutboxRow { workspace: *workspace, kind, id: *id })
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
