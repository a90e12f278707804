//! Everything transport-free: the application handle, its services, auth, errors, time and keys.
//! HTML pages, the JSON API and the CLI all go through here.

pub mod acme;
pub mod alerts;
pub mod audit;
pub mod audit_viewer;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod crm;
pub mod crypto;
pub mod email;
pub mod files;
pub mod key_rotation;
pub(crate) mod keyring;
pub mod metrics;
pub mod offline;
pub mod onboarding;
pub mod ops_alerts;
pub mod perf_report;
pub mod policy;
pub mod portal;
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

/// The store schema this build reads and writes (shown by `/health` and `--version`).
pub fn schema_version() -> u32 {
    store::migrations::current_version()
}
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
    #[error("the store was not upgraded: its pre-upgrade snapshot could not be written ({0})")]
    Snapshot(crate::app::backup::format::BackupError),
}

impl OpenError {
    /// Exit code of CONTRACT.md: 3 when the data is in use by another process, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            OpenError::DataDir(e) => e.exit_code(),
            OpenError::Store(StoreOpenError::InUse) => 3,
            OpenError::Store(_) | OpenError::Snapshot(_) => 1,
        }
    }
}

/// Declares a service: the operations on one resource, as a view of the [`App`] whose store,
/// clock, keys and policies every service shares (reached through `Deref`).
macro_rules! service {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'a>(pub(in crate::app) &'a crate::app::App);

        impl std::ops::Deref for $name<'_> {
            type Target = crate::app::App;

            fn deref(&self) -> &crate::app::App {
                self.0
            }
        }
    };
}
pub(crate) use service;

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
    /// When each alert was last emailed.
    emailed: alerts::Emailed,
    alert_settings: RwLock<webhook::AlertSettings>,
    webhook: webhook::WebhookQueue,
    /// A background key rotation is running.
    rotating: std::sync::atomic::AtomicBool,
    /// Signs download links.
    file_link_key: crypto::MacKey,
    /// The virus scanner uploads pass through (from the config file), if any.
    scanner: RwLock<Option<files::Scanner>>,
    /// Uploads in progress (bounded).
    upload_slots: Arc<tokio::sync::Semaphore>,
    /// The configured public origin (`https://crm.example.com`), for links in emails sent by
    /// background work; `None`: such emails carry no link.
    public_origin: RwLock<Option<String>>,
    /// What `/metrics` shows.
    metrics: metrics::Metrics,
    /// Operational alerts firing at the last evaluation.
    ops_firing: ops_alerts::FiringNow,
    started: Instant,
    /// The full-text index, opened on first use (the offline commands never touch it).
    search: Mutex<Option<Arc<search::SearchIndex>>>,
    /// The keyring sealing the current off-site generation's change segments.
    segment_keys: Mutex<Option<(i64, Arc<backup::format::Keyring>)>>,
    /// A restore started from the setup page.
    setup_restore: Mutex<backup::offsite::SetupRestore>,
    /// Asks the server to stop and start again (on restored data).
    restart: tokio::sync::Notify,
    /// Notes and tasks just deleted, for their deleter's undo.
    recently_deleted: crm::undo::RecentlyDeleted,
}

/// The services, one per resource: `app.users().invite(…)` is how a handler calls one.
impl App {
    pub fn records(&self) -> crm::records::Records<'_> {
        crm::records::Records(self)
    }
    pub fn privacy(&self) -> crm::privacy::Privacy<'_> {
        crm::privacy::Privacy(self)
    }
    pub fn pipeline(&self) -> crm::pipeline::Pipeline<'_> {
        crm::pipeline::Pipeline(self)
    }
    pub fn reports(&self) -> crm::dashboard::Reports<'_> {
        crm::dashboard::Reports(self)
    }
    pub fn tags(&self) -> crm::tags::Tags<'_> {
        crm::tags::Tags(self)
    }
    pub fn imports(&self) -> crm::import::Imports<'_> {
        crm::import::Imports(self)
    }
    pub fn exports(&self) -> crm::export::Exports<'_> {
        crm::export::Exports(self)
    }
    pub fn sessions(&self) -> auth::Sessions<'_> {
        auth::Sessions(self)
    }
    pub fn account(&self) -> auth::Account<'_> {
        auth::Account(self)
    }
    pub fn tokens(&self) -> auth::Tokens<'_> {
        auth::Tokens(self)
    }
    pub fn mfa(&self) -> auth::Mfa<'_> {
        auth::Mfa(self)
    }
    pub fn links(&self) -> auth::Links<'_> {
        auth::Links(self)
    }
    pub fn setup(&self) -> auth::Setup<'_> {
        auth::Setup(self)
    }
    pub fn throttle(&self) -> auth::Throttle<'_> {
        auth::Throttle(self)
    }
    pub fn search(&self) -> search::Search<'_> {
        search::Search(self)
    }
    pub fn alerts(&self) -> alerts::Alerts<'_> {
        alerts::Alerts(self)
    }
    pub fn webhooks(&self) -> webhook::Webhooks<'_> {
        webhook::Webhooks(self)
    }
    pub fn users(&self) -> users::Users<'_> {
        users::Users(self)
    }
    pub fn audit(&self) -> audit::Audit<'_> {
        audit::Audit(self)
    }
    pub fn settings(&self) -> settings::Settings<'_> {
        settings::Settings(self)
    }
    pub fn email(&self) -> email::Email<'_> {
        email::Email(self)
    }
    pub fn keys(&self) -> key_rotation::Keys<'_> {
        key_rotation::Keys(self)
    }
    pub fn backups(&self) -> backup::Backups<'_> {
        backup::Backups(self)
    }
    pub fn perf_report(&self) -> perf_report::PerfReport<'_> {
        perf_report::PerfReport(self)
    }
    pub fn offline(&self) -> offline::Offline<'_> {
        offline::Offline(self)
    }
    pub fn onboarding(&self) -> onboarding::Onboarding<'_> {
        onboarding::Onboarding(self)
    }
    pub fn portal(&self) -> portal::Portal<'_> {
        portal::Portal(self)
    }
    pub fn files(&self) -> files::Files<'_> {
        files::Files(self)
    }
    pub fn ops_alerts(&self) -> ops_alerts::OpsAlerts<'_> {
        ops_alerts::OpsAlerts(self)
    }
    pub fn acme(&self) -> acme::Acme<'_> {
        acme::Acme(self)
    }
}

