//! `holdfast serve`: run the server until Ctrl-C or SIGTERM.

use std::sync::Arc;

use crate::app::clock::SystemClock;
use crate::config::Config;
use crate::startup::{Application, Stopped};
use crate::telemetry::{self, LogFormat};

pub fn run(config: Config, log_format: LogFormat) -> u8 {
    telemetry::init(log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return super::exit::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        let application = match Application::build(config, Arc::new(SystemClock)).await {
            Ok(application) => application,
            Err(e) => {
                tracing::error!(error = %e, "Holdfast cannot start");
                eprintln!("holdfast: {e}");
                return Err(e.exit_code());
            }
        };
        tracing::info!(
            https = %application.https_addr(),
            http = ?application.http_addr(),
            version = env!("CARGO_PKG_VERSION"),
            "Holdfast is listening"
        );
        if let Some(url) = application.setup_url() {
            tracing::info!(setup_url = %url, "Holdfast is not set up yet: open the setup URL to create the first workspace and owner");
        }
        Ok(application.run(shutdown_signal()).await)
    });
    // Every task, the store and the data directory's lock are gone with the runtime.
    drop(runtime);
    match outcome {
        Ok(Stopped::Shutdown) => 0,
        Ok(Stopped::Restart) => restart(),
        Err(code) => code,
    }
}

/// Starts this binary again with the same arguments in this process (same PID, so a service
/// manager keeps following it); answers only if that failed.
fn restart() -> u8 {
    use std::os::unix::process::CommandExt;
    tracing::info!("restarting on the restored data");
    let error = match std::env::current_exe() {
        Ok(binary) => std::process::Command::new(binary).args(std::env::args_os().skip(1)).exec(),
        Err(e) => e,
    };
    tracing::error!(error = %error, "cannot restart: start Holdfast again by hand");
    eprintln!("holdfast: cannot restart ({error}): start it again by hand");
    super::exit::FAILURE
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
