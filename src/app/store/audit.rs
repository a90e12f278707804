//! The audit log: appended inside the same write transaction as the change it records, each
//! entry carrying the SHA-256 of the previous entry of its workspace (a hash chain).

use redb::{ReadableTable, WriteTransaction};

use sha2::{Digest, Sha256};

use super::access::{get, put};
use super::key_layout::tenant_key;
use super::oplog::Logged;
use super::rows::AuditRecord;
use super::scoped::{ServerTx, ServerWrite, Txn, WorkspaceTx, WorkspaceWrite};
use super::storage;
use super::tables::{AUDIT, AUDIT_HEADS};
use crate::domain::ids::WorkspaceId;
use crate::error::{AppError, ErrorCode};

/// The chain starts from this value.
pub(crate) const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an entry: SHA-256 over its canonical JSON with `hash` left empty.
pub(crate) fn entry_hash(entry: &AuditRecord) -> Result<String, AppError> {
    let mut unhashed = entry.clone();
    unhashed.hash = String::new();
    let canonical = serde_json::to_vec(&unhashed).map_err(|e| AppError::internal(ErrorCode::Internal, e))?;
    Ok(hex::encode(Sha256::digest(canonical)))
}

/// Appends `entry` (its `seq`, `prev_hash` and `hash` are filled in here).
fn append(txn: &WriteTransaction, workspace: &WorkspaceId, mut entry: AuditRecord) -> Result<(), AppError> {
    let mut heads = txn.logged(AUDIT_HEADS).map_err(storage)?;
    let (last_seq, last_hash) = match heads.get(workspace.as_bytes().as_slice()).map_err(storage)? {
        Some(head) => parse_head(head.value())?,
        None => (0, GENESIS_HASH.to_owned()),
    };
    entry.seq = last_seq + 1;
    entry.prev_hash = last_hash;
    entry.hash = entry_hash(&entry)?;
    let mut head = entry.seq.to_be_bytes().to_vec();
    head.extend_from_slice(entry.hash.as_bytes());
    heads.insert(workspace.as_bytes().as_slice(), head.as_slice()).map_err(storage)?;
    let mut audit = txn.logged(AUDIT).map_err(storage)?;
    put(&mut audit, &tenant_key(workspace, &[&entry.seq.to_be_bytes()]), &entry)
}

fn parse_head(bytes: &[u8]) -> Result<(u64, String), AppError> {
    let corrupt = || AppError::internal(ErrorCode::StorageUnavailable, "corrupt audit head");
    let seq = u64::from_be_bytes(bytes.get(..8).ok_or_else(corrupt)?.try_into().map_err(|_| corrupt())?);
    let hash = std::str::from_utf8(&bytes[8..]).map_err(|_| corrupt())?.to_owned();
    Ok((seq, hash))
}

/// Up to `scan` most recent entries of one workspace, newest first.
fn recent(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    scan: usize,
) -> Result<Vec<AuditRecord>, AppError> {
    let mut entries = Vec::new();
    visit_newest_first(table, workspace, |entry| {
        entries.push(entry);
        entries.len() < scan
    })?;
    Ok(entries)
}

/// Calls `visit` with one workspace's entries, newest first, while it returns true.
fn visit_newest_first(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    mut visit: impl FnMut(AuditRecord) -> bool,
) -> Result<(), AppError> {
    let start = tenant_key(workspace, &[&0u64.to_be_bytes()]);
    let end = tenant_key(workspace, &[&u64::MAX.to_be_bytes()]);
    for row in table.range(start.as_slice()..=end.as_slice()).map_err(storage)?.rev() {
        let (key, _) = row.map_err(storage)?;
        if let Some(entry) = get::<AuditRecord>(table, key.value())?
            && !visit(entry)
        {
            break;
        }
    }
    Ok(())
}

/// The first problem found in one workspace's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblem {
    pub workspace: WorkspaceId,
    /// The sequence number of the first bad entry (or where one is missing).
    pub seq: u64,
    pub reason: &'static str,
}

/// What a full check of every chain found.
#[derive(Debug, Clone, Default)]
pub struct ChainReport {
    pub chains: usize,
    pub entries: u64,
    pub problems: Vec<ChainProblem>,
}