impl App {
    /// Opens the store in a locked data directory (blocking: call from a blocking context).
    pub fn open(data_dir: DataDir, clock: Arc<dyn Clock>) -> Result<App, OpenError> {
        let master_key = data_dir.master_key()?;
        // Before a migration changes the store: a snapshot to roll back to.
        let now = clock.now().unix_timestamp();
        if let Some(schema) = backup::pre_upgrade::pending(&data_dir.store_path()).map_err(OpenError::Snapshot)? {
            let path = backup::pre_upgrade::write(&data_dir, &master_key, schema, now).map_err(OpenError::Snapshot)?;
            tracing::info!(schema, path = %path.display(), "pre-upgrade snapshot written");
        }
        let store = Store::open(&data_dir.store_path(), &master_key, clock.now().unix_timestamp())?;
        let security_policy = store.load_setting(SECURITY_POLICY).map_err(StoreOpenError::Setting)?.unwrap_or_default();
        let email = store.load_setting(EMAIL_SETTINGS).map_err(StoreOpenError::Setting)?.unwrap_or_default();
        let alert_settings =
            store.load_setting(webhook::ALERT_SETTINGS).map_err(StoreOpenError::Setting)?.unwrap_or_default();
        let rate_limits: RateLimitPolicy =
            store.load_setting(RATE_LIMIT_POLICY).map_err(StoreOpenError::Setting)?.unwrap_or_default();
        let file_link_key = crypto::MacKey::derive(&master_key, "holdfast file links v1");
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
            emailed: alerts::Emailed::default(),
            alert_settings: RwLock::new(alert_settings),
            webhook: webhook::WebhookQueue::default(),
            rotating: std::sync::atomic::AtomicBool::new(false),
            file_link_key,
            scanner: RwLock::new(None),
            upload_slots: files::upload_slots(),
            public_origin: RwLock::new(None),
            metrics: metrics::Metrics::default(),
            ops_firing: Default::default(),
            started: Instant::now(),
            search: Mutex::new(None),
            segment_keys: Mutex::new(None),
            recently_deleted: crm::undo::RecentlyDeleted::default(),
            setup_restore: Mutex::default(),
            restart: tokio::sync::Notify::new(),
        })))
    }

    /// Sets the public origin emailed links start with (from the config file, at start).
    pub fn use_public_origin(&self, origin: Option<String>) {
        *self.0.public_origin.write().unwrap_or_else(|p| p.into_inner()) = origin;
    }

    /// The public origin emailed links start with, if one is configured.
    pub fn public_origin(&self) -> Option<String> {
        self.0.public_origin.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The server's metrics (rendered at `/metrics`).
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.0.metrics
    }

    /// The state the services share (their own fields: settings in force, queues).
    fn inner(&self) -> &Inner {
        &self.0
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

    pub(crate) fn setup_restore_state(&self) -> &Mutex<backup::offsite::SetupRestore> {
        &self.0.setup_restore
    }

    /// Asks the running server to stop and start again (`holdfast serve` re-executes itself).
    pub fn request_restart(&self) {
        self.0.restart.notify_one();
    }

    /// Resolves once a restart was asked for.
    pub async fn restart_requested(&self) {
        self.0.restart.notified().await;
    }

    pub(crate) fn recently_deleted(&self) -> &crm::undo::RecentlyDeleted {
        &self.0.recently_deleted
    }

    pub(crate) fn segment_keys(&self) -> &Mutex<Option<(i64, Arc<backup::format::Keyring>)>> {
        &self.0.segment_keys
    }

    pub(crate) fn sealer(&self) -> &Sealer {
        &self.0.sealer
    }

    pub fn csrf_key(&self) -> &CsrfKey {
        &self.0.csrf_key
    }

    pub(crate) fn file_link_key(&self) -> &crypto::MacKey {
        &self.0.file_link_key
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

    pub(crate) fn emailed(&self) -> &alerts::Emailed {
        &self.0.emailed
    }

    pub(crate) fn failures_by_address(&self) -> &FailureTracker {
        &self.0.failures_by_address
    }

    pub(crate) fn failures_by_account(&self) -> &FailureTracker {
        &self.0.failures_by_account
    }

    /// Puts new rate limits in force.
    fn apply_rate_limits(&self, policy: RateLimitPolicy) {
        *self.0.limiters.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Limiters::new(policy));
    }

    /// Puts a new security policy in force.
    fn apply_security_policy(&self, policy: SecurityPolicy) {
        *self.0.security_policy.write().unwrap_or_else(|p| p.into_inner()) = policy;
    }

    /// The security policy in force (cached; changed through [`settings::Settings::save_security_policy`]).
    pub fn security_policy(&self) -> SecurityPolicy {
        self.0.security_policy.read().unwrap_or_else(|p| p.into_inner()).clone()
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
}
