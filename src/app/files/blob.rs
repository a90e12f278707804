//! A file's bytes at rest: `HFFILE01 ‖ nonce prefix (7)`, then AES-256-GCM chunks of 64 KiB
//! (the STREAM construction the backups use) under the file's own data key. Each chunk's nonce
//! is `prefix ‖ counter (u32 BE) ‖ last (1)` and its associated data binds the header and the
//! file's place (workspace, record, file id), so a chunk moved, dropped, reordered or copied
//! into another file fails to open. Blobs are written under a temporary name, fsynced and
//! renamed: a crash leaves a whole blob or none.

use std::ops::Range;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt};
use zeroize::Zeroizing;

use crate::domain::crm::Kind;
use crate::domain::ids::{RecordId, WorkspaceId};
use crate::error::{AppError, ErrorCode};

const MAGIC: &[u8; 8] = b"HFFILE01";
const PREFIX: usize = 7;
const HEADER: usize = MAGIC.len() + PREFIX;
/// Plaintext bytes per chunk (the last may be shorter; empty only for an empty file).
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;

/// A file's data key (random, one per file; stored sealed under the keyring).
pub struct FileKey(Zeroizing<[u8; 32]>);

impl FileKey {
    pub fn generate() -> FileKey {
        FileKey(Zeroizing::new(rand::random()))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<FileKey, AppError> {
        let key: [u8; 32] = bytes.try_into().map_err(|_| corrupt("file key"))?;
        Ok(FileKey(Zeroizing::new(key)))
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(self.0.as_slice()).expect("32-byte key")
    }
}

/// Where a file belongs: bound into every chunk.
pub struct Place {
    pub workspace: WorkspaceId,
    pub kind: Kind,
    pub record: RecordId,
    pub file: RecordId,
}

impl Place {
    fn bytes(&self) -> Vec<u8> {
        [self.workspace.as_bytes().as_slice(), &[self.kind.byte()], self.record.as_bytes(), self.file.as_bytes()]
            .concat()
    }
}

fn corrupt(what: &str) -> AppError {
    AppError::internal(ErrorCode::StorageUnavailable, format!("stored file damaged: {what}"))
}

fn nonce(prefix: &[u8; PREFIX], counter: u32, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..PREFIX].copy_from_slice(prefix);
    nonce[PREFIX..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

/// Seals a file's bytes into a blob as they arrive.
pub struct BlobWriter {
    file: tokio::fs::File,
    temporary: PathBuf,
    cipher: Aes256Gcm,
    prefix: [u8; PREFIX],
    aad: Vec<u8>,
    pending: Zeroizing<Vec<u8>>,
    counter: u32,
}

impl BlobWriter {
    /// Starts a blob at `temporary` (renamed into place by [`BlobWriter::finish`]).
    pub async fn create(temporary: PathBuf, key: &FileKey, place: &Place) -> Result<BlobWriter, AppError> {
        let prefix: [u8; PREFIX] = rand::random();
        let mut file = tokio::fs::File::create(&temporary).await.map_err(io)?;
        file.write_all(MAGIC).await.map_err(io)?;
        file.write_all(&prefix).await.map_err(io)?;
        let aad = [&MAGIC[..], &prefix, &place.bytes()].concat();
        let pending = Zeroizing::new(Vec::with_capacity(CHUNK * 2));
        Ok(BlobWriter { file, temporary, cipher: key.cipher(), prefix, aad, pending, counter: 0 })
    }

    /// Seals what fills whole chunks (a full chunk waits until more follows: the last is marked).
    pub async fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        self.pending.extend_from_slice(data);
        while self.pending.len() > CHUNK {
            let rest = self.pending.split_off(CHUNK);
            let chunk = std::mem::replace(&mut *self.pending, rest);
            self.seal(&Zeroizing::new(chunk), false).await?;
        }
        Ok(())
    }

    async fn seal(&mut self, chunk: &[u8], last: bool) -> Result<(), AppError> {
        let nonce = nonce(&self.prefix, self.counter, last);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: chunk, aad: &self.aad })
            .map_err(|_| AppError::internal(ErrorCode::Internal, "sealing a file chunk failed"))?;
        self.file.write_all(&sealed).await.map_err(io)?;
        self.counter = self.counter.checked_add(1).ok_or_else(|| corrupt("too many chunks"))?;
        Ok(())
    }

    /// Seals the last chunk, fsyncs, and renames the blob to `path`.
    pub async fn finish(mut self, path: &Path) -> Result<(), AppError> {
        let last = std::mem::take(&mut *self.pending);
        self.seal(&Zeroizing::new(last), true).await?;
        self.file.sync_all().await.map_err(io)?;
        tokio::fs::rename(&self.temporary, path).await.map_err(io)?;
        if let Some(dir) = path.parent() {
            tokio::fs::File::open(dir).await.map_err(io)?.sync_all().await.map_err(io)?;
        }
        Ok(())
    }
}

