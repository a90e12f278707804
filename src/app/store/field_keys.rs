//! The stored keyring and key rotation. Data keys live wrapped in `DATA_KEYS`; a rotation adds
//! a key (which becomes current at once), then re-seals every sealed value in batches, each
//! batch one write transaction that also moves the persisted cursor, so a crash loses at most
//! the batch in flight and the next run continues. The last batch deletes the retired keys.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use redb::{Database, ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::codec::{self, Versioned};
use super::crm::{self, Entity};
use super::idempotency::IdempotentAnswer;
use super::imports::ImportItem;
use super::oplog::Logged;
use super::scoped::{ServerTx, ServerWrite, Txn};
use super::tables::{DATA_KEYS, FILES, IDEMPOTENCY, IMPORT_ITEMS, PORTAL, RECORDS, SETTINGS};
use super::{sealed, storage};
use crate::app::keyring::Keyring;
use crate::domain::crm::{Company, Contact};
use crate::domain::ids::{RecordId, WorkspaceId};
use crate::error::{AppError, ErrorCode};

/// Where the state of an unfinished rotation is kept (in the global settings table).
const ROTATION: &str = "field_keys.rotation";

/// One stored data key.
#[derive(Serialize, Deserialize)]
struct DataKeyRecord {
    id: u32,
    created_at: i64,
    /// base64 of nonce ‖ wrapped key ‖ tag.
    wrapped: String,
}

impl Versioned for DataKeyRecord {
    const VERSION: u16 = 1;
}

/// An unfinished rotation: the key values are moving to, the keys retired at the end, and
/// how far the pass has come (table number and last key done).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RotationState {
    pub target: u32,
    pub retiring: Vec<u32>,
    pub started_at: i64,
    /// 0 records, 1 import snapshots, 2 idempotent answers, 3 done.
    pub table: u8,
    pub cursor: Option<Vec<u8>>,
    /// Rows re-sealed so far (a contact row holds up to four sealed values).
    pub resealed: u64,
    /// Rows looked at so far.
    pub scanned: u64,
}

impl Versioned for RotationState {
    const VERSION: u16 = 1;
}

/// What one rotation step did.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    pub state: RotationState,
    /// Key ids deleted by this step (the rotation is complete).
    pub retired: Option<Vec<u32>>,
}

fn stored_keys(table: &impl ReadableTable<&'static [u8], &'static [u8]>) -> Result<Vec<DataKeyRecord>, AppError> {
    let mut keys = Vec::new();
    for row in table.iter().map_err(storage)? {
        let (_, value) = row.map_err(storage)?;
        keys.push(codec::decode::<DataKeyRecord>(value.value())?);
    }
    Ok(keys)
}

fn add_key(
    table: &mut super::oplog::LoggedTable<&'static [u8], &'static [u8]>,
    keyring: &Keyring,
    id: u32,
    now: i64,
) -> Result<(), AppError> {
    let wrapped = keyring.generate_wrapped(id)?;
    let record = DataKeyRecord { id, created_at: now, wrapped: STANDARD.encode(&wrapped) };
    table.insert(&id.to_be_bytes()[..], codec::encode(&record)?.as_slice()).map_err(storage)?;
    keyring.install(id, &wrapped, false)
}

/// Loads every stored data key into `keyring` (creating the first on a new store); the
/// highest id is current. A key that does not unwrap means another master key: refused.
pub(crate) fn load(db: &Database, keyring: &Keyring, now: i64) -> Result<(), AppError> {
    let txn = db.begin_write().map_err(storage)?;
    let mut table = txn.logged(DATA_KEYS).map_err(storage)?;
    if table.is_empty().map_err(storage)? {
        add_key(&mut table, keyring, 1, now)?;
    }
    let keys = stored_keys(&table)?;
    let current = keys.iter().map(|k| k.id).max().unwrap_or(0);
    for key in &keys {
        let wrapped = STANDARD.decode(&key.wrapped).map_err(|_| AppError::new(ErrorCode::StorageUnavailable))?;
        keyring.install(key.id, &wrapped, key.id == current)?;
    }
    drop(table);
    txn.commit().map_err(storage)
}

