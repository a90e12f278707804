//! Everything transport-free: the application handle, its services, auth, errors, time and keys.
//! HTML pages, the JSON API and the CLI all go through here.

pub mod auth;
pub mod clock;
pub mod crypto;
pub mod error;
mod store;

use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::ReadableTableMetadata;

pub use store::StoreOpenError;

use crate::datadir::{DataDir, DataDirError};
use clock::Clock;
use crypto::MasterKey;
use error::AppError;
use store::{Store, storage, tables};

/// Why the application could not open its data.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error("{0}")]
    Store(#[from] StoreOpenError),
}

impl OpenError {
    /// Exit code of CONTRACT.md: 3 when the data is in use by another process, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            OpenError::DataDir(e) => e.exit_code(),
            OpenError::Store(StoreOpenError::InUse) => 3,
            OpenError::Store(_) => 1,
        }
    }
}

/// The running application: cheap to clone, shared by every request and background task.
#[derive(Clone)]
pub struct App(Arc<Inner>);

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    data_dir: DataDir,
    #[allow(dead_code)] // read by field encryption and stored secrets
    master_key: MasterKey,
    started: Instant,
}

impl App {
    /// Opens the store in a locked data directory (blocking: call from a blocking context).
    pub fn open(data_dir: DataDir, clock: Arc<dyn Clock>) -> Result<App, OpenError> {
        let master_key = data_dir.master_key()?;
        let store = Store::open(&data_dir.store_path())?;
        Ok(App(Arc::new(Inner { store, clock, data_dir, master_key, started: Instant::now() })))
    }

    pub fn clock(&self) -> &dyn Clock {
        self.0.clock.as_ref()
    }

    pub fn data_dir(&self) -> &DataDir {
        &self.0.data_dir
    }

    pub fn uptime(&self) -> Duration {
        self.0.started.elapsed()
    }

    /// Checks that the store answers a read.
    pub async fn check_store(&self) -> Result<(), AppError> {
        self.0.store.check().await.map(|_| ())
    }

    /// While no user exists, the one-time setup token (created on first call); then `None`.
    pub async fn pending_setup_token(&self) -> Result<Option<String>, AppError> {
        let has_users = self
            .0
            .store
            .read(|txn| {
                let users = txn.open_table(tables::USERS).map_err(storage)?;
                Ok(!users.is_empty().map_err(storage)?)
            })
            .await?;
        if has_users {
            return Ok(None);
        }
        let path = self.0.data_dir.setup_token_path();
        tokio::task::spawn_blocking(move || auth::setup::ensure_token(&path))
            .await
            .map_err(|e| AppError::internal(error::ErrorCode::Internal, e))?
            .map(Some)
    }
}
