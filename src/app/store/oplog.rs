//! The op log: every write transaction on the writer thread also records which keys of which
//! tables it changed, as one row of [`OPLOG`] written in the same transaction — so the log and
//! the data can never disagree. The off-site shipper reads the keys past what it shipped, takes
//! their current values (or their absence) from one snapshot, uploads them, and only then
//! prunes the log.
//!
//! Writes go through [`LoggedTable`] (from [`Logged::logged`]), which notes each changed key for
//! the transaction under way; the writer turns the notes into the log row before it commits.
//! Migrations and restores write unlogged: a new base backup follows them.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::{Deref, RangeBounds};

use redb::{Key, ReadableTable, StorageError, Table, TableDefinition, TableError, Value, WriteTransaction};

/// `sequence number (u64)` → the changed keys of one transaction (see [`encode`]).
pub(crate) const OPLOG: TableDefinition<u64, &[u8]> = TableDefinition::new("oplog");
/// The shipper's own state (not logged, not backed up): what it shipped, into which generation.
pub(crate) const SHIPPING: TableDefinition<&str, &[u8]> = TableDefinition::new("shipping");

/// The keys one transaction changed: `(table, key)`.
pub(super) type ChangedKeys = BTreeSet<(&'static str, Vec<u8>)>;
/// The keys of one log row, as read back.
pub(crate) type LoggedKeys = Vec<(String, Vec<u8>)>;

thread_local! {
    /// The keys changed by the transaction running on this thread (`None`: not logging).
    static CHANGED: RefCell<Option<ChangedKeys>> = const { RefCell::new(None) };
}

fn note(table: &'static str, key: &[u8]) {
    CHANGED.with(|changed| {
        if let Some(keys) = changed.borrow_mut().as_mut() {
            keys.insert((table, key.to_vec()));
        }
    });
}

/// Starts noting changed keys on this thread (the writer, before a job runs).
pub(super) fn begin() {
    CHANGED.with(|changed| *changed.borrow_mut() = Some(BTreeSet::new()));
}

/// Stops noting, and answers what was noted.
pub(super) fn end() -> ChangedKeys {
    CHANGED.with(|changed| changed.borrow_mut().take().unwrap_or_default())
}

/// Appends the keys a transaction changed as the next row of the log, in that transaction.
pub(super) fn append(txn: &WriteTransaction, keys: &ChangedKeys) -> Result<(), redb::Error> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut log = txn.open_table(OPLOG)?;
    let next = log.last()?.map_or(1, |(seq, _)| seq.value() + 1);
    log.insert(next, encode(keys).as_slice())?;
    Ok(())
}

/// `(table name length u8 ‖ name ‖ key length u32 BE ‖ key)*`.
fn encode(keys: &ChangedKeys) -> Vec<u8> {
    let mut out = Vec::new();
    for (table, key) in keys {
        out.push(table.len() as u8);
        out.extend_from_slice(table.as_bytes());
        out.extend_from_slice(&(key.len() as u32).to_be_bytes());
        out.extend_from_slice(key);
    }
    out
}

/// The `(table, key)` pairs of one log row.
pub(crate) fn decode(mut bytes: &[u8]) -> Option<LoggedKeys> {
    let mut keys = Vec::new();
    while let [len, rest @ ..] = bytes {
        let (name, rest) = rest.split_at_checked(*len as usize)?;
        let (len, rest) = rest.split_at_checked(4)?;
        let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
        let (key, rest) = rest.split_at_checked(len)?;
        keys.push((std::str::from_utf8(name).ok()?.to_owned(), key.to_vec()));
        bytes = rest;
    }
    Some(keys)
}

/// Opens tables for writing through the log.
pub(crate) trait Logged {
    fn logged<K: Key + 'static, V: Value + 'static>(
        &self,
        definition: TableDefinition<K, V>,
    ) -> Result<LoggedTable<'_, K, V>, TableError>;
}

impl Logged for WriteTransaction {
    fn logged<K: Key + 'static, V: Value + 'static>(
        &self,
        definition: TableDefinition<K, V>,
    ) -> Result<LoggedTable<'_, K, V>, TableError> {
        let name = redb::TableHandle::name(&definition);
        // Table names are constants; the log keeps them by reference.
        let name: &'static str = crate::app::store::tables::static_name(name);
        Ok(LoggedTable { table: self.open_table(definition)?, name })
    }
}

/// A table whose changes are noted for the log. Reads go through `Deref`; the writes are the
/// ones below (no other write can be reached: there is no `DerefMut`).
pub(crate) struct LoggedTable<'txn, K: Key + 'static, V: Value + 'static> {
    table: Table<'txn, K, V>,
    name: &'static str,
}

impl<'txn, K: Key + 'static, V: Value + 'static> Deref for LoggedTable<'txn, K, V> {
    type Target = Table<'txn, K, V>;

    fn deref(&self) -> &Table<'txn, K, V> {
        &self.table
    }
}

