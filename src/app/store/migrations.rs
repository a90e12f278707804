//! Schema migrations: every step an upgrade needs runs in one write transaction that also sets
//! `schema_version`, so a crash or a failing step leaves the store exactly as the previous
//! build left it (a jump over several versions included), never in between.

use redb::{Database, ReadableDatabase, ReadableTable};

use super::tables::{ALL_BYTE_TABLES, ALL_SET_TABLES, ALL_TEXT_TABLES, META, RECORD_INDEX, RECORDS};

const SCHEMA_VERSION_KEY: &str = "schema_version";

/// One step forward.
struct Migration {
    version: u32,
    name: &'static str,
    apply: fn(&redb::WriteTransaction) -> Result<(), redb::Error>,
}

/// In order; the last one's version is the schema this build writes.
const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "create tables", apply: create_tables },
    // Creating a table that exists is a no-op, so the same step adds the CRM tables.
    Migration { version: 2, name: "create CRM tables", apply: create_tables },
    Migration { version: 3, name: "create import tables", apply: create_tables },
    Migration { version: 4, name: "create the field-encryption keyring table", apply: create_tables },
    Migration { version: 5, name: "move blind-index lookups to the search index", apply: drop_blind_index_rows },
    Migration {
        version: 6,
        name: "index contacts by name in either order and tasks by title",
        apply: index_names_anew,
    },
    Migration { version: 7, name: "create the file tables", apply: create_tables },
    Migration { version: 8, name: "create the client portal tables", apply: create_tables },
    Migration { version: 9, name: "create the op log for off-site change shipping", apply: create_tables },
    Migration { version: 10, name: "count every kind's records for list totals", apply: count_records },
];

/// The schema version this build reads and writes.
pub(crate) fn current_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Creates every table (empty ones too).
pub(crate) fn create_tables(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    for table in ALL_BYTE_TABLES {
        txn.open_table(*table)?;
    }
    for table in ALL_TEXT_TABLES {
        txn.open_table(*table)?;
    }
    for table in ALL_SET_TABLES {
        txn.open_table(*table)?;
    }
    txn.open_table(super::oplog::OPLOG)?;
    txn.open_table(super::oplog::SHIPPING)?;
    Ok(())
}

/// Removes the keyed blind-index rows of phone numbers and tax ids from `record_index`: exact
/// lookups of those sealed fields now go through the search index, which holds the same terms.
fn drop_blind_index_rows(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    use crate::app::crm::index_terms::{PHONE, TAX_ID};
    // Key: workspace (16) ‖ kind ‖ index ‖ term ‖ record id.
    txn.open_table(RECORD_INDEX)?.retain(|key, ()| !matches!(key.get(17), Some(&PHONE | &TAX_ID)))?;
    Ok(())
}

/// Writes the index rows of every stored contact and task again: contacts gained `NAME_FORMS`
/// (name searches in either order) and tasks `NAME` (by title). Rows that exist are rewritten
/// as they are, so the step is safe to repeat.
fn index_names_anew(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    use crate::domain::crm::{Contact, Task};
    reindex::<Contact>(txn)?;
    reindex::<Task>(txn)
}

/// Inserts every index row of every stored record of kind `T`.
fn reindex<T: crate::app::store::crm::Entity>(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    use crate::app::store::crm::index_prefix;
    use crate::domain::ids::{RecordId, WorkspaceId};
    let records = txn.open_table(RECORDS)?;
    let mut index = txn.open_table(RECORD_INDEX)?;
    // Key: workspace (16) ‖ kind ‖ record id (16).
    for row in records.iter()? {
        let (key, value) = row?;
        let key = key.value();
        if key.len() != 33 || key[16] != T::KIND.byte() {
            continue;
        }
        let (Ok(workspace), Ok(id)) = (<[u8; 16]>::try_from(&key[..16]), <[u8; 16]>::try_from(&key[17..])) else {
            continue;
        };
        let (workspace, id) = (WorkspaceId::from_bytes(workspace), RecordId::from_bytes(id));
        // Index terms never come from sealed fields: nothing needs opening.
        let record: T = match super::sealed::decode_opening(None, &workspace, &id, value.value(), &[]) {
            Ok(record) => record,
            Err(error) => {
                tracing::warn!(%error, "a record could not be read while indexing; it is indexed when next saved");
                continue;
            }
        };
        for (which, term) in record.index_terms() {
            let row = [index_prefix(&workspace, T::KIND, which), term, id.as_bytes().to_vec()].concat();
            index.insert(row.as_slice(), ())?;
        }
    }
    Ok(())
}

