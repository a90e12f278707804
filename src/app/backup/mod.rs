//! Encrypted backups: create (a consistent snapshot, encrypted with a passphrase, written
//! under a temporary name, synced, renamed, then verified in full), verify, and restore into a
//! staging directory before swapping it in (the replaced data is kept aside, never deleted).

mod archive;
pub mod format;
pub mod offsite;
pub mod pre_upgrade;
pub mod schedule;

use std::fs;
use std::io::{BufReader, BufWriter};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

pub use archive::{Manifest, Summary, TableSummary, Trailer};
pub use format::BackupError;

use super::App;
use crate::error::{AppError, ErrorCode};
use format::{DecryptingReader, EncryptingWriter};

crate::app::service! {
    /// Encrypted backups: creation, schedule, verification and restore drills.
    Backups
}

fn io_error(e: std::io::Error) -> BackupError {
    BackupError::Io(e)
}

/// Decrypts and checks a whole backup file without writing anything.
pub fn verify_file(path: &Path, passphrase: &SecretString) -> Result<Summary, BackupError> {
    let file = fs::File::open(path).map_err(io_error)?;
    verify_from(BufReader::new(file), passphrase)
}

/// Decrypts and checks a whole backup read from `source` without writing anything.
pub fn verify_from(source: impl std::io::Read, passphrase: &SecretString) -> Result<Summary, BackupError> {
    let mut reader = DecryptingReader::new(source, passphrase.expose_secret().as_bytes())?;
    archive::read_snapshot(&mut reader, None)
}

impl Backups<'_> {
    /// Writes an encrypted backup to `path`: temporary name, fsync, rename — a crash never
    /// leaves a partial file under the final name — then reads it back and checks it in full.
    pub async fn create(&self, path: &Path, passphrase: &SecretString) -> Result<Summary, AppError> {
        let (app, path, passphrase) = (App::clone(self), path.to_path_buf(), passphrase.clone());
        tokio::task::spawn_blocking(move || app.backups().create_blocking(&path, &passphrase))
            .await
            .map_err(|e| AppError::internal(ErrorCode::Internal, e))?
    }

    fn create_blocking(&self, path: &Path, passphrase: &SecretString) -> Result<Summary, AppError> {
        let failed = |e: BackupError| AppError::internal(ErrorCode::StorageUnavailable, e);
        let partial = path.with_extension("partial");
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .map_err(|e| failed(io_error(e)))?;
        let written = (|| {
            let mut writer = EncryptingWriter::new(BufWriter::new(file), passphrase.expose_secret().as_bytes())?;
            let summary = archive::write_snapshot(
                &*self.store().database().map_err(|e| BackupError::Io(std::io::Error::other(e.to_string())))?,
                self.master_key().expose_bytes(),
                &self.data_dir().root().join("files"),
                self.now(),
                &mut writer,
            )?;
            let buffered = writer.finish().map_err(io_error)?;
            let file = buffered.into_inner().map_err(|e| io_error(e.into_error()))?;
            file.sync_all().map_err(io_error)?;
            Ok::<_, BackupError>(summary)
        })();
        let summary = match written {
            Ok(summary) => summary,
            Err(e) => {
                let _ = fs::remove_file(&partial);
                return Err(failed(e));
            }
        };
        fs::rename(&partial, path).map_err(|e| failed(io_error(e)))?;
        if let Some(parent) = path.parent() {
            let _ = fs::File::open(parent).and_then(|d| d.sync_all());
        }
        let checked = verify_file(path, passphrase).map_err(failed)?;
        if checked.trailer != summary.trailer {
            return Err(AppError::internal(
                ErrorCode::StorageUnavailable,
                "the backup read back differs from what was written",
            ));
        }
        Ok(summary)
    }
}

/// Restores a backup into the data directory at `root` (whose lock the caller holds).
/// Everything is decrypted and checked into a staging directory first; only then is the
/// current data moved aside to `pre-restore-<time>/` and the restored data moved in. Any
/// failure before the swap leaves the current data untouched. Returns where the previous
/// data went, if there was any.
pub fn restore_into(
    root: &Path,
    backup: &Path,
    passphrase: &SecretString,
    force: bool,
    now: i64,
) -> Result<(Summary, Option<PathBuf>), BackupError> {
    let file = fs::File::open(backup).map_err(io_error)?;
    restore_from(root, BufReader::new(file), passphrase, force, now, |_, _, _| Ok(()))
}

/// [`restore_into`] from any reader of a backup (a file, an object in a bucket); `replay`
/// then works on the staged store and files directory before anything is swapped in (the
/// off-site restore applies its change segments there).
pub fn restore_from(
    root: &Path,
    source: impl std::io::Read,
    passphrase: &SecretString,
    force: bool,
    now: i64,
    replay: impl FnOnce(&Summary, &redb::Database, &Path) -> Result<(), BackupError>,
) -> Result<(Summary, Option<PathBuf>), BackupError> {
    let store = root.join("holdfast.redb");
    let key = root.join("keys").join("master.key");
    let has_data = store.exists() || key.exists();
    if has_data && !force {
        return Err(BackupError::NotEmpty(root.display().to_string()));
    }
    let staging = root.join(format!(".restore-{now}"));
    let _ = fs::remove_dir_all(&staging);
    for dir in [staging.clone(), staging.join("keys"), staging.join("files")] {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(io_error)?;
    }
    let staged = (|| {
        let database =
            redb::Database::create(staging.join("holdfast.redb")).map_err(|e| BackupError::Corrupt(e.to_string()))?;
        let txn = database.begin_write().map_err(|e| BackupError::Corrupt(e.to_string()))?;
        crate::app::store::migrations::create_tables(&txn).map_err(|e| BackupError::Corrupt(e.to_string()))?;
        txn.commit().map_err(|e| BackupError::Corrupt(e.to_string()))?;
        let mut reader = DecryptingReader::new(source, passphrase.expose_secret().as_bytes())?;
        let target = archive::RestoreTarget {
            store: &database,
            master_key: &staging.join("keys").join("master.key"),
            files: &staging.join("files"),
        };
        let summary = archive::read_snapshot(&mut reader, Some(target))?;
        replay(&summary, &database, &staging.join("files"))?;
        Ok(summary)
    })();
    let summary = match staged {
        Ok(summary) => summary,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let aside = if has_data {
        let aside = root.join(format!("pre-restore-{now}"));
        fs::DirBuilder::new().mode(0o700).create(&aside).map_err(io_error)?;
        for name in ["holdfast.redb", "keys", "files", "search"] {
            if root.join(name).exists() {
                fs::rename(root.join(name), aside.join(name)).map_err(io_error)?;
            }
        }
        Some(aside)
    } else {
        for name in ["keys", "files"] {
            let _ = fs::remove_dir(root.join(name));
        }
        None
    };
    for name in ["holdfast.redb", "keys", "files"] {
        fs::rename(staging.join(name), root.join(name)).map_err(io_error)?;
    }
    fs::remove_dir_all(&staging).map_err(io_error)?;
    if let Ok(dir) = fs::File::open(root) {
        let _ = dir.sync_all();
    }
    Ok((summary, aside))
}