/// Reading through a logged table is reading the table: functions that take any readable
/// table take this one too.
impl<K: Key + 'static, V: Value + 'static> redb::ReadableTableMetadata for LoggedTable<'_, K, V> {
    fn stats(&self) -> Result<redb::TableStats, StorageError> {
        self.table.stats()
    }

    fn len(&self) -> Result<u64, StorageError> {
        self.table.len()
    }
}

impl<K: Key + 'static, V: Value + 'static> ReadableTable<K, V> for LoggedTable<'_, K, V> {
    fn get<'a>(&self, key: impl Borrow<K::SelfType<'a>>) -> Result<Option<redb::AccessGuard<'_, V>>, StorageError> {
        self.table.get(key)
    }

    fn range<'a, KR>(&self, range: impl RangeBounds<KR> + 'a) -> Result<redb::Range<'_, K, V>, StorageError>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        self.table.range(range)
    }

    fn first(&self) -> Result<Option<(redb::AccessGuard<'_, K>, redb::AccessGuard<'_, V>)>, StorageError> {
        self.table.first()
    }

    fn last(&self) -> Result<Option<(redb::AccessGuard<'_, K>, redb::AccessGuard<'_, V>)>, StorageError> {
        self.table.last()
    }
}

impl<K: Key + 'static, V: Value + 'static> LoggedTable<'_, K, V> {
    pub(crate) fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> Result<Option<redb::AccessGuard<'_, V>>, StorageError> {
        note(self.name, K::as_bytes(key.borrow()).as_ref());
        self.table.insert(key, value)
    }

    pub(crate) fn remove<'a>(
        &mut self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> Result<Option<redb::AccessGuard<'_, V>>, StorageError> {
        note(self.name, K::as_bytes(key.borrow()).as_ref());
        self.table.remove(key)
    }

    pub(crate) fn retain_in<'a, KR>(
        &mut self,
        range: impl RangeBounds<KR> + 'a,
        mut keep: impl FnMut(K::SelfType<'_>, V::SelfType<'_>) -> bool,
    ) -> Result<(), StorageError>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        let name = self.name;
        self.table.retain_in(range, |key, value| {
            let bytes = K::as_bytes(&key).as_ref().to_vec();
            let kept = keep(key, value);
            if !kept {
                note(name, &bytes);
            }
            kept
        })
    }
}

/// The log rows past `after`, oldest first: `(sequence, changed keys)`.
pub(crate) fn rows_after(
    log: &impl ReadableTable<u64, &'static [u8]>,
    after: u64,
) -> Result<Vec<(u64, LoggedKeys)>, redb::Error> {
    let mut rows = Vec::new();
    for entry in log.range(after + 1..)? {
        let (seq, keys) = entry?;
        let keys = decode(keys.value())
            .ok_or_else(|| redb::Error::Corrupted(format!("op log row {} cannot be read", seq.value())))?;
        rows.push((seq.value(), keys));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_rows_round_trip() {
        let mut keys = BTreeSet::new();
        keys.insert(("records", vec![1, 2, 3]));
        keys.insert(("settings", b"backup".to_vec()));
        let decoded = decode(&encode(&keys)).unwrap();
        assert_eq!(decoded, [("records".to_owned(), vec![1, 2, 3]), ("settings".to_owned(), b"backup".to_vec())]);
        assert!(decode(&[7, b'x']).is_none(), "a damaged row is refused");
    }

    #[test]
    fn numbering_never_restarts_after_everything_shipped_is_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("log.redb")).unwrap();
        let one: ChangedKeys = [("records", vec![1])].into_iter().collect();
        let txn = db.begin_write().unwrap();
        for _ in 0..3 {
            append(&txn, &one).unwrap();
        }
        // Everything shipped: the newest row stays as the counter.
        prune(&mut txn.open_table(OPLOG).unwrap(), 3).unwrap();
        append(&txn, &one).unwrap();
        let log = txn.open_table(OPLOG).unwrap();
        let seqs: Vec<u64> = rows_after(&log, 0).unwrap().into_iter().map(|(seq, _)| seq).collect();
        assert_eq!(seqs, [3, 4], "the write after the prune is number 4, visible after 3");
        assert_eq!(rows_after(&log, 3).unwrap().len(), 1);
        drop(log);
        prune(&mut txn.open_table(OPLOG).unwrap(), 2).unwrap();
        assert_eq!(rows_after(&txn.open_table(OPLOG).unwrap(), 0).unwrap().len(), 2, "nothing unshipped is dropped");
    }
}

/// Drops the log rows up to `through` — except the newest row of all, which stays as the
/// marker the next sequence number counts on (numbers never restart, so a row written after a
/// prune can never hide below what was shipped). Keeping it ships nothing twice: readers start
/// after the shipped number.
fn prune(log: &mut redb::Table<u64, &[u8]>, through: u64) -> Result<(), crate::error::AppError> {
    let newest = log.last().map_err(super::storage)?.map_or(0, |(seq, _)| seq.value());
    let end = if through >= newest { newest } else { through + 1 };
    log.retain_in(..end, |_, _| false).map_err(super::storage)
}

