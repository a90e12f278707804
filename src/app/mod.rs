//! Everything transport-free: the application handle, its services, auth, errors, time and keys.
//! HTML pages, the JSON API and the CLI all go through here.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod crypto;
pub mod email;
pub mod error;
pub mod policy;
mod store;
pub mod users;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub use store::StoreOpenError;

use crate::datadir::{DataDir, DataDirError};
use auth::csrf::CsrfKey;
use auth::password::PasswordHasherPool;
use clock::Clock;
use crypto::{MasterKey, Sealer};
use email::{EMAIL_SETTINGS, EmailSettings};
use error::AppError;
use policy::{SECURITY_POLICY, SecurityPolicy};
use store::{Store, identity};

/// Password hashes computed at once (19 MiB each): one per core; more wait their turn.
fn hashing_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8)
}

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
    master_key: MasterKey,
    csrf_key: CsrfKey,
    sealer: Sealer,
    hasher: PasswordHasherPool,
    security_policy: RwLock<SecurityPolicy>,
    email: RwLock<EmailSettings>,
    started: Instant,
}

impl App {
    /// Opens the store in a locked data directory (blocking: call from a blocking context).
    pub fn open(data_dir: DataDir, clock: Arc<dyn Clock>) -> Result<App, OpenError> {
        let master_key = data_dir.master_key()?;
        let store = Store::open(&data_dir.store_path())?;
        let security_policy = store.load_setting(SECURITY_POLICY).map_err(StoreOpenError::Setting)?.unwrap_or_default();
        let email = store.load_setting(EMAIL_SETTINGS).map_err(StoreOpenError::Setting)?.unwrap_or_default();
        Ok(App(Arc::new(Inner {
            store,
            clock,
            data_dir,
            csrf_key: CsrfKey::derive(&master_key),
            sealer: Sealer::new(&master_key),
            master_key,
            hasher: PasswordHasherPool::new(hashing_threads()),
            security_policy: RwLock::new(security_policy),
            email: RwLock::new(email),
            started: Instant::now(),
        })))
    }

    pub(crate) fn store(&self) -> &Store {
        &self.0.store
    }

    /// Now, in Unix seconds, from the injected clock.
    pub fn now(&self) -> i64 {
        self.0.clock.now().unix_timestamp()
    }

    pub(crate) fn hasher(&self) -> &PasswordHasherPool {
        &self.0.hasher
    }

    pub(crate) fn master_key(&self) -> &MasterKey {
        &self.0.master_key
    }

    pub(crate) fn sealer(&self) -> &Sealer {
        &self.0.sealer
    }

    pub fn csrf_key(&self) -> &CsrfKey {
        &self.0.csrf_key
    }

    /// The security policy in force (cached; changed through `save_security_policy`).
    pub fn security_policy(&self) -> SecurityPolicy {
        self.0.security_policy.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Validates, stores and applies a new security policy (no restart needed), audited.
    pub async fn save_security_policy(
        &self,
        scope: &auth::TenantScope,
        policy: SecurityPolicy,
        client: &auth::ClientInfo,
    ) -> Result<(), AppError> {
        scope.require(auth::permissions::Action::ManageSettings)?;
        scope.require_recent_second_factor(self.now())?;
        policy.validate()?;
        let (stored, scope, client, now) = (policy.clone(), scope.clone(), client.clone(), self.now());
        self.store()
            .write(move |txn| {
                store::settings::save(txn, SECURITY_POLICY, &stored)?;
                let event = audit::AuditEvent::new("settings.security_changed", Some(*scope.user()))
                    .fields(&["session_idle_minutes", "session_absolute_hours", "password_min_length"])
                    .from_client(&client);
                audit::record(txn, scope.workspace(), now, event)
            })
            .await?;
        *self.0.security_policy.write().unwrap_or_else(|p| p.into_inner()) = policy;
        Ok(())
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
        let has_users = self.0.store.read(identity::any_user_exists).await?;
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
