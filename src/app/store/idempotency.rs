//! Idempotent answers: the first answer to a request sent with an `Idempotency-Key`, kept 24
//! hours. The answer's body (a record as JSON) is sealed like the record's sensitive fields.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::access::{get, put};
use super::codec::{self, Versioned};
use super::key_layout::{prefix_end, tenant_key};
use super::oplog::Logged;
use super::scoped::{ServerWrite, Txn, WorkspaceTx, WorkspaceWrite};
use super::tables::IDEMPOTENCY;
use super::{sealed, storage};
use crate::app::keyring::Keyring;
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

fn answer_key(workspace: &WorkspaceId, user: &UserId, key_hash: &[u8; 32]) -> Vec<u8> {
    tenant_key(workspace, &[user.as_bytes(), key_hash])
}

fn load_answer(
    keyring: &Keyring,
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<IdempotentAnswer>, AppError> {
    let Some(mut answer): Option<IdempotentAnswer> = get(table, key)? else { return Ok(None) };
    answer.body = sealed::open_text(keyring, key, sealed::SNAPSHOT_IDEMPOTENT_ANSWER, &answer.body)?;
    Ok(Some(answer))
}

impl<Tx: Txn> WorkspaceTx<'_, Tx> {
    /// The answer `user` was given for the idempotency key hashed as `key_hash`, if kept.
    pub(crate) fn idempotent_answer(
        &self,
        user: &UserId,
        key_hash: &[u8; 32],
    ) -> Result<Option<IdempotentAnswer>, AppError> {
        load_answer(self.keyring, &self.txn.bytes(IDEMPOTENCY)?, &answer_key(&self.workspace, user, key_hash))
    }
}

impl WorkspaceWrite<'_> {
    /// Keeps the first answer to `user`'s request with this idempotency key (body sealed).
    pub(crate) fn save_idempotent_answer(
        &self,
        user: &UserId,
        key_hash: &[u8; 32],
        answer: &IdempotentAnswer,
    ) -> Result<(), AppError> {
        let key = answer_key(&self.workspace, user, key_hash);
        let body = sealed::seal_text(self.keyring, &key, sealed::SNAPSHOT_IDEMPOTENT_ANSWER, &answer.body)?;
        put(&mut self.txn.logged(IDEMPOTENCY).map_err(storage)?, &key, &IdempotentAnswer { body, ..answer.clone() })
    }

    /// Drops this workspace's kept answers whose body `holds` (for privacy erasure).
    pub(crate) fn forget_answers_holding(&self, holds: impl Fn(&str) -> bool) -> Result<(), AppError> {
        let mut table = self.txn.logged(IDEMPOTENCY).map_err(storage)?;
        let prefix = tenant_key(&self.workspace, &[]);
        let mut doomed = Vec::new();
        for row in table.range::<&[u8]>(prefix.as_slice()..prefix_end(&prefix).as_slice()).map_err(storage)? {
            let (key, _) = row.map_err(storage)?;
            if load_answer(self.keyring, &table, key.value())?.is_some_and(|answer| holds(&answer.body)) {
                doomed.push(key.value().to_vec());
            }
        }
        for key in doomed {
            table.remove(key.as_slice()).map_err(storage)?;
        }
        Ok(())
    }
}

impl ServerWrite<'_> {
    /// Drops answers older than `before`, across workspaces (at most 10,000 per call, so a
    /// sweep never holds the writer long).
    pub(crate) fn expire_idempotent_answers(&self, before: i64) -> Result<usize, AppError> {
        let mut table = self.txn.logged(IDEMPOTENCY).map_err(storage)?;
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
}
