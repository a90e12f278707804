//! PRIVATE to `app`: the redb store. Services reach it through scoped repositories; all
//! blocking work runs on tokio's blocking pool.

mod access;
pub(crate) mod audit;
pub(crate) mod codec;
pub(crate) mod crm;
pub(crate) mod dump;
pub(crate) mod field_keys;
pub(crate) mod files;
pub(crate) mod idempotency;
pub(crate) mod identity;
pub(crate) mod imports;
mod key_layout;
pub mod migrations;
pub(crate) mod oplog;
pub(crate) mod portal;
pub(crate) mod rows;
mod scoped;
pub(crate) mod sealed;
pub(crate) mod settings;
mod slot;
mod tables;
pub(crate) mod views;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTableMetadata, WriteTransaction};

pub(crate) use codec::Versioned;
pub use scoped::{ClientRead, ClientStore, ClientWrite, WorkspaceRead, WorkspaceStore, WorkspaceTx};
pub(crate) use scoped::{ServerRead, ServerTx, ServerWrite, Txn, WorkspaceWrite};

use crate::app::crypto::MasterKey;
use crate::app::keyring::Keyring;
use crate::error::{AppError, ErrorCode};

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreOpenError {
    #[error("the store is open in another process")]
    InUse,
    #[error("cannot open the store: {0}")]
    Open(redb::DatabaseError),
    #[error(transparent)]
    Migration(#[from] migrations::MigrationError),
    #[error("cannot read the stored settings: {0}")]
    Setting(AppError),
    #[error("cannot start the writer thread: {0}")]
    Writer(std::io::Error),
    #[error("cannot load the field-encryption keys (is keys/master.key the one this store was written with?)")]
    Keys(AppError),
}

/// A cheap-to-clone handle on the open database.
#[derive(Clone)]
pub struct Store {
    writer: Arc<writer::Writer>,
    slot: Arc<slot::DbSlot>,
    keyring: Arc<Keyring>,
    /// Write transactions committed since the store was opened (see [`views`]).
    commits: Arc<AtomicU64>,
}

/// Any redb failure is "storage unavailable" for the user; the detail goes to the log.
pub(crate) fn storage(e: impl Into<redb::Error>) -> AppError {
    AppError::internal(ErrorCode::StorageUnavailable, e.into())
}

impl Store {
    /// Opens (or creates) the store, migrates it to this build's schema and loads the field
    /// keys (wrapped by `master`), which every transaction it runs can then use.
    pub(crate) fn open(path: &Path, master: &MasterKey, now: i64) -> Result<Store, StoreOpenError> {
        let db = slot::open_database(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreOpenError::InUse,
            other => StoreOpenError::Open(other),
        })?;
        migrations::run(&db)?;
        let keyring = Arc::new(Keyring::new(master));
        field_keys::load(&db, &keyring, now).map_err(StoreOpenError::Keys)?;
        let slot = Arc::new(slot::DbSlot::new(path, db));
        let commits = Arc::new(AtomicU64::new(0));
        let writer = writer::Writer::start(slot.clone(), commits.clone()).map_err(StoreOpenError::Writer)?;
        Ok(Store { writer: Arc::new(writer), slot, keyring, commits })
    }

    /// How many write transactions have committed so far. Read it before a read transaction
    /// begins: that transaction then sees at least those commits.
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// The field-encryption keys.
    pub(crate) fn keyring(&self) -> &Arc<Keyring> {
        &self.keyring
    }

    /// Runs `f` in a read transaction of the server-wide tables on the blocking pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&ServerRead<'_>) -> Result<T, AppError> + Send + 'static,
    {
        let keyring = self.keyring.clone();
        self.read_txn(move |txn| f(&ServerTx { txn, keyring: &keyring })).await
    }

    /// Runs `f` in a read transaction of the server-wide tables right here, on the caller's
    /// thread: for the small reads a page is made of (a session, a record, one page of a list),
    /// where the hop to the blocking pool and back costs more than the read itself. Anything
    /// that may walk many rows uses [`Store::read`].
    pub(crate) fn read_now<T>(&self, f: impl FnOnce(&ServerRead<'_>) -> Result<T, AppError>) -> Result<T, AppError> {
        self.read_txn_now(|txn| f(&ServerTx { txn, keyring: &self.keyring }))
    }

    /// Runs `f` in one write transaction of the server-wide tables on the writer thread and
    /// answers once it is durable (group commit, see [`writer`]): an acknowledged write
    /// survives a crash.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&ServerWrite<'_>) -> Result<T, AppError> + Send + 'static,
    {
        let keyring = self.keyring.clone();
        self.write_txn(move |txn| f(&ServerTx { txn, keyring: &keyring })).await
    }

    async fn read_txn<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T, AppError> + Send + 'static,
    {
        let slot = self.slot.clone();
        run_blocking(move || {
            let txn = slot.get()?.begin_read().map_err(|e| slot::storage_in(&slot, e))?;
            f(&txn)
        })
        .await
    }

    fn read_txn_now<T>(&self, f: impl FnOnce(&ReadTransaction) -> Result<T, AppError>) -> Result<T, AppError> {
        let txn = self.slot.get()?.begin_read().map_err(|e| slot::storage_in(&self.slot, e))?;
        f(&txn)
    }

    async fn write_txn<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, AppError> + Send + 'static,
    {
        self.writer.write(f).await
    }

    /// The database itself, for a backup's snapshot (one read transaction).
    pub(crate) fn database(&self) -> Result<Arc<Database>, AppError> {
        self.slot.get()
    }

    /// Reads a stored policy synchronously (startup only).
    pub(crate) fn load_setting<T: Versioned>(&self, name: &str) -> Result<Option<T>, AppError> {
        let txn = self.slot.get()?.begin_read().map_err(storage)?;
        settings::load(&txn, name)
    }

    /// Why the store can't write right now (a full disk, say), if it can't.
    pub(crate) fn failing(&self) -> Option<String> {
        self.slot.failing()
    }

    /// A cheap liveness check: the store writes (no I/O failure pending), a read transaction
    /// can be opened and the metadata table read.
    pub(crate) async fn check(&self) -> Result<u64, AppError> {
        if let Some(why) = self.failing() {
            return Err(AppError::internal(ErrorCode::StorageUnavailable, why));
        }
        self.read_txn(|txn| {
            let meta = txn.open_table(tables::META).map_err(storage)?;
            meta.len().map_err(storage)
        })
        .await
    }
}

async fn run_blocking<T, F>(f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::internal(ErrorCode::Internal, format!("store task failed: {e}")))?
}
