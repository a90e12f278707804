//! Startup: open the data directory and store, prepare TLS, bind the listeners, then serve
//! until shutdown while background tasks keep the certificate fresh and the search index
//! current (rebuilt in the background when missing, so the server starts at once).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::app::clock::Clock;
use crate::app::{App, OpenError};
use crate::config::{Config, HttpListen, TlsMode};
use crate::datadir::DataDir;
use crate::error::AppError;
use crate::tls::acme::AcmeSettings;
use crate::tls::{CertManager, TlsError, self_signed_names};
use crate::web::{self, AppState, redirect};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("{0}")]
    App(#[from] AppError),
}

impl StartupError {
    /// Exit code of CONTRACT.md (3 = data dir in use, else 1).
    pub fn exit_code(&self) -> u8 {
        match self {
            StartupError::Open(e) => e.exit_code(),
            _ => 1,
        }
    }
}

/// A bound, ready-to-run server.
/// Why [`Application::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Ctrl-C, SIGTERM, or the caller's own signal.
    Shutdown,
    /// The data directory was replaced (a restore from the setup page): start again on it.
    Restart,
}

pub struct Application {
    state: AppState,
    https: TcpListener,
    http: Option<TcpListener>,
    acceptor: Option<TlsAcceptor>,
    setup_url: Option<String>,
}

impl Application {
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Application, StartupError> {
        let config = Arc::new(config);
        let dir = config.data_dir.clone();
        let open_clock = clock.clone();
        let app = tokio::task::spawn_blocking(move || App::open(DataDir::open(&dir)?, open_clock))
            .await
            .map_err(|e| AppError::internal(crate::error::ErrorCode::Internal, e))??;
        // A key rotation interrupted by a crash or stop continues in the background.
        app.keys().spawn_rotation();
        let scanner = crate::app::files::ScannerAddress::parse(&config.scan.clamd)
            .map_err(|why| AppError::internal(crate::error::ErrorCode::Internal, why))?
            .map(|address| crate::app::files::Scanner::new(address, Duration::from_secs(config.scan.timeout_s)));
        app.files().use_scanner(scanner);
        app.use_public_origin(config.server.public_url.as_ref().map(|url| url.origin().ascii_serialization()));
        // Uploads or deletions cut off by a crash leave blobs no file names: gone before any
        // upload is taken.
        let swept = app.files().sweep().await?;
        if swept > 0 {
            tracing::info!(swept, "removed unfinished or orphaned file blobs");
        }

        let tls = match config.tls.mode {
            TlsMode::SelfSigned => {
                let names = self_signed_names(config.server.public_url.as_ref().and_then(|u| u.host_str()));
                let (cert, key) = (app.data_dir().tls_cert_path(), app.data_dir().tls_key_path());
                let clock = clock.clone();
                Some(
                    tokio::task::spawn_blocking(move || CertManager::self_signed(cert, key, names, clock))
                        .await
                        .map_err(|e| AppError::internal(crate::error::ErrorCode::Internal, e))??,
                )
            }
            TlsMode::Files => {
                Some(CertManager::files(config.tls.cert_file.clone(), config.tls.key_file.clone(), clock.clone())?)
            }
            TlsMode::Acme => {
                let (cert, key) = (app.data_dir().acme_cert_path(), app.data_dir().acme_key_path());
                let (names, clock) = (config.tls.acme_domains.clone(), clock.clone());
                Some(
                    tokio::task::spawn_blocking(move || CertManager::acme(cert, key, names, clock))
                        .await
                        .map_err(|e| AppError::internal(crate::error::ErrorCode::Internal, e))??,
                )
            }
            TlsMode::Off => None,
        };
        let acceptor = tls.as_ref().map(|m| TlsAcceptor::from(m.server_config(config.tls.min_version)));

        let https = bind(config.server.listen).await?;
        let http = match config.server.http_listen {
            HttpListen::On(addr) if tls.is_some() => Some(bind(addr).await?),
            _ => None,
        };
        let https_port =
            https.local_addr().map_err(|source| StartupError::Bind { addr: config.server.listen, source })?.port();
        let origin = public_origin(&config).unwrap_or_else(|| format!("https://localhost:{https_port}"));
        let setup_url = app.setup().pending_token().await?.map(|token| format!("{origin}/setup?token={token}"));
        Ok(Application { state: AppState::new(app, config, tls), https, http, acceptor, setup_url })
    }

    pub fn https_addr(&self) -> SocketAddr {
        self.https.local_addr().expect("bound listener has an address")
    }

    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The first-run URL while no user exists.
    pub fn setup_url(&self) -> Option<&str> {
        self.setup_url.as_deref()
    }

    pub fn app(&self) -> &App {
        &self.state.app
    }

    pub fn cert_manager(&self) -> Option<Arc<CertManager>> {
        self.state.tls.clone()
    }

