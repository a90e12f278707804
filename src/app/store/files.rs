//! Stored files: one row per file (what it is, its blob's name in `files/` and its data key,
//! sealed under the keyring and bound to the row) and an index of the files of each record.
//! The bytes themselves live in the blob, sealed with that key (see `app::files::blob`).

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::access::{get, put};
use super::codec::{self, Versioned};
use super::key_layout::{prefix_end, tenant_key};
use super::oplog::Logged;
use super::scoped::{ServerTx, ServerWrite, Txn, WorkspaceTx, WorkspaceWrite};
use super::tables::{FILE_USAGE, FILES, RECORD_FILES};
use super::{sealed, storage};
use crate::app::keyring::Keyring;
use crate::domain::crm::Kind;
use crate::domain::ids::{RecordId, UserId, WorkspaceId};
use crate::error::{AppError, ErrorCode};

/// Whether a stored file was checked by the virus scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanState {
    Clean,
    NotScanned,
}

impl ScanState {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanState::Clean => "clean",
            ScanState::NotScanned => "not_scanned",
        }
    }
}

/// A file attached to a record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileRow {
    pub id: RecordId,
    /// The record it is attached to.
    pub kind: Kind,
    pub record: RecordId,
    /// The name it was uploaded under (cleaned: no path, no control characters).
    pub name: String,
    /// The type its content was recognised as (never the one the client declared).
    pub content_type: String,
    pub size: u64,
    pub scan: ScanState,
    pub uploaded_by: UserId,
    pub created_at: i64,
    /// The blob's random name in `files/`.
    pub blob: String,
}

impl Versioned for FileRow {
    const VERSION: u16 = 1;
}

/// What is stored: the row and the file's data key, sealed (`s1:` text) under the keyring at
/// the row's key, so the key opens only for this row.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    row: FileRow,
    key: String,
}

impl Versioned for Stored {
    const VERSION: u16 = 1;
}

/// Kind byte of a sealed file key (record kinds use 1–5, snapshots 0xf1–0xf2).
const FILE_KEY: u8 = 0xf3;

fn file_key(workspace: &WorkspaceId, id: &RecordId) -> Vec<u8> {
    tenant_key(workspace, &[id.as_bytes()])
}

fn record_prefix(workspace: &WorkspaceId, kind: Kind, record: &RecordId) -> Vec<u8> {
    tenant_key(workspace, &[&[kind.byte()], record.as_bytes()])
}

fn open(keyring: &Keyring, key: &[u8], stored: Stored) -> Result<(FileRow, Vec<u8>), AppError> {
    let text = sealed::open_text(keyring, key, FILE_KEY, &stored.key)?;
    let bytes = hex::decode(text).map_err(|_| AppError::internal(ErrorCode::StorageUnavailable, "file key"))?;
    Ok((stored.row, bytes))
}

/// The rows of the files attached to one record, in id order.
fn rows_of(
    index: &impl ReadableTable<&'static [u8], ()>,
    files: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    kind: Kind,
    record: &RecordId,
) -> Result<Vec<FileRow>, AppError> {
    let prefix = record_prefix(workspace, kind, record);
    let mut found = Vec::new();
    for row in index.range(prefix.as_slice()..prefix_end(&prefix).as_slice()).map_err(storage)? {
        let (key, _) = row.map_err(storage)?;
        let Some(id) = key.value().get(prefix.len()..).and_then(|b| <[u8; 16]>::try_from(b).ok()) else { continue };
        found.extend(get::<Stored>(files, &file_key(workspace, &RecordId::from_bytes(id)))?.map(|s| s.row));
    }
    Ok(found)
}

