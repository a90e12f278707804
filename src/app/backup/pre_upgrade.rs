//! Safe upgrades: before a schema migration touches the store, the store as it is is written
//! to `backups/pre-upgrade/schema-N-TIME.hfbak` in the backup format (encrypted, checked after
//! writing), and the newest three are kept. Their passphrase is `backups/pre-upgrade/passphrase`
//! (random, mode 0600, like `keys/master.key`), so rolling back is
//! `holdfast backup restore FILE --passphrase-file backups/pre-upgrade/passphrase --force`
//! with the Holdfast that wrote schema N.

use std::fs;
use std::io::{BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::format::EncryptingWriter;
use super::{BackupError, archive, io_error, verify_file};
use crate::app::crypto::MasterKey;
use crate::app::store::migrations;
use crate::datadir::DataDir;

/// Snapshots kept (older ones are deleted once a new one is written and checked).
const KEEP: usize = 3;

/// The schema the store at `path` was written with, when this build would migrate it
/// (`None`: a new store, or one already at this build's schema).
pub fn pending(path: &Path) -> Result<Option<u32>, BackupError> {
    if !path.exists() {
        return Ok(None);
    }
    let corrupt = |e: redb::Error| BackupError::Corrupt(e.to_string());
    let db = redb::Database::open(path).map_err(|e| corrupt(e.into()))?;
    let found = migrations::stored_version(&db).map_err(corrupt)?;
    Ok((found > 0 && found < migrations::current_version()).then_some(found))
}

/// The passphrase of the pre-upgrade snapshots, made on first use.
fn passphrase(dir: &Path) -> Result<SecretString, BackupError> {
    let path = dir.join("passphrase");
    if let Ok(text) = fs::read_to_string(&path) {
        return Ok(SecretString::from(text.trim().to_owned()));
    }
    let made = hex::encode(rand::random::<[u8; 32]>());
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(io_error)?;
    file.write_all(made.as_bytes()).and_then(|()| file.sync_all()).map_err(io_error)?;
    Ok(SecretString::from(made))
}

/// Writes and checks the snapshot of the store at `schema` before it is migrated; keeps the
/// newest three. Answers the snapshot's path.
pub fn write(data_dir: &DataDir, master: &MasterKey, schema: u32, now: i64) -> Result<PathBuf, BackupError> {
    let dir = data_dir.backups_dir().join("pre-upgrade");
    fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(io_error)?;
    let passphrase = passphrase(&dir)?;
    let path = dir.join(format!("schema-{schema}-{now}.hfbak"));
    let partial = path.with_extension("partial");
    let written = (|| {
        let db = redb::Database::open(data_dir.store_path()).map_err(|e| BackupError::Corrupt(e.to_string()))?;
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .map_err(io_error)?;
        use secrecy::ExposeSecret;
        let mut writer = EncryptingWriter::new(BufWriter::new(file), passphrase.expose_secret().as_bytes())?;
        archive::write_snapshot_of_schema(&db, schema, master.expose_bytes(), &data_dir.files_dir(), now, &mut writer)?;
        let file = writer.finish().map_err(io_error)?.into_inner().map_err(|e| io_error(e.into_error()))?;
        file.sync_all().map_err(io_error)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    fs::rename(&partial, &path).map_err(io_error)?;
    verify_file(&path, &passphrase)?;
    let mut snapshots: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(io_error)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "hfbak"))
        .collect();
    // Newest first: by the time in the name, then the name.
    let stamp =
        |p: &PathBuf| p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.rsplit('-').next()?.parse::<i64>().ok());
    snapshots.sort_by_key(|p| std::cmp::Reverse((stamp(p), p.clone())));
    for old in snapshots.iter().skip(KEEP) {
        let _ = fs::remove_file(old);
    }
    Ok(path)
}
