//! Everything transport-free: the application handle, its services, auth, errors, time and keys.
//! HTML pages, the JSON API and the CLI all go through here.

pub mod alerts;
pub mod audit;
pub mod audit_viewer;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod crm;
pub mod crypto;
pub mod email;
pub mod key_rotation;
pub(crate) mod keyring;
pub mod policy;
pub mod rate_limit;
mod search;
pub mod settings;
mod store;
pub mod users;
pub mod webhook;

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

pub use search::MAX_INPUT_CHARS as SEARCH_MAX_INPUT;
pub use search::snippet::{Piece, Snippet};
pub use search::{
    BACKLOG_WARN as SEARCH_BACKLOG_WARN, IndexAudit, IndexStatus, MAX_LIMIT as SEARCH_MAX_LIMIT, SearchHit,
    SearchRequest, SearchResults,
};
pub use store::views::ViewCache;
pub use store::{ClientRead, ClientStore, Store, StoreOpenError, WorkspaceRead, WorkspaceStore, WorkspaceTx};

use crate::datadir::{DataDir, DataDirError};
use crate::error::AppError;
use auth::csrf::CsrfKey;
use auth::password::PasswordHasherPool;
use clock::Clock;
use crypto::{MasterKey, Sealer};
use email::{EMAIL_SETTINGS, EmailSettings};
use policy::{SECURITY_POLICY, SecurityPolicy};
use rate_limit::{FailureTracker, Limiters, RATE_LIMIT_POLICY, RateLimitPolicy};

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
    device_key: crate::app::auth::device::DeviceKey,
    sealer: Sealer,
    hasher: PasswordHasherPool,
    security_policy: RwLock<SecurityPolicy>,
    email: RwLock<EmailSettings>,
    limiters: RwLock<Arc<Limiters>>,
    failures_by_address: FailureTracker,
    failures_by_account: FailureTracker,
    storms: alerts::StormDetector,
    alert_settings: RwLock<webhook::AlertSettings>,
    webhook: webhook::WebhookQueue,
    /// A background key rotation is running.
    rotating: std::sync::atomic::AtomicBool,
    started: Instant,
    /// The full-text index, opened on first use (the offline commands never touch it).
    search: Mutex<Option<Arc<search::SearchIndex>>>,
}

impl App {
    /// Opens the store in a locked data directory (blocking: call from a blocking context).
    pub fn open(data_dir: DataDir, clock: Arc<dyn Clock>) -> Result<App, OpenError> {
        let master_key = data_dir.master_key()?;
        let store = Store::open(&data_dir.store_path(), &master_key, clock.now().unix_timestamp())?;
        let security_policy = store.load_setting(SECURITY_POLICY).map_err(StoreOpenError::Setting)?.unwrap_or_default();
        let email = store.load_setting(EMAIL_SETTINGS).map_err(StoreOpenError::Setting)?.unwrap_or_default();
        let alert_settings =
            store.load_setting(webhook::ALERT_SETTINGS).map_err(StoreOpenError::Setting)?.unwrap_or_default();
        let rate_limits: RateLimitPolicy =
            store.load_setting(RATE_LIMIT_POLICY).map_err(StoreOpenError::Setting)?.unwrap_or_default();
        Ok(App(Arc::new(Inner {
            store,
            clock,
            data_dir,
            csrf_key: CsrfKey::derive(&master_key),
            device_key: crate::app::auth::device::DeviceKey::derive(&master_key),
            sealer: Sealer::new(&master_key),
            master_key,
            hasher: PasswordHasherPool::new(hashing_threads()),
            security_policy: RwLock::new(security_policy),
            email: RwLock::new(email),
            limiters: RwLock::new(Arc::new(Limiters::new(rate_limits))),
            failures_by_address: FailureTracker::default(),
            failures_by_account: FailureTracker::default(),
            storms: alerts::StormDetector::default(),
            alert_settings: RwLock::new(alert_settings),
            webhook: webhook::WebhookQueue::default(),
            rotating: std::sync::atomic::AtomicBool::new(false),
            started: Instant::now(),
            search: Mutex::new(None),
        })))
    }