/// The names of records' files, for their search documents: the two tables opened once for a
/// run of records of any workspace.
pub(crate) struct FileNames {
    index: redb::ReadOnlyTable<&'static [u8], ()>,
    files: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl FileNames {
    /// The names of the files attached to one record.
    pub(crate) fn of(&self, workspace: &WorkspaceId, kind: Kind, record: &RecordId) -> Result<Vec<String>, AppError> {
        Ok(rows_of(&self.index, &self.files, workspace, kind, record)?.into_iter().map(|row| row.name).collect())
    }
}

impl<Tx: Txn> WorkspaceTx<'_, Tx> {
    /// One file of this workspace.
    pub(crate) fn file(&self, id: &RecordId) -> Result<Option<FileRow>, AppError> {
        let stored: Option<Stored> = get(&self.txn.bytes(FILES)?, &file_key(&self.workspace, id))?;
        Ok(stored.map(|s| s.row))
    }

    /// One file of this workspace with its data key, opened.
    pub(crate) fn file_with_key(&self, id: &RecordId) -> Result<Option<(FileRow, Vec<u8>)>, AppError> {
        let key = file_key(&self.workspace, id);
        match get::<Stored>(&self.txn.bytes(FILES)?, &key)? {
            Some(stored) => open(self.keyring, &key, stored).map(Some),
            None => Ok(None),
        }
    }

    /// The files attached to one record, oldest first.
    pub(crate) fn files_of(&self, kind: Kind, record: &RecordId) -> Result<Vec<FileRow>, AppError> {
        let (index, files) = (self.txn.set(RECORD_FILES)?, self.txn.bytes(FILES)?);
        let mut found = rows_of(&index, &files, &self.workspace, kind, record)?;
        found.sort_by_key(|f| f.created_at);
        Ok(found)
    }

    /// Bytes stored by this workspace's files (its quota's use).
    pub(crate) fn files_size(&self) -> Result<u64, AppError> {
        let usage = self.txn.bytes(FILE_USAGE)?;
        let stored = usage.get(self.workspace.as_bytes().as_slice()).map_err(storage)?;
        Ok(stored.and_then(|v| <[u8; 8]>::try_from(v.value()).ok()).map_or(0, u64::from_be_bytes))
    }
}

impl WorkspaceWrite<'_> {
    /// Stores a file's row and its data key (sealed).
    pub(crate) fn insert_file(&self, row: &FileRow, data_key: &[u8]) -> Result<(), AppError> {
        let key = file_key(&self.workspace, &row.id);
        let sealed_key = sealed::seal_text(self.keyring, &key, FILE_KEY, &hex::encode(data_key))?;
        put(&mut self.txn.logged(FILES).map_err(storage)?, &key, &Stored { row: row.clone(), key: sealed_key })?;
        let index = [record_prefix(&self.workspace, row.kind, &row.record), row.id.as_bytes().to_vec()].concat();
        self.txn.logged(RECORD_FILES).map_err(storage)?.insert(index.as_slice(), ()).map_err(storage)?;
        self.set_files_size(self.files_size()?.saturating_add(row.size))?;
        // The record's search document carries its files' names.
        super::crm::push_outbox(self.txn, &self.workspace, row.kind, &row.record)
    }

    fn set_files_size(&self, bytes: u64) -> Result<(), AppError> {
        let mut usage = self.txn.logged(FILE_USAGE).map_err(storage)?;
        usage.insert(self.workspace.as_bytes().as_slice(), bytes.to_be_bytes().as_slice()).map_err(storage)?;
        Ok(())
    }

    /// Removes the rows of every file of a record (deleted with it); answers their blobs, to
    /// delete once this commits.
    pub(crate) fn delete_files_of(&self, kind: Kind, record: &RecordId) -> Result<Vec<String>, AppError> {
        let rows = self.files_of(kind, record)?;
        for row in &rows {
            self.delete_file(row)?;
        }
        Ok(rows.into_iter().map(|row| row.blob).collect())
    }

    /// Removes a file's row (its blob is deleted once this commits).
    pub(crate) fn delete_file(&self, row: &FileRow) -> Result<(), AppError> {
        self.txn
            .logged(FILES)
            .map_err(storage)?
            .remove(file_key(&self.workspace, &row.id).as_slice())
            .map_err(storage)?;
        let index = [record_prefix(&self.workspace, row.kind, &row.record), row.id.as_bytes().to_vec()].concat();
        self.txn.logged(RECORD_FILES).map_err(storage)?.remove(index.as_slice()).map_err(storage)?;
        self.set_files_size(self.files_size()?.saturating_sub(row.size))?;
        super::crm::push_outbox(self.txn, &self.workspace, row.kind, &row.record)
    }
}

