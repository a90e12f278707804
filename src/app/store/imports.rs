//! Import state: uploaded files waiting for their commit (sealed, one hour), committed imports
//! and the records each one created or changed. Every key starts with the workspace id.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::access::{get, put};
use super::codec::Versioned;
use super::key_layout::{prefix_end, tenant_key};
use super::oplog::Logged;
use super::scoped::{Txn, WorkspaceTx, WorkspaceWrite};
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

fn decode_upload(bytes: &[u8]) -> Option<Upload> {
    if bytes.len() < 25 {
        return None;
    }
    let at = i64::from_be_bytes(bytes[..8].try_into().ok()?);
    let by = UserId::from_bytes(bytes[8..24].try_into().ok()?);
    let kind = Kind::ALL.into_iter().find(|k| k.byte() == bytes[24])?;
    Some(Upload { at, by, kind, sealed: bytes[25..].to_vec() })
}

impl<Tx: Txn> WorkspaceTx<'_, Tx> {
    /// An uploaded file waiting for its commit.
    pub(crate) fn upload(&self, id: &RecordId) -> Result<Option<Upload>, AppError> {
        let table = self.txn.bytes(IMPORT_UPLOADS)?;
        let value = table.get(upload_key(&self.workspace, id).as_slice()).map_err(storage)?;
        Ok(value.and_then(|v| decode_upload(v.value())))
    }

    /// One committed import.
    pub(crate) fn import(&self, id: &RecordId) -> Result<Option<ImportRecord>, AppError> {
        get(&self.txn.bytes(IMPORTS)?, &import_key(&self.workspace, id))
    }

    /// This workspace's imports, newest first (at most `limit`, of the first 10,000 stored).
    pub(crate) fn recent_imports(&self, limit: usize) -> Result<Vec<ImportRecord>, AppError> {
        let table = self.txn.bytes(IMPORTS)?;
        let prefix = tenant_key(&self.workspace, &[]);
        let mut found = Vec::new();
        for row in
            table.range::<&[u8]>(prefix.as_slice()..prefix_end(&prefix).as_slice()).map_err(storage)?.take(10_000)
        {
            let (_, value) = row.map_err(storage)?;
            found.push(super::codec::decode::<ImportRecord>(value.value())?);
        }
        found.sort_by_key(|i| std::cmp::Reverse(i.at));
        found.truncate(limit);
        Ok(found)
    }

    /// Items `from..from+count` of an import, in order (snapshots opened).
    pub(crate) fn import_items(&self, import: &RecordId, from: u32, count: usize) -> Result<Vec<ImportItem>, AppError> {
        let start = tenant_key(&self.workspace, &[import.as_bytes(), &from.to_be_bytes()]);
        let end = prefix_end(&tenant_key(&self.workspace, &[import.as_bytes()]));
        Ok(self.items_between(&start, &end, count)?.into_iter().map(|(_, item)| item).collect())
    }

    /// Up to `count` items with keys in `start..end`, with their keys, snapshots opened.
    fn items_between(&self, start: &[u8], end: &[u8], count: usize) -> Result<Vec<(Vec<u8>, ImportItem)>, AppError> {
        let table = self.txn.bytes(IMPORT_ITEMS)?;
        let mut found = Vec::new();
        for row in table.range::<&[u8]>(start..end).map_err(storage)?.take(count) {
            let (key, value) = row.map_err(storage)?;
            let mut item = super::codec::decode::<ImportItem>(value.value())?;
            if let Some(stored) = &item.before {
                item.before = Some(sealed::open_text(self.keyring, key.value(), sealed::SNAPSHOT_IMPORT_ITEM, stored)?);
            }
            found.push((key.value().to_vec(), item));
        }
        Ok(found)
    }
}

impl WorkspaceWrite<'_> {
    /// Keeps an uploaded file until its commit.
    pub(crate) fn save_upload(&self, id: &RecordId, upload: &Upload) -> Result<(), AppError> {
        let mut value = Vec::with_capacity(25 + upload.sealed.len());
        value.extend_from_slice(&upload.at.to_be_bytes());
        value.extend_from_slice(upload.by.as_bytes());
        value.push(upload.kind.byte());
        value.extend_from_slice(&upload.sealed);
        let mut table = self.txn.logged(IMPORT_UPLOADS).map_err(storage)?;
        table.insert(upload_key(&self.workspace, id).as_slice(), value.as_slice()).map_err(storage)?;
        Ok(())
    }

    pub(crate) fn delete_upload(&self, id: &RecordId) -> Result<(), AppError> {
        let key = upload_key(&self.workspace, id);
        self.txn.logged(IMPORT_UPLOADS).map_err(storage)?.remove(key.as_slice()).map_err(storage)?;
        Ok(())
    }

    /// Removes this workspace's uploads made before `before`.
    pub(crate) fn expire_uploads(&self, before: i64) -> Result<(), AppError> {
        let prefix = tenant_key(&self.workspace, &[]);
        let mut table = self.txn.logged(IMPORT_UPLOADS).map_err(storage)?;
        table
            .retain_in(prefix.as_slice()..prefix_end(&prefix).as_slice(), |_, value| {
                value.get(..8).and_then(|b| b.try_into().ok()).map(i64::from_be_bytes).is_some_and(|at| at >= before)
            })
            .map_err(storage)?;
        Ok(())
    }

    pub(crate) fn save_import(&self, import: &ImportRecord) -> Result<(), AppError> {
        put(&mut self.txn.logged(IMPORTS).map_err(storage)?, &import_key(&self.workspace, &import.id), import)
    }

    /// Keeps item `seq` of an import (its snapshot sealed).
    pub(crate) fn save_import_item(&self, import: &RecordId, seq: u32, item: &ImportItem) -> Result<(), AppError> {
        let key = tenant_key(&self.workspace, &[import.as_bytes(), &seq.to_be_bytes()]);
        let before = match &item.before {
            Some(json) => Some(sealed::seal_text(self.keyring, &key, sealed::SNAPSHOT_IMPORT_ITEM, json)?),
            None => None,
        };
        put(&mut self.txn.logged(IMPORT_ITEMS).map_err(storage)?, &key, &ImportItem { before, ..item.clone() })
    }

    /// Drops this workspace's import items that `holds` (for privacy erasure).
    pub(crate) fn forget_import_items(&self, holds: impl Fn(&ImportItem) -> bool) -> Result<(), AppError> {
        let prefix = tenant_key(&self.workspace, &[]);
        let doomed: Vec<Vec<u8>> = self
            .items_between(&prefix, &prefix_end(&prefix), usize::MAX)?
            .into_iter()
            .filter(|(_, item)| holds(item))
            .map(|(key, _)| key)
            .collect();
        let mut table = self.txn.logged(IMPORT_ITEMS).map_err(storage)?;
        for key in doomed {
            table.remove(key.as_slice()).map_err(storage)?;
        }
        Ok(())
    }
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