/// A changed row as of one snapshot: its value, or `None` once deleted.
pub(crate) type ChangedRow = (String, Vec<u8>, Option<Vec<u8>>);

/// What changed after a sequence number, read in one transaction.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// The last log row taken (the next segment starts after it).
    pub up_to: u64,
    pub rows: Vec<ChangedRow>,
}

/// The shipper's state lives under this name in [`SHIPPING`].
const SHIPPING_STATE: &str = "state";

impl super::Store {
    /// The rows changed by every log row after `after`, with their values as of one snapshot —
    /// all of them: a segment that stopped part-way would pair old keys with newer values.
    /// Answers only once everything it read is durable: readers see the writer's commits
    /// before the batch's fsync, and a crash then would leave in the bucket what the disk lost.
    pub(crate) async fn changes_after(&self, after: u64) -> Result<Changes, crate::error::AppError> {
        let changes = self
            .read_txn(move |txn| {
                let log = txn.open_table(OPLOG).map_err(super::storage)?;
                let rows = rows_after(&log, after).map_err(super::storage)?;
                let Some(up_to) = rows.last().map(|(seq, _)| *seq) else {
                    return Ok(Changes { up_to: after, rows: Vec::new() });
                };
                let keys: BTreeSet<(String, Vec<u8>)> = rows.into_iter().flat_map(|(_, keys)| keys).collect();
                let mut changed = Vec::with_capacity(keys.len());
                for (table, key) in keys {
                    let value = super::dump::read_value(txn, &table, &key).map_err(|e| {
                        crate::error::AppError::internal(crate::error::ErrorCode::StorageUnavailable, e)
                    })?;
                    changed.push((table, key, value));
                }
                Ok(Changes { up_to, rows: changed })
            })
            .await?;
        // A write job is answered after its batch's flush, which makes every commit before it
        // durable, and so every commit the read above saw.
        if !changes.rows.is_empty() {
            self.write_txn(|_| Ok(())).await?;
        }
        Ok(changes)
    }

    /// Drops the log rows up to `through` (they are shipped) and keeps the shipper's `state`,
    /// in one transaction (neither is itself logged).
    pub(crate) async fn shipped_through(
        &self,
        through: Option<u64>,
        state: Vec<u8>,
    ) -> Result<(), crate::error::AppError> {
        self.write_txn(move |txn| {
            if let Some(through) = through {
                prune(&mut txn.open_table(OPLOG).map_err(super::storage)?, through)?;
            }
            txn.open_table(SHIPPING)
                .map_err(super::storage)?
                .insert(SHIPPING_STATE, state.as_slice())
                .map_err(super::storage)?;
            Ok(())
        })
        .await
    }

    /// The shipper's state, if it shipped before.
    pub(crate) async fn shipping_state(&self) -> Result<Option<Vec<u8>>, crate::error::AppError> {
        self.shipping_value(SHIPPING_STATE).await
    }

    /// One of the shipper's own values (unlogged, not backed up).
    pub(crate) async fn shipping_value(&self, name: &'static str) -> Result<Option<Vec<u8>>, crate::error::AppError> {
        self.read_txn(move |txn| {
            let table = txn.open_table(SHIPPING).map_err(super::storage)?;
            Ok(table.get(name).map_err(super::storage)?.map(|v| v.value().to_vec()))
        })
        .await
    }

    /// Keeps one of the shipper's own values; `None` removes it.
    pub(crate) async fn save_shipping_value(
        &self,
        name: &'static str,
        value: Option<Vec<u8>>,
    ) -> Result<(), crate::error::AppError> {
        self.write_txn(move |txn| {
            let mut table = txn.open_table(SHIPPING).map_err(super::storage)?;
            match value {
                Some(value) => table.insert(name, value.as_slice()).map(drop),
                None => table.remove(name).map(drop),
            }
            .map_err(super::storage)
        })
        .await
    }

    /// Empties the log (nothing ships: off-site backups are off, or the next base holds it all);
    /// the newest row stays as the counter.
    pub(crate) async fn drop_log(&self) -> Result<(), crate::error::AppError> {
        if self.queued_changes().await? <= 1 {
            return Ok(());
        }
        self.write_txn(|txn| {
            let mut log = txn.open_table(OPLOG).map_err(super::storage)?;
            let Some(last) = log.last().map_err(super::storage)?.map(|(seq, _)| seq.value()) else { return Ok(()) };
            prune(&mut log, last)
        })
        .await
    }

    /// How many write transactions the log holds (waiting for a segment, plus the counter).
    pub async fn queued_changes(&self) -> Result<u64, crate::error::AppError> {
        self.read_txn(|txn| {
            use redb::ReadableTableMetadata;
            txn.open_table(OPLOG).map_err(super::storage)?.len().map_err(super::storage)
        })
        .await
    }
}
