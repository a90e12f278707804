//! Every row of every table as raw bytes, for backups: a snapshot reads them out in one read
//! transaction, a restore writes them into a fresh store, a restore drill counts them. Only
//! the store knows its tables; the backup format knows rows.

use std::collections::BTreeMap;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableHandle};

use super::tables::{ALL_BYTE_TABLES, ALL_SET_TABLES, ALL_TEXT_TABLES};

/// Why rows could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("{0}")]
    Store(#[from] redb::Error),
    #[error("unknown table {0}")]
    UnknownTable(String),
    #[error("a text key is not UTF-8")]
    TextKey,
}

fn store(error: impl Into<redb::Error>) -> DumpError {
    DumpError::Store(error.into())
}

/// Visits every row of `db` in one read transaction: `(table, key, value)`, a set table's
/// value empty. `E` carries the visitor's own failures (writing the rows out). Answers the op
/// log's last sequence number as of that transaction: changes after it are not in the rows.
pub(crate) fn each_row<E: From<DumpError>>(
    db: &Database,
    mut visit: impl FnMut(&str, &[u8], &[u8]) -> Result<(), E>,
) -> Result<u64, E> {
    let txn = db.begin_read().map_err(store)?;
    let oplog_seq = match txn.open_table(super::oplog::OPLOG) {
        Ok(log) => log.last().map_err(store)?.map_or(0, |(seq, _)| seq.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => 0,
        Err(e) => return Err(store(e).into()),
    };
    for definition in ALL_BYTE_TABLES {
        for entry in txn.open_table(*definition).map_err(store)?.iter().map_err(store)? {
            let (key, value) = entry.map_err(store)?;
            visit(definition.name(), key.value(), value.value())?;
        }
    }
    for definition in ALL_TEXT_TABLES {
        for entry in txn.open_table(*definition).map_err(store)?.iter().map_err(store)? {
            let (key, value) = entry.map_err(store)?;
            visit(definition.name(), key.value().as_bytes(), value.value())?;
        }
    }
    for definition in ALL_SET_TABLES {
        for entry in txn.open_table(*definition).map_err(store)?.iter().map_err(store)? {
            let (key, _) = entry.map_err(store)?;
            visit(definition.name(), key.value(), &[])?;
        }
    }
    Ok(oplog_seq)
}

/// The value of `key` in the table called `table` as `txn` sees it (`Some(empty)` for a set
/// table's member), or `None` when absent.
pub(crate) fn read_value(txn: &redb::ReadTransaction, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, DumpError> {
    let known = |name: &str| name == table;
    if let Some(def) = ALL_BYTE_TABLES.iter().find(|d| known(d.name())) {
        Ok(txn.open_table(*def).map_err(store)?.get(key).map_err(store)?.map(|v| v.value().to_vec()))
    } else if let Some(def) = ALL_TEXT_TABLES.iter().find(|d| known(d.name())) {
        let key = std::str::from_utf8(key).map_err(|_| DumpError::TextKey)?;
        Ok(txn.open_table(*def).map_err(store)?.get(key).map_err(store)?.map(|v| v.value().to_vec()))
    } else if let Some(def) = ALL_SET_TABLES.iter().find(|d| known(d.name())) {
        Ok(txn.open_table(*def).map_err(store)?.get(key).map_err(store)?.map(|_| Vec::new()))
    } else {
        Err(DumpError::UnknownTable(table.to_owned()))
    }
}

/// Applies changed rows to `db` in one write transaction: a value is written, `None` removes
/// the key (a restore replaying the off-site change segments).
pub(crate) fn apply_changes(db: &Database, rows: &[super::oplog::ChangedRow]) -> Result<(), DumpError> {
    let txn = db.begin_write().map_err(store)?;
    for (table, key, value) in rows {
        let known = |name: &str| name == table.as_str();
        if let Some(def) = ALL_BYTE_TABLES.iter().find(|d| known(d.name())) {
            let mut t = txn.open_table(*def).map_err(store)?;
            match value {
                Some(value) => t.insert(key.as_slice(), value.as_slice()).map(drop),
                None => t.remove(key.as_slice()).map(drop),
            }
            .map_err(store)?;
        } else if let Some(def) = ALL_TEXT_TABLES.iter().find(|d| known(d.name())) {
            let key = std::str::from_utf8(key).map_err(|_| DumpError::TextKey)?;
            let mut t = txn.open_table(*def).map_err(store)?;
            match value {
                Some(value) => t.insert(key, value.as_slice()).map(drop),
                None => t.remove(key).map(drop),
            }
            .map_err(store)?;
        } else if let Some(def) = ALL_SET_TABLES.iter().find(|d| known(d.name())) {
            let mut t = txn.open_table(*def).map_err(store)?;
            match value {
                Some(_) => t.insert(key.as_slice(), ()).map(drop),
                None => t.remove(key.as_slice()).map(drop),
            }
            .map_err(store)?;
        } else {
            return Err(DumpError::UnknownTable(table.clone()));
        }
    }
    txn.commit().map_err(store)?;
    Ok(())
}

/// Writes rows read by [`each_row`] into `db` in one write transaction.
pub(crate) fn insert_rows(db: &Database, rows: &[(String, Vec<u8>, Vec<u8>)]) -> Result<(), DumpError> {
    let txn = db.begin_write().map_err(store)?;
    for (table, key, value) in rows {
        let known = |name: &str| name == table.as_str();
        if let Some(def) = ALL_BYTE_TABLES.iter().find(|d| known(d.name())) {
            txn.open_table(*def).map_err(store)?.insert(key.as_slice(), value.as_slice()).map_err(store)?;
        } else if let Some(def) = ALL_TEXT_TABLES.iter().find(|d| known(d.name())) {
            let key = std::str::from_utf8(key).map_err(|_| DumpError::TextKey)?;
            txn.open_table(*def).map_err(store)?.insert(key, value.as_slice()).map_err(store)?;
        } else if let Some(def) = ALL_SET_TABLES.iter().find(|d| known(d.name())) {
            txn.open_table(*def).map_err(store)?.insert(key.as_slice(), ()).map_err(store)?;
        } else {
            return Err(DumpError::UnknownTable(table.clone()));
        }
    }
    txn.commit().map_err(store)?;
    Ok(())
}

/// Rows per table of the store at `path` (for restore drills).
pub(crate) fn count_rows(path: &Path) -> Result<BTreeMap<String, u64>, DumpError> {
    let db = Database::open(path).map_err(store)?;
    let txn = db.begin_read().map_err(store)?;
    let mut counts = BTreeMap::new();
    for def in ALL_BYTE_TABLES {
        counts.insert(def.name().to_owned(), txn.open_table(*def).map_err(store)?.len().map_err(store)?);
    }
    for def in ALL_TEXT_TABLES {
        counts.insert(def.name().to_owned(), txn.open_table(*def).map_err(store)?.len().map_err(store)?);
    }
    for def in ALL_SET_TABLES {
        counts.insert(def.name().to_owned(), txn.open_table(*def).map_err(store)?.len().map_err(store)?);
    }
    Ok(counts)
}