impl ServerTx<'_, redb::ReadTransaction> {
    /// The names of records' files (for the search index).
    pub(crate) fn file_names(&self) -> Result<FileNames, AppError> {
        Ok(FileNames {
            index: self.txn.open_table(RECORD_FILES).map_err(storage)?,
            files: self.txn.open_table(FILES).map_err(storage)?,
        })
    }
}

impl<Tx: Txn> ServerTx<'_, Tx> {
    /// Up to `limit` files stored without a virus scan, after the row key `after` (a cursor:
    /// the first element of the last one answered), with their workspaces and data keys (for
    /// the background scan once a scanner is configured).
    #[allow(clippy::type_complexity)]
    pub(crate) fn unscanned_files(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, WorkspaceId, FileRow, Vec<u8>)>, AppError> {
        let files = self.txn.bytes(FILES)?;
        let rows = match after {
            Some(after) => files.range::<&[u8]>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => files.range::<&[u8]>(..),
        };
        let mut found = Vec::new();
        for row in rows.map_err(storage)? {
            let (key, value) = row.map_err(storage)?;
            let stored: Stored = codec::decode(value.value())?;
            if stored.row.scan != ScanState::NotScanned {
                continue;
            }
            let Some(workspace) = key.value().get(..16).and_then(|b| <[u8; 16]>::try_from(b).ok()) else { continue };
            let (row, data_key) = open(self.keyring, key.value(), stored)?;
            found.push((key.value().to_vec(), WorkspaceId::from_bytes(workspace), row, data_key));
            if found.len() == limit {
                break;
            }
        }
        Ok(found)
    }

    /// The blob names of every stored file (orphaned blobs are those not named here).
    pub(crate) fn file_blobs(&self) -> Result<Vec<String>, AppError> {
        let files = self.txn.bytes(FILES)?;
        let mut blobs = Vec::new();
        for row in files.iter().map_err(storage)? {
            let (_, value) = row.map_err(storage)?;
            blobs.push(codec::decode::<Stored>(value.value())?.row.blob);
        }
        Ok(blobs)
    }
}

impl ServerWrite<'_> {
    /// Records the scanner's verdict on a stored file: clean, or removed (infected; its blob is
    /// deleted once this commits). Answers the row as it was, if it is still there.
    pub(crate) fn settle_scan(
        &self,
        workspace: &WorkspaceId,
        id: &RecordId,
        clean: bool,
    ) -> Result<Option<FileRow>, AppError> {
        let scoped = WorkspaceTx { txn: self.txn, workspace: *workspace, keyring: self.keyring };
        let key = file_key(workspace, id);
        let Some(mut stored) = get::<Stored>(&self.txn.bytes(FILES)?, &key)? else { return Ok(None) };
        let row = stored.row.clone();
        if clean {
            stored.row.scan = ScanState::Clean;
            put(&mut self.txn.logged(FILES).map_err(storage)?, &key, &stored)?;
        } else {
            scoped.delete_file(&row)?;
        }
        Ok(Some(row))
    }
}

/// Re-seals a file key under the current data key (key rotation: contents stay as they are).
pub(super) fn reseal_file_key(
    txn: &WriteTransaction,
    keyring: &Keyring,
    key: &[u8],
    value: &[u8],
    target: u32,
) -> Result<bool, AppError> {
    let mut stored: Stored = codec::decode(value)?;
    if !sealed::text_needs_reseal(&stored.key, target) {
        return Ok(false);
    }
    let plain = sealed::open_text(keyring, key, FILE_KEY, &stored.key)?;
    stored.key = sealed::seal_text(keyring, key, FILE_KEY, &plain)?;
    put(&mut txn.logged(FILES).map_err(storage)?, key, &stored)?;
    Ok(true)
}