/// Writes the record count of every workspace and kind ([`RECORD_COUNT`]) from the records
/// table, replacing any count there: the write path keeps them exact from then on.
fn count_records(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    use super::crm::{RECORD_COUNT, Tally};
    let mut counts: std::collections::BTreeMap<[u8; 17], i64> = std::collections::BTreeMap::new();
    // Key: workspace (16) ‖ kind ‖ record id (16); only keys are read.
    for row in txn.open_table(RECORDS)?.iter()? {
        let (key, _) = row?;
        if let Ok(workspace_kind) = <[u8; 17]>::try_from(key.value().get(..17).unwrap_or_default()) {
            *counts.entry(workspace_kind).or_default() += 1;
        }
    }
    let mut tallies = txn.open_table(super::tables::TALLIES)?;
    for (workspace_kind, count) in counts {
        let tally = Tally { count, sums: Vec::new() };
        let bytes = super::codec::encode(&tally).map_err(|e| redb::Error::Corrupted(e.to_string()))?;
        tallies.insert([&workspace_kind[..], RECORD_COUNT].concat().as_slice(), bytes.as_slice())?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("the store was written by a newer Holdfast (schema {found}, this build knows {known}); upgrade Holdfast")]
    TooNew { found: u32, known: u32 },
    #[error("migration {version} ({name}) failed: {source}")]
    Failed { version: u32, name: &'static str, source: redb::Error },
    #[error("cannot read the schema version: {0}")]
    Read(redb::Error),
}

/// The schema version stored, 0 for a new store.
pub(crate) fn stored_version(db: &Database) -> Result<u32, redb::Error> {
    let txn = db.begin_read()?;
    let meta = match txn.open_table(META) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    Ok(meta.get(SCHEMA_VERSION_KEY)?.and_then(|v| v.value().try_into().ok().map(u32::from_be_bytes)).unwrap_or(0))
}

/// Applies every migration newer than the stored version, all in one transaction.
pub(crate) fn run(db: &Database) -> Result<u32, MigrationError> {
    run_steps(db, MIGRATIONS)
}

fn run_steps(db: &Database, steps: &[Migration]) -> Result<u32, MigrationError> {
    let found = stored_version(db).map_err(MigrationError::Read)?;
    let known = steps.last().map_or(0, |m| m.version);
    if found > known {
        return Err(MigrationError::TooNew { found, known });
    }
    let pending: Vec<&Migration> = steps.iter().filter(|m| m.version > found).collect();
    let Some(last) = pending.last() else { return Ok(known) };
    let failed = |step: &Migration, source: redb::Error| MigrationError::Failed {
        version: step.version,
        name: step.name,
        source,
    };
    let txn = db.begin_write().map_err(|e| failed(last, e.into()))?;
    for step in &pending {
        // Dropping `txn` on an error aborts it: nothing of the earlier steps is kept.
        (step.apply)(&txn).map_err(|e| failed(step, e))?;
    }
    {
        let mut meta = txn.open_table(META).map_err(|e| failed(last, e.into()))?;
        meta.insert(SCHEMA_VERSION_KEY, &known.to_be_bytes()[..]).map_err(|e| failed(last, e.into()))?;
    }
    txn.commit().map_err(|e| failed(last, e.into()))?;
    tracing::info!(from = found, to = known, steps = pending.len(), "store migrated");
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_store_once_and_refuses_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("s.redb")).unwrap();
        assert_eq!(stored_version(&db).unwrap(), 0);
        assert_eq!(run(&db).unwrap(), current_version());
        assert_eq!(run(&db).unwrap(), current_version());
        assert_eq!(stored_version(&db).unwrap(), current_version());

        let txn = db.begin_write().unwrap();
        txn.open_table(META).unwrap().insert(SCHEMA_VERSION_KEY, &999u32.to_be_bytes()[..]).unwrap();
        txn.commit().unwrap();
        assert!(matches!(run(&db), Err(MigrationError::TooNew { found: 999, .. })));
    }

    /// A step that writes a marker row, and one that fails.
    fn marks(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
        txn.open_table(META)?.insert("marker", &b"half way"[..])?;
        Ok(())
    }

    fn fails(_: &redb::WriteTransaction) -> Result<(), redb::Error> {
        Err(redb::Error::Corrupted("a step that fails on purpose".into()))
    }

    #[test]
    fn an_upgrade_that_fails_half_way_leaves_the_store_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("s.redb")).unwrap();
        assert_eq!(run(&db).unwrap(), current_version());
        let next = current_version();
        let steps: Vec<Migration> = MIGRATIONS
            .iter()
            .map(|m| Migration { version: m.version, name: m.name, apply: m.apply })
            .chain([
                Migration { version: next + 1, name: "writes a marker", apply: marks },
                Migration { version: next + 2, name: "fails", apply: fails },
            ])
            .collect();
        let error = run_steps(&db, &steps).unwrap_err();
        assert!(matches!(error, MigrationError::Failed { version, .. } if version == next + 2), "{error}");
        assert_eq!(stored_version(&db).unwrap(), next, "the version is the old one");
        let txn = db.begin_read().unwrap();
        assert!(txn.open_table(META).unwrap().get("marker").unwrap().is_none(), "the first step's write is gone");
    }

    #[test]
    fn blind_index_rows_leave_the_record_index_and_nothing_else_does() {
        use crate::app::crm::index_terms::{NAME, PHONE, TAX_ID};
        use redb::ReadableTable;
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("s.redb")).unwrap();
        let row = |index: u8| [&[7u8; 16][..], &[1, index, 0xAA, 0], &[9u8; 16]].concat();
        let txn = db.begin_write().unwrap();
        create_tables(&txn).unwrap();
        {
            let mut table = txn.open_table(RECORD_INDEX).unwrap();
            for index in [NAME, PHONE, TAX_ID] {
                table.insert(row(index).as_slice(), ()).unwrap();
            }
        }
        drop_blind_index_rows(&txn).unwrap();
        let table = txn.open_table(RECORD_INDEX).unwrap();
        let left: Vec<Vec<u8>> = table.iter().unwrap().map(|r| r.unwrap().0.value().to_vec()).collect();
        assert_eq!(left, [row(NAME)]);
    }

    #[test]
    fn record_counts_are_written_once_per_workspace_and_kind_from_the_records() {
        use super::super::codec::decode;
        use super::super::crm::{RECORD_COUNT, Tally};
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("s.redb")).unwrap();
        let record = |workspace: u8, kind: u8, id: u8| [&[workspace; 16][..], &[kind], &[id; 16]].concat();
        let txn = db.begin_write().unwrap();
        create_tables(&txn).unwrap();
        {
            let mut records = txn.open_table(RECORDS).unwrap();
            for key in [record(1, 2, 1), record(1, 2, 2), record(1, 1, 3), record(2, 2, 4)] {
                records.insert(key.as_slice(), &b"{}"[..]).unwrap();
            }
        }
        count_records(&txn).unwrap();
        let tallies = txn.open_table(super::super::tables::TALLIES).unwrap();
        let count = |workspace: u8, kind: u8| {
            let key = [&[workspace; 16][..], &[kind], RECORD_COUNT].concat();
            tallies.get(key.as_slice()).unwrap().map(|v| decode::<Tally>(v.value()).unwrap().count)
        };
        assert_eq!((count(1, 2), count(1, 1), count(2, 2), count(2, 1)), (Some(2), Some(1), Some(1), None));
    }
}
