//! Undo of a just-deleted note or task: for ten minutes the person who deleted it may put it
//! back whole (same id, same text). Kept in memory only: a restart ends the chance, and
//! nothing deleted lingers on disk (a privacy erasure is not undone by a stale copy).

use std::collections::HashMap;
use std::sync::Mutex;

use super::CrmRecord;
use super::records::{Records, check_references, delete_checked_in, event, may_edit};
use crate::app::audit::record as audit;
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::domain::crm::{Note, Task};
use crate::domain::ids::{RecordId, UserId, WorkspaceId};
use crate::error::{AppError, ErrorCode};

/// How long a deleted note or task can be put back.
pub const UNDO_SECONDS: i64 = 600;
/// Deleted records kept at most (the oldest go first).
const KEPT_AT_MOST: usize = 1_000;

/// A deleted record as it was.
#[derive(Debug, Clone)]
pub enum Kept {
    Note(Note),
    Task(Task),
}

/// A kind that can be put back after a delete: it has no files of its own that the delete
/// removed for good (a note with files is therefore not offered an undo).
pub(crate) trait Undoable: CrmRecord + Clone + Send + Sync + 'static {
    fn kept(self) -> Kept;
    fn from_kept(kept: Kept) -> Option<Self>;
}

impl Undoable for Note {
    fn kept(self) -> Kept {
        Kept::Note(self)
    }
    fn from_kept(kept: Kept) -> Option<Self> {
        match kept {
            Kept::Note(note) => Some(note),
            Kept::Task(_) => None,
        }
    }
}

impl Undoable for Task {
    fn kept(self) -> Kept {
        Kept::Task(self)
    }
    fn from_kept(kept: Kept) -> Option<Self> {
        match kept {
            Kept::Task(task) => Some(task),
            Kept::Note(_) => None,
        }
    }
}

type Key = (WorkspaceId, UserId, RecordId);

/// Deleted records their deleter may still put back.
#[derive(Default)]
pub struct RecentlyDeleted(Mutex<HashMap<Key, (i64, Kept)>>);

impl RecentlyDeleted {
    fn keep(&self, key: Key, at: i64, kept: Kept) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (deleted, _)| at - *deleted < UNDO_SECONDS);
        if map.len() >= KEPT_AT_MOST
            && let Some(oldest) = map.iter().min_by_key(|(_, (deleted, _))| *deleted).map(|(key, _)| *key)
        {
            map.remove(&oldest);
        }
        map.insert(key, (at, kept));
    }

    fn take(&self, key: &Key, now: i64) -> Option<Kept> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key).filter(|(deleted, _)| now - deleted < UNDO_SECONDS).map(|(_, kept)| kept)
    }

    fn holds(&self, key: &Key, now: i64) -> bool {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).is_some_and(|(deleted, _)| now - deleted < UNDO_SECONDS)
    }
}

fn key(scope: &TenantScope, id: RecordId) -> Key {
    (*scope.workspace(), *scope.user(), id)
}

impl Records<'_> {
    /// Deletes a note or task the caller may edit (like [`Records::delete`]) and keeps it for
    /// an undo; answers what was deleted and whether an undo is offered (not for a note whose
    /// files went with it).
    pub(crate) async fn delete_undoable<T: Undoable>(
        &self,
        scope: &TenantScope,
        id: RecordId,
        client: &ClientInfo,
    ) -> Result<(T, bool), AppError> {
        scope.require(Action::ReadRecords)?;
        let (owned, client, now) = (scope.clone(), client.clone(), self.now());
        let (record, files) = self
            .store()
            .workspace(scope)
            .write(move |txn| {
                let record = txn.load::<T>(&id)?.ok_or(ErrorCode::NotFound)?;
                Ok((record, delete_checked_in::<T>(txn, &owned, id, now, &client)?))
            })
            .await?;
        let undoable = files.is_empty();
        files.remove(self).await;
        if undoable {
            self.recently_deleted().keep(key(scope, id), now, record.clone().kept());
        }
        Ok((record, undoable))
    }

    /// Whether the caller may still put back record `id`.
    pub(crate) fn can_undo(&self, scope: &TenantScope, id: RecordId) -> bool {
        self.recently_deleted().holds(&key(scope, id), self.now())
    }

    /// Puts back a note or task the caller deleted in the last ten minutes, as it was (E3002
    /// when there is none to put back, or the record it was on is gone since).
    pub(crate) async fn undo_delete<T: Undoable>(
        &self,
        scope: &TenantScope,
        id: RecordId,
        client: &ClientInfo,
    ) -> Result<T, AppError> {
        scope.require(Action::ReadRecords)?;
        let now = self.now();
        let record = self
            .recently_deleted()
            .take(&key(scope, id), now)
            .and_then(T::from_kept)
            .filter(|record| may_edit(scope, record))
            .ok_or(ErrorCode::NotFound)?;
        let (scope, client) = (scope.clone(), client.clone());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                if txn.load::<T>(&id)?.is_some() || check_references(txn, &record).is_err() {
                    return Err(ErrorCode::NotFound.into());
                }
                txn.save(None, &record)?;
                audit(txn, now, event("record.restored", &scope, T::KIND, &id, &client))?;
                Ok(record)
            })
            .await
    }
}