/// The unfinished rotation, if any.
fn rotation(settings: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Option<RotationState>, AppError> {
    match settings.get(ROTATION).map_err(storage)? {
        Some(value) => codec::decode(value.value()).map(Some),
        None => Ok(None),
    }
}

fn save_rotation(txn: &WriteTransaction, state: &RotationState) -> Result<(), AppError> {
    let bytes = codec::encode(state)?;
    txn.logged(SETTINGS).map_err(storage)?.insert(ROTATION, bytes.as_slice()).map_err(storage)?;
    Ok(())
}

/// Starts a rotation: a new data key (installed, not yet current: make it current once this
/// transaction is durable). An unfinished rotation is returned as it is, with `false`.
fn begin(txn: &WriteTransaction, keyring: &Keyring, now: i64) -> Result<(RotationState, bool), AppError> {
    if let Some(state) = rotation(&txn.logged(SETTINGS).map_err(storage)?)? {
        return Ok((state, false));
    }
    let mut table = txn.logged(DATA_KEYS).map_err(storage)?;
    let retiring: Vec<u32> = stored_keys(&table)?.iter().map(|k| k.id).collect();
    let target = retiring.iter().max().copied().unwrap_or(0).checked_add(1).ok_or(ErrorCode::Internal)?;
    add_key(&mut table, keyring, target, now)?;
    let state = RotationState { target, retiring, started_at: now, table: 0, cursor: None, resealed: 0, scanned: 0 };
    save_rotation(txn, &state)?;
    Ok((state, true))
}

/// A row's key and value, copied out of the table.
type Row = (Vec<u8>, Vec<u8>);

/// The rows of `table` after `cursor`, at most `limit`.
fn next_rows(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    cursor: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<Row>, AppError> {
    let range = match cursor {
        Some(after) => table.range::<&[u8]>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
        None => table.range::<&[u8]>(..),
    };
    let mut rows = Vec::new();
    for row in range.map_err(storage)?.take(limit) {
        let (key, value) = row.map_err(storage)?;
        rows.push((key.value().to_vec(), value.value().to_vec()));
    }
    Ok(rows)
}

fn ids_of(key: &[u8]) -> Option<(WorkspaceId, u8, RecordId)> {
    let workspace = WorkspaceId::from_bytes(key.get(..16)?.try_into().ok()?);
    let id = RecordId::from_bytes(key.get(17..33)?.try_into().ok()?);
    Some((workspace, *key.get(16)?, id))
}

fn reseal_record<T: Entity>(
    keyring: &Keyring,
    records: &mut super::oplog::LoggedTable<&'static [u8], &'static [u8]>,
    key: &[u8],
    value: &[u8],
    target: u32,
) -> Result<bool, AppError> {
    if !sealed::needs_reseal::<T>(value, target)? {
        return Ok(false);
    }
    let (workspace, _, id) = ids_of(key).ok_or(ErrorCode::StorageUnavailable)?;
    let record: T = sealed::decode(keyring, &workspace, &id, value)?;
    crm::rewrite(records, keyring, &workspace, &record)?;
    Ok(true)
}

/// Re-seals one row of the current table; whether it was rewritten.
fn reseal_row(
    txn: &WriteTransaction,
    keyring: &Keyring,
    table: u8,
    key: &[u8],
    value: &[u8],
    target: u32,
) -> Result<bool, AppError> {
    match table {
        0 => {
            let mut records = txn.logged(RECORDS).map_err(storage)?;
            match key.get(16) {
                Some(&k) if k == crate::domain::crm::Kind::Contact.byte() => {
                    reseal_record::<Contact>(keyring, &mut records, key, value, target)
                }
                Some(&k) if k == crate::domain::crm::Kind::Company.byte() => {
                    reseal_record::<Company>(keyring, &mut records, key, value, target)
                }
                _ => Ok(false),
            }
        }
        1 => {
            let mut item: ImportItem = codec::decode(value)?;
            let Some(stored) = item.before.as_deref().filter(|s| sealed::text_needs_reseal(s, target)) else {
                return Ok(false);
            };
            let plain = sealed::open_text(keyring, key, sealed::SNAPSHOT_IMPORT_ITEM, stored)?;
            item.before = Some(sealed::seal_text(keyring, key, sealed::SNAPSHOT_IMPORT_ITEM, &plain)?);
            let bytes = codec::encode(&item)?;
            txn.logged(IMPORT_ITEMS).map_err(storage)?.insert(key, bytes.as_slice()).map_err(storage)?;
            Ok(true)
        }
        3 => super::files::reseal_file_key(txn, keyring, key, value, target),
        4 => super::portal::reseal_portal_row(txn, keyring, key, value, target),
        _ => {
            let mut answer: IdempotentAnswer = codec::decode(value)?;
            if !sealed::text_needs_reseal(&answer.body, target) {
                return Ok(false);
            }
            let plain = sealed::open_text(keyring, key, sealed::SNAPSHOT_IDEMPOTENT_ANSWER, &answer.body)?;
            answer.body = sealed::seal_text(keyring, key, sealed::SNAPSHOT_IDEMPOTENT_ANSWER, &plain)?;
            let bytes = codec::encode(&answer)?;
            txn.logged(IDEMPOTENCY).map_err(storage)?.insert(key, bytes.as_slice()).map_err(storage)?;
            Ok(true)
        }
    }
}

/// The tables a rotation walks, in order (a rotation's `table` counts through them); file
/// keys are re-wrapped, their contents stay as they are.
const RESEALED: [redb::TableDefinition<'static, &'static [u8], &'static [u8]>; 5] =
    [RECORDS, IMPORT_ITEMS, IDEMPOTENCY, FILES, PORTAL];

/// Re-seals up to `limit` rows after the cursor and saves the new cursor; after the last row
/// of the last table it deletes the retired keys and the rotation state. `None`: no rotation.
fn step(txn: &WriteTransaction, keyring: &Keyring, limit: usize) -> Result<Option<StepOutcome>, AppError> {
    let Some(mut state) = rotation(&txn.logged(SETTINGS).map_err(storage)?)? else { return Ok(None) };
    let current = keyring.current_id();
    if current != state.target {
        return Err(AppError::internal(ErrorCode::Internal, "the rotation's key is not current"));
    }
    let mut budget = limit.max(1);
    while usize::from(state.table) < RESEALED.len() && budget > 0 {
        let definition = RESEALED[usize::from(state.table)];
        let rows = next_rows(&txn.logged(definition).map_err(storage)?, state.cursor.as_deref(), budget)?;
        for (key, value) in &rows {
            state.resealed += u64::from(reseal_row(txn, keyring, state.table, key, value, state.target)?);
        }
        state.scanned += rows.len() as u64;
        budget -= rows.len();
        match rows.last() {
            Some((key, _)) if budget == 0 => state.cursor = Some(key.clone()),
            _ => (state.table, state.cursor) = (state.table + 1, None),
        }
    }
    if usize::from(state.table) < RESEALED.len() {
        save_rotation(txn, &state)?;
        return Ok(Some(StepOutcome { state, retired: None }));
    }
    let mut keys = txn.logged(DATA_KEYS).map_err(storage)?;
    let retiring: Vec<u32> = state.retiring.iter().copied().filter(|id| *id != state.target).collect();
    for id in &retiring {
        keys.remove(&id.to_be_bytes()[..]).map_err(storage)?;
    }
    txn.logged(SETTINGS).map_err(storage)?.remove(ROTATION).map_err(storage)?;
    Ok(Some(StepOutcome { state, retired: Some(retiring) }))
}

impl<Tx: Txn> ServerTx<'_, Tx> {
    /// The unfinished key rotation, if any.
    pub(crate) fn key_rotation(&self) -> Result<Option<RotationState>, AppError> {
        rotation(&self.txn.text(SETTINGS)?)
    }

    /// Rows of the tables a rotation walks (for its progress bar).
    pub(crate) fn rows_to_reseal(&self) -> Result<u64, AppError> {
        let mut total = 0;
        for definition in RESEALED {
            total += self.txn.bytes(definition)?.len().map_err(storage)?;
        }
        Ok(total)
    }

    /// Stored key ids (for checks and the settings page).
    pub(crate) fn data_key_ids(&self) -> Result<Vec<u32>, AppError> {
        Ok(stored_keys(&self.txn.bytes(DATA_KEYS)?)?.iter().map(|k| k.id).collect())
    }
}

impl ServerWrite<'_> {
    /// Starts a rotation (see [`begin`]).
    pub(crate) fn begin_key_rotation(&self, now: i64) -> Result<(RotationState, bool), AppError> {
        begin(self.txn, self.keyring, now)
    }

    /// Re-seals up to `limit` rows of the rotation under way (see [`step`]).
    pub(crate) fn key_rotation_step(&self, limit: usize) -> Result<Option<StepOutcome>, AppError> {
        step(self.txn, self.keyring, limit)
    }
}
