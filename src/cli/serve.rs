//! `holdfast serve`: run the server until Ctrl-C or SIGTERM.

use std::sync::Arc;

use crate::app::clock::SystemClock;
use crate::config::Config;
use crate::startup::Application;
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
    runtime.block_on(async move {
        let application = match Application::build(config, Arc::new(SystemClock)).await {
            Ok(application) => application,
            Err(e) => {
                tracing::error!(error = %e, "Holdfast cannot start");
                eprintln!("holdfast: {e}");
                return e.exit_code();
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
        application.run(shutdown_signal()).await;
        0
    })
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