/// Walks every workspace's chain in order: sequence numbers without gaps, each entry's
/// `prev_hash` equal to the previous entry's hash, each stored hash equal to the recomputed
/// one, and the head equal to the last entry (so removing the newest entries shows too).
fn verify_all(
    audit: &impl ReadableTable<&'static [u8], &'static [u8]>,
    heads: &impl ReadableTable<&'static [u8], &'static [u8]>,
) -> Result<ChainReport, AppError> {
    let mut report = ChainReport::default();
    let mut current: Option<(WorkspaceId, u64, String, bool)> = None;
    let finish = |state: Option<(WorkspaceId, u64, String, bool)>, report: &mut ChainReport| -> Result<(), AppError> {
        let Some((workspace, last_seq, last_hash, failed)) = state else { return Ok(()) };
        report.chains += 1;
        if failed {
            return Ok(());
        }
        let head =
            heads.get(workspace.as_bytes().as_slice()).map_err(storage)?.map(|h| parse_head(h.value())).transpose()?;
        if head != Some((last_seq, last_hash)) {
            report.problems.push(ChainProblem {
                workspace,
                seq: last_seq + 1,
                reason: "entries after this one are missing",
            });
        }
        Ok(())
    };
    for row in audit.iter().map_err(storage)? {
        let (key, value) = row.map_err(storage)?;
        let key = key.value();
        let Some(workspace) = key.get(..16).and_then(|b| <[u8; 16]>::try_from(b).ok()).map(WorkspaceId::from_bytes)
        else {
            continue;
        };
        let key_seq = key.get(16..24).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_be_bytes).unwrap_or(0);
        if current.as_ref().is_none_or(|(w, ..)| *w != workspace) {
            finish(current.take(), &mut report)?;
            current = Some((workspace, 0, GENESIS_HASH.to_owned(), false));
        }
        let (_, last_seq, last_hash, failed) = current.as_mut().expect("set above");
        report.entries += 1;
        if *failed {
            continue;
        }
        let problem = match super::codec::decode::<AuditRecord>(value.value()) {
            Err(_) => Some("the entry cannot be read"),
            Ok(entry) => {
                if key_seq != *last_seq + 1 || entry.seq != key_seq {
                    Some("an entry before this one is missing or out of order")
                } else if entry.workspace_id != workspace {
                    Some("the entry belongs to another workspace")
                } else if entry.prev_hash != *last_hash {
                    Some("the link to the previous entry is broken")
                } else if entry_hash(&entry)? != entry.hash {
                    Some("the entry was modified")
                } else {
                    *last_seq = entry.seq;
                    *last_hash = entry.hash;
                    None
                }
            }
        };
        if let Some(reason) = problem {
            report.problems.push(ChainProblem { workspace, seq: *last_seq + 1, reason });
            *failed = true;
        }
    }
    finish(current, &mut report)?;
    Ok(report)
}
impl<Tx: Txn> WorkspaceTx<'_, Tx> {
    /// This workspace's newest audit entries (at most `scan`).
    pub(crate) fn recent_audit(&self, scan: usize) -> Result<Vec<AuditRecord>, AppError> {
        recent(&self.txn.bytes(AUDIT)?, &self.workspace, scan)
    }

    /// Visits this workspace's audit entries, newest first, while `visit` returns true.
    pub(crate) fn visit_audit(&self, visit: impl FnMut(AuditRecord) -> bool) -> Result<(), AppError> {
        visit_newest_first(&self.txn.bytes(AUDIT)?, &self.workspace, visit)
    }
}

impl WorkspaceWrite<'_> {
    /// Appends `entry` to this workspace's chain.
    pub(crate) fn append_audit(&self, entry: AuditRecord) -> Result<(), AppError> {
        append(self.txn, &self.workspace, entry)
    }
}

impl<Tx: Txn> ServerTx<'_, Tx> {
    /// Checks every chain against its head.
    pub(crate) fn verify_audit_chains(&self) -> Result<ChainReport, AppError> {
        verify_all(&self.txn.bytes(AUDIT)?, &self.txn.bytes(AUDIT_HEADS)?)
    }

    /// The newest entries of the server's own chain (at most `scan`).
    pub(crate) fn recent_server_audit(&self, scan: usize) -> Result<Vec<AuditRecord>, AppError> {
        recent(&self.txn.bytes(AUDIT)?, &WorkspaceId::SERVER, scan)
    }
}

impl ServerWrite<'_> {
    /// Appends `entry` to `workspace`'s chain: sign-in events of an account, or the server's
    /// own chain.
    pub(crate) fn append_audit(&self, workspace: &WorkspaceId, entry: AuditRecord) -> Result<(), AppError> {
        append(self.txn, workspace, entry)
    }
}
