//! Import state: uploaded files waiting for their commit (sealed, one hour), committed imports
//! and the records each one created or changed. Every key starts with the workspace id.

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::access::{get, put};
use super::codec::Versioned;
use super::keys::{prefix_end, tenant_key};
use super::tables::{IMPORT_ITEMS, IMPORT_UPLOADS, IMPORTS};
use super::{sealed, storage};
use crate::domain::crm::Kind;
use crate::domain::ids::{RecordId, UserId, WorkspaceId};
use crate::error::AppError;

/// An uploaded file: when, by whom, for which kind, and the file sealed.
pub(crate) struct Upload {
    pub at: i64,
    pub by: UserId,
    pub kind: Kind,
    pub sealed: Vec<u8>,
}

fn upload_key(workspace: &WorkspaceId, id: &RecordId) -> Vec<u8> {
    tenant_key(workspace, &[id.as_bytes()])
}

pub(crate) fn save_upload(
    txn: &WriteTransaction,
    workspace: &WorkspaceId,
    id: &RecordId,
    upload: &Upload,
) -> Result<(), AppError> {
    let mut value = Vec::with_capacity(25 + upload.sealed.len());
    value.extend_from_slice(&upload.at.to_be_bytes());
    value.extend_from_slice(upload.by.as_bytes());
    value.push(upload.kind.byte());
    value.extend_from_slice(&upload.sealed);
    let mut table = txn.open_table(IMPORT_UPLOADS).map_err(storage)?;
    table.insert(upload_key(workspace, id).as_slice(), value.as_slice()).map_err(storage)?;
    Ok(())
}

pub(crate) fn load_upload(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    id: &RecordId,
) -> Result<Option<Upload>, AppError> {
    let Some(value) = table.get(upload_key(workspace, id).as_slice()).map_err(storage)? else { return Ok(None) };
    let bytes = value.value();
    if bytes.len() < 25 {
        return Ok(None);
    }
    let at = i64::from_be_bytes(bytes[..8].try_into().unwrap_or_default());
    let by = UserId::from_bytes(bytes[8..24].try_into().unwrap_or_default());
    let Some(kind) = Kind::ALL.into_iter().find(|k| k.byte() == bytes[24]) else { return Ok(None) };
    Ok(Some(Upload { at, by, kind, sealed: bytes[25..].to_vec() }))
}

pub(crate) fn delete_upload(txn: &WriteTransaction, workspace: &WorkspaceId, id: &RecordId) -> Result<(), AppError> {
    txn.open_table(IMPORT_UPLOADS).map_err(storage)?.remove(upload_key(workspace, id).as_slice()).map_err(storage)?;
    Ok(())
}

/// Removes this workspace's uploads made before `before`.
pub(crate) fn expire_uploads(txn: &WriteTransaction, workspace: &WorkspaceId, before: i64) -> Result<(), AppError> {
    let prefix = tenant_key(workspace, &[]);
    let mut table = txn.open_table(IMPORT_UPLOADS).map_err(storage)?;
    table
        .retain_in(prefix.as_slice()..prefix_end(&prefix).as_slice(), |_, value| {
            value.get(..8).and_then(|b| b.try_into().ok()).map(i64::from_be_bytes).is_some_and(|at| at >= before)
        })
        .map_err(storage)?;
    Ok(())
}

/// A row the import refused: its line in the file, the field and the error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub row: u32,
    pub field: String,
    pub code: String,
}

impl Rejection {
    /// What the code means, for people reading the rejected rows.
    pub fn message(&self) -> &'static str {
        crate::error::ErrorCode::parse(&self.code).map_or("Invalid value.", |c| c.message())
    }
}

/// How a revert went: records deleted and restored, and the rows left alone because they
/// changed after the import.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RevertSummary {
    pub at: i64,
    pub by: Option<UserId>,
    pub deleted: u32,
    pub restored: u32,
    pub skipped: Vec<u32>,
}

/// A committed (or partly committed) import.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportRecord {
    pub id: RecordId,
    pub kind: Kind,
    pub by: UserId,
    pub at: i64,
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub rejected: Vec<Rejection>,
    /// The upload it was committed from (its dry-run links lead here afterwards).
    #[serde(default)]
    pub upload: Option<RecordId>,
    /// Companies created because contact rows named them (counted apart from `created`).
    #[serde(default)]
    pub companies_created: u32,
    /// All batches written.
    pub complete: bool,
    /// Items written so far (the next item's sequence number).
    pub items: u32,
    pub reverted: Option<RevertSummary>,
}

