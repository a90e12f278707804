//! `holdfast backup create | verify | restore` (files, or `s3://` buckets: see `offsite`).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use secrecy::SecretString;

use super::{offline, offsite};
use crate::app::auth::password::check_new_password;
use crate::app::backup::{self, Summary};
use crate::app::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::datadir::DataDir;

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Write an encrypted snapshot (default: backups/holdfast-<time>.hfb in the data dir).
    Create {
        #[arg(long)]
        out: Option<PathBuf>,
        /// A file whose first line is the passphrase.
        #[arg(long)]
        passphrase_file: PathBuf,
    },
    /// Decrypt and check everything (a file, or every base in `s3://BUCKET/PREFIX`); exit 0
    /// only if intact.
    Verify {
        file: PathBuf,
        #[arg(long)]
        passphrase_file: PathBuf,
    },
    /// Restore a file or `s3://BUCKET/PREFIX` into --data-dir (empty unless --force; the
    /// previous data is kept aside).
    Restore {
        file: PathBuf,
        #[arg(long)]
        passphrase_file: PathBuf,
        #[arg(long)]
        force: bool,
        /// From a bucket: the newest backup made at or before this time (RFC 3339).
        #[arg(long)]
        at: Option<String>,
    },
}

fn is_s3(file: &Path) -> bool {
    file.to_string_lossy().starts_with("s3://")
}

pub(super) fn read_passphrase(path: &Path) -> Result<SecretString, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or("").to_owned();
    if line.is_empty() {
        return Err(format!("{} has no passphrase on its first line", path.display()));
    }
    Ok(SecretString::from(line))
}

pub(super) fn describe(summary: &Summary) -> String {
    format!(
        "{} rows in {} tables, {} files; written by Holdfast {} (store schema {})",
        summary.rows(),
        summary.trailer.tables.len(),
        summary.trailer.files,
        summary.manifest.holdfast_version,
        summary.manifest.schema_version
    )
}

pub fn run(config: &Config, command: BackupCommand) -> u8 {
    let passphrase_file = match &command {
        BackupCommand::Create { passphrase_file, .. }
        | BackupCommand::Verify { passphrase_file, .. }
        | BackupCommand::Restore { passphrase_file, .. } => passphrase_file.clone(),
    };
    let passphrase = match read_passphrase(&passphrase_file) {
        Ok(passphrase) => passphrase,
        Err(e) => {
            eprintln!("holdfast: {e}");
            return super::exit::USAGE;
        }
    };
    match command {
        BackupCommand::Create { out, .. } => {
            if let Err(e) = check_new_password(&passphrase, &Default::default(), &["holdfast", "backup"]) {
                eprintln!(
                    "holdfast: the passphrase is too weak ({}): use a long passphrase of several words",
                    e.code()
                );
                return super::exit::USAGE;
            }
            let stamp = SystemClock.now().unix_timestamp();
            let out = out.unwrap_or_else(|| config.data_dir.join("backups").join(format!("holdfast-{stamp}.hfb")));
            offline::run(config, |app| async move {
                let summary = app.backups().create(&out, &passphrase).await?;
                println!("{}: {}", out.display(), describe(&summary));
                Ok(())
            })
        }
        BackupCommand::Verify { file, .. } if is_s3(&file) => offsite::verify(&file.to_string_lossy(), &passphrase),
        BackupCommand::Restore { file, force, at, .. } if is_s3(&file) => {
            offsite::restore(config, &file.to_string_lossy(), &passphrase, at.as_deref(), force)
        }
        BackupCommand::Verify { file, .. } => match backup::verify_file(&file, &passphrase) {
            Ok(summary) => {
                println!("intact: {}", describe(&summary));
                0
            }
            Err(e) => {
                eprintln!("holdfast: {}: {e}", file.display());
                super::exit::FAILURE
            }
        },
        BackupCommand::Restore { at: Some(_), .. } => {
            eprintln!("holdfast: --at chooses among the backups in a bucket: give s3://BUCKET/PREFIX");
            super::exit::USAGE
        }
        BackupCommand::Restore { file, force, .. } => {
            let lock = match DataDir::open(&config.data_dir) {
                Ok(lock) => lock,
                Err(e) => {
                    eprintln!("holdfast: {e}");
                    return e.exit_code();
                }
            };
            match backup::restore_into(lock.root(), &file, &passphrase, force, SystemClock.now().unix_timestamp()) {
                Ok((summary, aside)) => {
                    println!("restored: {}", describe(&summary));
                    if let Some(aside) = aside {
                        println!("the previous data is kept in {}", aside.display());
                    }
                    0
                }
                Err(e) => {
                    eprintln!("holdfast: restore failed, nothing was changed: {e}");
                    super::exit::FAILURE
                }
            }
        }
    }
}
