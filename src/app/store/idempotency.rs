//! Idempotent answers: the first answer to a request sent with an `Idempotency-Key`, kept 24
//! hours. The answer's body (a record as JSON) is sealed like the record's sensitive fields.

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::access::{get, put};
use super::codec::{self, Versioned};
use super::keys::tenant_key;
use super::tables::IDEMPOTENCY;
use super::{sealed, storage};
use crate::domain::ids::{UserId, WorkspaceId};
use crate::error::AppError;

/// The first answer to a request sent with an `Idempotency-Key`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdempotentAnswer {
    pub at: i64,
    /// SHA-256 of method, path and body: the same key with another request is refused.
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

impl Versioned for IdempotentAnswer {
    const VERSION: u16 = 1;
}

pub(crate) fn idempotency_key(workspace: &WorkspaceId, user: &UserId, key_hash: &[u8; 32]) -> Vec<u8> {
    tenant_key(workspace, &[user.as_bytes(), key_hash])
}

pub(crate) fn load_answer(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<IdempotentAnswer>, AppError> {
    let Some(mut answer): Option<IdempotentAnswer> = get(table, key)? else { return Ok(None) };
    answer.body = sealed::open_text(key, sealed::SNAPSHOT_IDEMPOTENT_ANSWER, &answer.body)?;
    Ok(Some(answer))
}

pub(crate) fn save_answer(txn: &WriteTransaction, key: &[u8], answer: &IdempotentAnswer) -> Result<(), AppError> {
    let body = sealed::seal_text(key, sealed::SNAPSHOT_IDEMPOTENT_ANSWER, &answer.body)?;
    put(&mut txn.open_table(IDEMPOTENCY).map_err(storage)?, key, &IdempotentAnswer { body, ..answer.clone() })
}

/// Drops answers older than `before`, across workspaces (at most 10,000 per call, so a sweep
/// never holds the writer long).
pub(crate) fn expire_answers(txn: &WriteTransaction, before: i64) -> Result<usize, AppError> {
    let mut table = txn.open_table(IDEMPOTENCY).map_err(storage)?;
    let mut stale = Vec::new();
    for row in table.iter().map_err(storage)? {
        let (key, value) = row.map_err(storage)?;
        if codec::decode::<IdempotentAnswer>(value.value()).is_ok_and(|a| a.at < before) {
            stale.push(key.value().to_vec());
            if stale.len() == 10_000 {
                break;
            }
        }
    }
    for key in &stale {
        table.remove(key.as_slice()).map_err(storage)?;
    }
    Ok(stale.len())
}

/// Every stored answer of a workspace with its key (bodies opened), for privacy erasure.
pub(crate) fn answers_of_workspace(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
) -> Result<Vec<(Vec<u8>, IdempotentAnswer)>, AppError> {
    let prefix = tenant_key(workspace, &[]);
    let mut found = Vec::new();
    for row in table.range::<&[u8]>(prefix.as_slice()..super::keys::prefix_end(&prefix).as_slice()).map_err(storage)? {
        let (key, _) = row.map_err(storage)?;
        if let Some(answer) = load_answer(table, key.value())? {
            found.push((key.value().to_vec(), answer));
        }
    }
    Ok(found)
}