    /// The store: services reach rows through its scoped handles ([`Store::workspace`]).
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The caller's workspace's view of its records under `key` in `cache`, computed by
    /// `compute` unless kept from before the store's latest commit (see [`ViewCache`]). The
    /// right to read records is checked here, since a kept view is shown without `compute`.
    pub async fn records_view<K: Eq + std::hash::Hash, V>(
        &self,
        scope: &auth::TenantScope,
        cache: &ViewCache<K, V>,
        key: K,
        compute: impl AsyncFnOnce() -> Result<V, AppError>,
    ) -> Result<Arc<V>, AppError> {
        scope.require(auth::permissions::Action::ReadRecords)?;
        cache.get_or_compute(self.store().commits(), *scope.workspace(), key, compute).await
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

    pub fn device_key(&self) -> &crate::app::auth::device::DeviceKey {
        &self.0.device_key
    }

    /// The request limiters in force (rebuilt when the policy changes).
    pub fn limiters(&self) -> Arc<Limiters> {
        self.0.limiters.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn rate_limit_policy(&self) -> RateLimitPolicy {
        self.limiters().policy.clone()
    }

    pub(crate) fn storms(&self) -> &alerts::StormDetector {
        &self.0.storms
    }

    pub(crate) fn failures_by_address(&self) -> &FailureTracker {
        &self.0.failures_by_address
    }

    pub(crate) fn failures_by_account(&self) -> &FailureTracker {
        &self.0.failures_by_account
    }

    /// Validates, stores and applies new rate limits (no restart), audited. `scope` is `None`
    /// for the offline CLI (recorded in the server's own audit chain).
    pub async fn save_rate_limit_policy(
        &self,
        scope: Option<&auth::TenantScope>,
        policy: RateLimitPolicy,
        client: &auth::ClientInfo,
    ) -> Result<(), AppError> {
        self.may_change_settings(scope)?;
        policy.validate()?;
        self.store_policy(scope, RATE_LIMIT_POLICY, policy.clone(), "settings.rate_limits_changed", client).await?;
        *self.0.limiters.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Limiters::new(policy));
        Ok(())
    }

    /// Settings are changed by admins who confirmed their second factor recently, or offline.
    fn may_change_settings(&self, scope: Option<&auth::TenantScope>) -> Result<(), AppError> {
        match scope {
            Some(scope) => {
                scope.require(auth::permissions::Action::ManageSettings)?;
                scope.require_server_operator()?;
                scope.require_recent_second_factor(self.now())
            }
            None => Ok(()),
        }
    }

    /// Stores a validated policy under `name` with its audit entry.
    async fn store_policy<T: store::Versioned + Send + 'static>(
        &self,
        scope: Option<&auth::TenantScope>,
        name: &'static str,
        policy: T,
        event: &'static str,
        client: &auth::ClientInfo,
    ) -> Result<(), AppError> {
        let (client, now) = (client.clone(), self.now());
        let (workspace, actor) = match scope {
            Some(scope) => (*scope.workspace(), Some(*scope.user())),
            None => (audit::SERVER_CHAIN, None),
        };
        self.store()
            .write(move |txn| {
                txn.save_setting(name, &policy)?;
                audit::record_server(
                    txn,
                    &workspace,
                    now,
                    audit::AuditEvent::new(event, actor).fields(&[name]).from_client(&client),
                )
            })
            .await
    }

    /// The security policy in force (cached; changed through `save_security_policy`).
    pub fn security_policy(&self) -> SecurityPolicy {
        self.0.security_policy.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Validates, stores and applies a new security policy (no restart needed), audited.
    /// `scope` is `None` for the offline CLI.
    pub async fn save_security_policy(
        &self,
        scope: Option<&auth::TenantScope>,
        policy: SecurityPolicy,
        client: &auth::ClientInfo,
    ) -> Result<(), AppError> {
        self.may_change_settings(scope)?;
        policy.validate()?;
        self.store_policy(scope, SECURITY_POLICY, policy.clone(), "settings.security_changed", client).await?;
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
    /// Why the store can't write right now (a full disk), if it can't; it recovers by itself.
    pub fn store_failing(&self) -> Option<String> {
        self.0.store.failing()
    }

    pub async fn check_store(&self) -> Result<(), AppError> {
        self.0.store.check().await.map(|_| ())
    }

    /// While no user exists, the one-time setup token (created on first call); then `None`.
    pub async fn pending_setup_token(&self) -> Result<Option<String>, AppError> {
        let has_users = self.0.store.read(|txn| txn.any_user_exists()).await?;
        if has_users {
            return Ok(None);
        }
        let path = self.0.data_dir.setup_token_path();
        tokio::task::spawn_blocking(move || auth::setup::ensure_token(&path))
            .await
            .map_err(|e| AppError::internal(crate::error::ErrorCode::Internal, e))?
            .map(Some)
    }
}
