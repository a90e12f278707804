//! Shared plumbing of the offline commands: open the data directory (failing at once if a
//! running server holds it), run one async job, and map errors to exit codes.

use std::future::Future;
use std::sync::Arc;

use crate::app::App;
use crate::app::clock::SystemClock;
use crate::config::Config;
use crate::datadir::DataDir;
use crate::error::AppError;

/// Opens the app on `config`'s data directory and runs `job` with it.
pub fn run<F, Fut>(config: &Config, job: F) -> u8
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = Result<(), AppError>>,
{
    let app = match DataDir::open(&config.data_dir)
        .map_err(crate::app::OpenError::from)
        .and_then(|dir| App::open(dir, Arc::new(SystemClock)))
    {
        Ok(app) => app,
        Err(e) => {
            eprintln!("holdfast: {e}");
            return e.exit_code();
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("holdfast: cannot start the async runtime: {e}");
            return super::exit::FAILURE;
        }
    };
    match runtime.block_on(job(app)) {
        Ok(()) => 0,
        Err(e) => {
            let field = e.field_name().map(|f| format!(" ({f})")).unwrap_or_default();
            eprintln!("holdfast: {}{field}", e);
            if let Some(detail) = e.detail() {
                eprintln!("holdfast: detail: {detail}");
            }
            let code = e.code().as_str();
            if code.starts_with("E2") { super::exit::USAGE } else { super::exit::FAILURE }
        }
    }
}

/// Where links printed by the CLI point: the public URL, else this host's HTTPS listener.
pub fn public_origin(config: &Config) -> String {
    match &config.server.public_url {
        Some(url) => url.origin().ascii_serialization(),
        None => format!("https://localhost:{}", config.server.listen.port()),
    }
}
