//! The open database, and how the store recovers from an I/O failure by itself. After a write
//! fails for want of space (or any other I/O error), redb refuses every later operation until
//! the file is closed and opened again. The writer thread then reopens it, retrying until a
//! durable test commit succeeds: opening rolls back to the last durable commit, and every
//! write that was answered had reached it, so nothing acknowledged is lost. Until then reads
//! and writes answer E3001 and health reports why.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::Database;

use super::storage;
use crate::error::{AppError, ErrorCode};

/// redb's page cache. Its default (1 GiB) would let a busy server grow to that size; this
/// bound keeps a small firm's server small while holding the hot part of the store.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// How long a reopen waits for readers still inside a transaction on the failed database.
const READERS_GRACE: Duration = Duration::from_secs(2);

/// Opens (or creates) the database file.
pub(crate) fn open_database(path: &Path) -> Result<Database, redb::DatabaseError> {
    redb::Builder::new().set_cache_size(CACHE_BYTES).create(path)
}

/// Whether an error means the file itself failed (a full disk, an unreadable device): the
/// kind only a reopen recovers from.
pub(crate) fn is_io(error: &redb::Error) -> bool {
    matches!(error, redb::Error::Io(_) | redb::Error::PreviousIo)
}

pub(crate) struct DbSlot {
    path: PathBuf,
    db: RwLock<Option<Arc<Database>>>,
    /// Why the store can't write right now; `None` when healthy.
    failing: Mutex<Option<String>>,
}

impl DbSlot {
    pub(crate) fn new(path: &Path, db: Database) -> DbSlot {
        DbSlot { path: path.to_owned(), db: RwLock::new(Some(Arc::new(db))), failing: Mutex::new(None) }
    }

    /// The database to run a transaction on (E3001 while it is being reopened).
    pub(crate) fn get(&self) -> Result<Arc<Database>, AppError> {
        let db = self.db.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        db.ok_or_else(|| AppError::internal(ErrorCode::StorageUnavailable, "the store is being reopened"))
    }

    /// Why writes fail right now, if they do.
    pub(crate) fn failing(&self) -> Option<String> {
        self.failing.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Records an I/O failure: health reports it and the writer starts reopening.
    pub(crate) fn fail(&self, why: &str) {
        let mut failing = self.failing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if failing.is_none() {
            tracing::error!(reason = why, "the store cannot write; it will reopen itself once it can");
        }
        *failing = Some(why.to_owned());
    }

    /// Closes the failed database and opens the file again; succeeds once a durable test commit
    /// does (so a disk that is still full keeps the store failing). Writer thread only.
    pub(crate) fn reopen(&self) -> Result<(), String> {
        let taken = self.db.write().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(mut old) = taken {
            // The file lock is released only when the last handle is gone.
            let started = Instant::now();
            loop {
                match Arc::try_unwrap(old) {
                    Ok(db) => {
                        drop(db);
                        break;
                    }
                    Err(shared) if started.elapsed() < READERS_GRACE => {
                        old = shared;
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(shared) => {
                        *self.db.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(shared);
                        return Err("readers still hold the failed store".into());
                    }
                }
            }
        }
        let db = open_database(&self.path).map_err(|e| e.to_string())?;
        // A real write (it needs a page): an empty commit could pass on a disk still full.
        let probe = db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut meta = probe.open_table(super::tables::META).map_err(|e| e.to_string())?;
            meta.insert("write_probe", &[1u8][..]).map_err(|e| e.to_string())?;
        }
        probe.commit().map_err(|e| e.to_string())?;
        *self.db.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(db));
        *self.failing.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        tracing::info!("the store reopened and writes again");
        Ok(())
    }
}

/// Maps a redb error to E3001, noting an I/O failure in `slot`.
pub(crate) fn storage_in(slot: &DbSlot, error: impl Into<redb::Error>) -> AppError {
    let error = error.into();
    if is_io(&error) {
        slot.fail(&error.to_string());
    }
    storage(error)
}
