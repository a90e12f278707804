//! The `holdfast` command line: parse flags, set up logging, run one command, map the outcome
//! to the exit codes of CONTRACT.md (0 ok · 1 failure · 2 usage/config · 3 data dir in use).

mod admin;
mod audit;
mod backup;
mod check_config;
mod dev;
mod key_rotation;
mod offline;
mod offsite;
mod search;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What `holdfast --version` prints: the release and the store schema it writes (a test keeps
/// the number in step with the migrations).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (store schema 10)");

use crate::config::{Config, ConfigError, HttpListen, Overrides};
use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(name = "holdfast", version = VERSION, about = "A CRM and client portal for small firms, in one binary")]
pub struct Cli {
    /// Where the store, keys and certificates live.
    #[arg(long, global = true, env = "HOLDFAST_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Optional TOML config file (bootstrap settings only).
    #[arg(long, global = true, env = "HOLDFAST_CONFIG")]
    config: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "json", env = "HOLDFAST_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (HTTPS on 0.0.0.0:8443, HTTP→HTTPS redirect on 0.0.0.0:8080).
    Serve {
        /// HTTPS listen address.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// HTTP redirect listen address, or `off`.
        #[arg(long)]
        http_listen: Option<HttpListen>,
    },
    /// Validate the config and data directory; print the effective config.
    CheckConfig,
    /// Manage workspaces, users, tokens and reset links (offline).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Check the tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Create, verify and restore encrypted backups.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Rebuild the full-text search index (offline).
    #[command(subcommand)]
    Search(search::SearchCommand),
    /// Field-encryption keys: rotate them (offline).
    #[command(subcommand)]
    Keys(key_rotation::KeysCommand),
    /// Developer tools: synthetic data.
    #[command(subcommand)]
    Dev(dev::DevCommand),
    /// Keep --data-dir current from an off-site bucket (runs until stopped; prints its lag).
    Standby {
        /// `s3://BUCKET/PREFIX` (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
        /// AWS_REGION, AWS_ENDPOINT_URL).
        #[arg(long)]
        from: String,
        /// A file whose first line is the backup passphrase.
        #[arg(long)]
        passphrase_file: PathBuf,
        /// Seconds between looks at the bucket.
        #[arg(long, default_value_t = 5)]
        every: u64,
    },
    /// Make a standby's data dir the primary: take the lease, start a new generation.
    Promote,
}

/// Exit codes of CONTRACT.md.
pub(crate) mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let mut overrides = Overrides { data_dir: cli.data_dir.clone(), ..Default::default() };
    if let Command::Serve { listen, http_listen } = &cli.command {
        overrides.listen = *listen;
        overrides.http_listen = *http_listen;
    }
    let config = match load_config(&cli, &overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("holdfast: configuration error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let code = match cli.command {
        Command::Serve { .. } => serve::run(config, cli.log_format),
        Command::CheckConfig => check_config::run(&config),
        Command::Admin(command) => admin::run(&config, command),
        Command::Backup(command) => backup::run(&config, command),
        Command::Audit(command) => audit::run(&config, command),
        Command::Search(command) => search::run(&config, command),
        Command::Keys(command) => key_rotation::run(&config, command),
        Command::Dev(command) => dev::run(&config, command),
        Command::Standby { from, passphrase_file, every } => offsite::standby(&config, &from, &passphrase_file, every),
        Command::Promote => offsite::promote(&config),
    };
    ExitCode::from(code)
}

fn load_config(cli: &Cli, overrides: &Overrides) -> Result<Config, ConfigError> {
    Config::load(cli.config.as_deref(), std::env::vars(), overrides)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_names_the_schema_this_build_writes() {
        assert!(
            super::VERSION.ends_with(&format!("(store schema {})", crate::app::schema_version())),
            "{}",
            super::VERSION
        );
    }
}
