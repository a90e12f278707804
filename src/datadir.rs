//! The data directory: its layout, the lock that keeps a second process out, and the master key.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::app::crypto::MasterKey;

/// Why the data directory can't be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("the data directory {0} is in use by another Holdfast process (stop it first)")]
    InUse(PathBuf),
    #[error("{0} is readable by group or others; run `chmod 600 {0}` (the master key protects every encrypted field)")]
    KeyPermissions(PathBuf),
    #[error(
        "{0} is missing but the store exists: restore the key from your backup (without it, encrypted fields are lost)"
    )]
    KeyMissing(PathBuf),
    #[error("{0} is not a valid master key (expected 32 bytes)")]
    KeyInvalid(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl DataDirError {
    /// The process exit code of CONTRACT.md: 3 when the directory is in use, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            DataDirError::InUse(_) => 3,
            _ => 1,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io { path: path.to_path_buf(), source }
}

/// An opened, locked data directory. The lock is released when this is dropped.
#[derive(Debug)]
pub struct DataDir {
    root: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates the directory tree if needed (mode 0700) and takes the exclusive lock.
    pub fn open(root: &Path) -> Result<DataDir, DataDirError> {
        for dir in [root.to_path_buf(), root.join("keys"), root.join("tls"), root.join("backups"), root.join("files")] {
            fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(io_err(&dir))?;
        }
        let lock_path = root.join("holdfast.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(DataDirError::InUse(root.to_path_buf())),
            Err(fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }
        Ok(DataDir { root: root.to_path_buf(), _lock: lock })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn store_path(&self) -> PathBuf {
        self.root.join("holdfast.redb")
    }

    pub fn search_dir(&self) -> PathBuf {
        self.root.join("search")
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.root.join("keys").join("master.key")
    }

    pub fn tls_cert_path(&self) -> PathBuf {
        self.root.join("tls").join("cert.pem")
    }

    pub fn tls_key_path(&self) -> PathBuf {
        self.root.join("tls").join("key.pem")
    }

    /// The certificate chain an ACME CA issued (and its key, next to it).
    pub fn acme_cert_path(&self) -> PathBuf {
        self.root.join("tls").join("acme-cert.pem")
    }

    pub fn acme_key_path(&self) -> PathBuf {
        self.root.join("tls").join("acme-key.pem")
    }

    pub fn setup_token_path(&self) -> PathBuf {
        self.root.join("setup-token")
    }

    /// Sealed file blobs (attachments), under random names.
    pub fn files_dir(&self) -> PathBuf {
        self.root.join("files")
    }

    pub fn backups_dir(&self) -> PathBuf {
        self.root.join("backups")
    }

    /// Loads the master key, generating it on first start. Refuses a key others can read, and a
    /// missing key when the store already exists (its encrypted fields would be unreadable).
    pub fn master_key(&self) -> Result<MasterKey, DataDirError> {
        let path = self.master_key_path();
        match fs::metadata(&path) {
            Ok(meta) => {
                if meta.permissions().mode() & 0o077 != 0 {
                    return Err(DataDirError::KeyPermissions(path));
                }
                let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(33));
                File::open(&path).and_then(|f| f.take(33).read_to_end(&mut bytes)).map_err(io_err(&path))?;
                let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| DataDirError::KeyInvalid(path.clone()))?;
                Ok(MasterKey::from_bytes(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.store_path().exists() {
                    return Err(DataDirError::KeyMissing(path));
                }
                let key = MasterKey::generate();
                write_private_file(&path, key.expose_bytes())?;
                Ok(key)
            }
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Bytes used by everything in the data directory (for the system page).
    pub fn size_bytes(&self) -> u64 {
        fn walk(dir: &Path) -> u64 {
            let Ok(entries) = fs::read_dir(dir) else { return 0 };
            entries
                .flatten()
                .map(|entry| match entry.metadata() {
                    Ok(meta) if meta.is_dir() => walk(&entry.path()),
                    Ok(meta) => meta.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.root)
    }

    /// Free bytes on the file system that holds the data directory.
    pub fn free_bytes(&self) -> Option<u64> {
        self.disk().map(|disk| disk.free)
    }

    /// The filesystem holding the data directory: its free space and its size, in bytes.
    pub fn disk(&self) -> Option<Disk> {
        let stat = rustix::fs::statvfs(&self.root).ok()?;
        Some(Disk {
            free: stat.f_bavail.saturating_mul(stat.f_frsize),
            size: stat.f_blocks.saturating_mul(stat.f_frsize),
        })
    }
}

/// Free space and size of a filesystem, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Disk {
    pub free: u64,
    pub size: u64,
}

impl Disk {
    /// The share in use (0 to 1).
    pub fn used(self) -> f64 {
        if self.size == 0 { 0.0 } else { 1.0 - self.free as f64 / self.size as f64 }
    }
}

/// Writes a file readable only by its owner, atomically: a crash never leaves a half-written
/// file under the final name.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), DataDirError> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp).map_err(io_err(&tmp))?;
    file.write_all(contents).and_then(|()| file.sync_all()).map_err(io_err(&tmp))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600)).map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))?;
    if let Some(parent) = path.parent() {
        File::open(parent).and_then(|d| d.sync_all()).map_err(io_err(parent))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_is_refused_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::open(dir.path()).unwrap();
        assert!(matches!(DataDir::open(dir.path()), Err(DataDirError::InUse(_))));
        drop(first);
        DataDir::open(dir.path()).unwrap();
    }

    #[test]
    fn master_key_is_private_stable_and_guarded() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let key = data.master_key().unwrap();
        let mode = fs::metadata(data.master_key_path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(data.master_key().unwrap().expose_bytes(), key.expose_bytes());

        fs::set_permissions(data.master_key_path(), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(data.master_key(), Err(DataDirError::KeyPermissions(_))));

        fs::remove_file(data.master_key_path()).unwrap();
        fs::write(data.store_path(), b"").unwrap();
        assert!(matches!(data.master_key(), Err(DataDirError::KeyMissing(_))));
    }
}