    /// Serves until `shutdown` resolves or the application asks for a restart (after a restore
    /// from the setup page); answers which.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Stopped {
        let (stop, stopped) = watch::channel(());
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(http) = self.http {
            let target = redirect::RedirectTarget {
                public_origin: public_origin(&self.state.config),
                https_port: self.https.local_addr().map(|a| a.port()).unwrap_or(443),
                certificate: self.state.tls.clone(),
            };
            tasks.spawn(web::server::serve(http, None, redirect::router(target), stopped.clone()));
        }
        if let Some(tls) = self.state.tls.clone() {
            tasks.spawn(keep_certificate_fresh(tls.clone(), stopped.clone()));
            if self.state.config.tls.mode == TlsMode::Acme {
                let settings = AcmeSettings::from_config(&self.state.config.tls, self.state.config.server.http_listen);
                tasks.spawn(crate::tls::acme::keep_certified(self.state.app.clone(), tls, settings, stopped.clone()));
            }
        }
        tasks.spawn(every_minute(self.state.app.clone(), self.state.tls.clone(), stopped.clone()));
        tasks.spawn(self.state.app.clone().ship_changes(stopped.clone()));
        let stopped_for_scan = stopped.clone();
        tasks.spawn(self.state.app.search().run_indexer(stopped.clone()));
        // Files stored while no scanner was configured are scanned now that one is.
        let app = self.state.app.clone();
        tasks.spawn(async move { app.files().keep_scanning(stopped_for_scan).await });
        self.state.app.webhooks().start_worker();
        tasks.spawn(crate::service_manager::keep_watchdog(self.state.app.clone(), stopped.clone()));
        let app = self.state.app.clone();
        tasks.spawn(web::server::serve(self.https, self.acceptor, web::router(self.state), stopped));
        crate::service_manager::ready();
        let why = tokio::select! {
            () = shutdown => Stopped::Shutdown,
            () = app.restart_requested() => Stopped::Restart,
        };
        tracing::info!(restart = why == Stopped::Restart, "shutting down");
        // A restart keeps the process (and its PID): the service manager need not hear of it.
        if why == Stopped::Shutdown {
            crate::service_manager::stopping();
        }
        let _ = stop.send(());
        while tasks.join_next().await.is_some() {}
        why
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr).await.map_err(|source| StartupError::Bind { addr, source })
}

fn public_origin(config: &Config) -> Option<String> {
    config.server.public_url.as_ref().map(|u| u.origin().ascii_serialization())
}

/// Renews the self-signed certificate when due (checked hourly) and reloads certificate files
/// when they change (checked every 10 s) or on SIGHUP. (ACME certificates are renewed by
/// their own task.)
async fn keep_certificate_fresh(tls: Arc<CertManager>, mut stopped: watch::Receiver<()>) {
    let period = if tls.info().self_signed() { Duration::from_secs(3600) } else { Duration::from_secs(10) };
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let forced = tokio::select! {
            _ = tick.tick() => false,
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
            _ = stopped.changed() => return,
        };
        let tls = tls.clone();
        let outcome = tokio::task::spawn_blocking(move || if forced { tls.reload() } else { tls.refresh() }).await;
        match outcome {
            Ok(Err(e)) => tracing::error!(error = %e, "certificate refresh failed; keeping the current certificate"),
            Err(e) => tracing::error!(error = %e, "certificate refresh task failed"),
            Ok(Ok(_)) => {}
        }
    }
}

/// Once a minute: drop rate-limit keys whose buckets are full again, forget day-old idempotent
/// answers, run the backup schedule (daily backup, weekly drill, staleness alert) and judge
/// the operational alerts.
async fn every_minute(app: crate::app::App, tls: Option<Arc<CertManager>>, mut stopped: watch::Receiver<()>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                app.limiters().sweep();
                app.metrics().upkeep();
                if let Err(e) = app.records().expire_idempotency().await {
                    tracing::error!(code = %e.code(), detail = e.detail().unwrap_or(""), "idempotency sweep failed");
                }
                if let Err(e) = app.perf_report().send_if_due().await {
                    tracing::error!(code = %e.code(), detail = e.detail().unwrap_or(""), "performance report failed");
                }
                if let Err(e) = app.portal().send_due_reminders().await {
                    tracing::error!(code = %e.code(), detail = e.detail().unwrap_or(""), "portal reminders failed");
                }
                if let Err(e) = app.backups().run_schedule().await {
                    tracing::error!(code = %e.code(), detail = e.detail().unwrap_or(""), "backup schedule failed");
                }
                let certificate_left = tls.as_ref().map(|tls| tls.info().not_after.unix_timestamp() - app.now());
                if let Err(e) = app.ops_alerts().evaluate(certificate_left).await {
                    tracing::error!(code = %e.code(), detail = e.detail().unwrap_or(""), "alert evaluation failed");
                }
            }
            _ = stopped.changed() => return,
        }
    }
}