fn io(error: std::io::Error) -> AppError {
    AppError::internal(ErrorCode::StorageUnavailable, format!("file storage: {error}"))
}

/// Opens the plaintext bytes `range` of the blob at `path` (a file of `size` bytes) into
/// `out`, chunk by chunk. Every chunk read is authenticated first: a damaged chunk stops the
/// copy with an error.
pub async fn open_range(
    path: &Path,
    key: &FileKey,
    place: &Place,
    size: u64,
    range: Range<u64>,
    out: &mut (impl AsyncWrite + Unpin),
) -> Result<(), AppError> {
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut header = [0u8; HEADER];
    file.read_exact(&mut header).await.map_err(|_| corrupt("header"))?;
    if &header[..MAGIC.len()] != MAGIC {
        return Err(corrupt("magic"));
    }
    let prefix: [u8; PREFIX] = header[MAGIC.len()..].try_into().expect("7 bytes");
    let aad = [&header[..], &place.bytes()].concat();
    let chunks = size.div_ceil(CHUNK as u64).max(1);
    let cipher = key.cipher();
    let first = range.start / CHUNK as u64;
    file.seek(std::io::SeekFrom::Start(HEADER as u64 + first * (CHUNK + TAG) as u64)).await.map_err(io)?;
    let mut sealed = vec![0u8; CHUNK + TAG];
    for index in first..chunks {
        let start = index * CHUNK as u64;
        if start >= range.end && index > first {
            break;
        }
        let plain_len = (size - start).min(CHUNK as u64) as usize;
        let buffer = &mut sealed[..plain_len + TAG];
        file.read_exact(buffer).await.map_err(|_| corrupt("truncated"))?;
        let counter = u32::try_from(index).map_err(|_| corrupt("too many chunks"))?;
        let nonce = nonce(&prefix, counter, index + 1 == chunks);
        let plain = Zeroizing::new(
            cipher
                .decrypt(Nonce::from_slice(&nonce), Payload { msg: buffer, aad: &aad })
                .map_err(|_| corrupt("a chunk failed authentication"))?,
        );
        let from = range.start.saturating_sub(start) as usize;
        let to = (range.end - start).min(plain.len() as u64) as usize;
        if from < to {
            out.write_all(&plain[from..to]).await.map_err(io)?;
        }
    }
    if range.end >= size && file.read(&mut [0u8; 1]).await.map_err(io)? != 0 {
        return Err(corrupt("data after the last chunk"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place {
            workspace: WorkspaceId::random(),
            kind: Kind::Contact,
            record: RecordId::random(),
            file: RecordId::random(),
        }
    }

    async fn sealed(dir: &Path, bytes: &[u8], key: &FileKey, place: &Place) -> PathBuf {
        let path = dir.join("blob");
        let mut writer = BlobWriter::create(dir.join("blob.tmp"), key, place).await.unwrap();
        for piece in bytes.chunks(10_000) {
            writer.write(piece).await.unwrap();
        }
        writer.finish(&path).await.unwrap();
        path
    }

    async fn opened(
        path: &Path,
        key: &FileKey,
        place: &Place,
        size: u64,
        range: Range<u64>,
    ) -> Result<Vec<u8>, AppError> {
        let mut out = Vec::new();
        open_range(path, key, place, size, range, &mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn blobs_round_trip_whole_and_by_range_and_fail_closed() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let (key, place) = (FileKey::generate(), place());
            let path = sealed(dir.path(), &bytes, &key, &place).await;
            let size = len as u64;
            assert_eq!(opened(&path, &key, &place, size, 0..size).await.unwrap(), bytes, "{len}");
            if len > 10 {
                let range = (size / 2 - 5)..(size - 3);
                let part = opened(&path, &key, &place, size, range.clone()).await.unwrap();
                assert_eq!(part, &bytes[range.start as usize..range.end as usize], "{len}");
            }
            assert!(opened(&path, &FileKey::generate(), &place, size, 0..size).await.is_err(), "another key");
            let moved = Place { file: RecordId::random(), ..place };
            assert!(opened(&path, &key, &moved, size, 0..size).await.is_err(), "another file's place");
        }
        let (key, place) = (FileKey::generate(), place());
        let bytes = vec![7u8; 2 * CHUNK + 5];
        let path = sealed(dir.path(), &bytes, &key, &place).await;
        let mut stored = std::fs::read(&path).unwrap();
        stored[HEADER + CHUNK + 40] ^= 1;
        std::fs::write(&path, &stored).unwrap();
        let error = opened(&path, &key, &place, bytes.len() as u64, 0..bytes.len() as u64).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::StorageUnavailable, "one flipped byte");
    }
}