impl Versioned for ImportRecord {
    const VERSION: u16 = 1;
}

/// A record the import created (`before` empty) or changed (`before`: its previous version as
/// JSON), with a hash of the version the import wrote (to notice later changes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportItem {
    pub row: u32,
    pub kind: Kind,
    pub id: RecordId,
    pub before: Option<String>,
    pub after_hash: String,
}

impl Versioned for ImportItem {
    const VERSION: u16 = 1;
}

fn import_key(workspace: &WorkspaceId, id: &RecordId) -> Vec<u8> {
    tenant_key(workspace, &[id.as_bytes()])
}

pub(crate) fn load_import(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    id: &RecordId,
) -> Result<Option<ImportRecord>, AppError> {
    get(table, &import_key(workspace, id))
}

pub(crate) fn save_import(
    txn: &WriteTransaction,
    workspace: &WorkspaceId,
    import: &ImportRecord,
) -> Result<(), AppError> {
    put(&mut txn.open_table(IMPORTS).map_err(storage)?, &import_key(workspace, &import.id), import)
}

/// This workspace's imports, newest first (at most `limit`, of the first 10,000 stored).
pub(crate) fn recent_imports(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    limit: usize,
) -> Result<Vec<ImportRecord>, AppError> {
    let prefix = tenant_key(workspace, &[]);
    let mut found = Vec::new();
    for row in table.range::<&[u8]>(prefix.as_slice()..prefix_end(&prefix).as_slice()).map_err(storage)?.take(10_000) {
        let (_, value) = row.map_err(storage)?;
        found.push(super::codec::decode::<ImportRecord>(value.value())?);
    }
    found.sort_by_key(|i| std::cmp::Reverse(i.at));
    found.truncate(limit);
    Ok(found)
}

pub(crate) fn save_item(
    txn: &WriteTransaction,
    workspace: &WorkspaceId,
    import: &RecordId,
    seq: u32,
    item: &ImportItem,
) -> Result<(), AppError> {
    let key = tenant_key(workspace, &[import.as_bytes(), &seq.to_be_bytes()]);
    let before = match &item.before {
        Some(json) => Some(sealed::seal_text(&key, sealed::SNAPSHOT_IMPORT_ITEM, json)?),
        None => None,
    };
    put(&mut txn.open_table(IMPORT_ITEMS).map_err(storage)?, &key, &ImportItem { before, ..item.clone() })
}

/// Items `from..from+count` of an import, in order.
pub(crate) fn items(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    import: &RecordId,
    from: u32,
    count: usize,
) -> Result<Vec<ImportItem>, AppError> {
    let start = tenant_key(workspace, &[import.as_bytes(), &from.to_be_bytes()]);
    let end = prefix_end(&tenant_key(workspace, &[import.as_bytes()]));
    let mut found = Vec::new();
    for row in table.range::<&[u8]>(start.as_slice()..end.as_slice()).map_err(storage)?.take(count) {
        let (key, value) = row.map_err(storage)?;
        let mut item = super::codec::decode::<ImportItem>(value.value())?;
        if let Some(stored) = &item.before {
            item.before = Some(sealed::open_text(key.value(), sealed::SNAPSHOT_IMPORT_ITEM, stored)?);
        }
        found.push(item);
    }
    Ok(found)
}

/// Every import item of a workspace with its key (snapshots opened), for privacy erasure.
pub(crate) fn items_of_workspace(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
) -> Result<Vec<(Vec<u8>, ImportItem)>, AppError> {
    let prefix = tenant_key(workspace, &[]);
    let mut found = Vec::new();
    for row in table.range::<&[u8]>(prefix.as_slice()..prefix_end(&prefix).as_slice()).map_err(storage)? {
        let (key, value) = row.map_err(storage)?;
        let mut item = super::codec::decode::<ImportItem>(value.value())?;
        if let Some(stored) = &item.before {
            item.before = Some(sealed::open_text(key.value(), sealed::SNAPSHOT_IMPORT_ITEM, stored)?);
        }
        found.push((key.value().to_vec(), item));
    }
    Ok(found)
}
