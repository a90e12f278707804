//! Moving backup bytes to and from the bucket without a copy on disk: the snapshot writer
//! (blocking, `Write`) feeds a multipart upload (async) through a small channel — a slow
//! bucket slows the writer instead of filling memory — and an object's bytes are read back as a
//! blocking `Read` for verification and restore.

use std::io::{self, Read, Write};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};

/// Bytes handed to the uploader at a time, and parts uploaded at once.
const PIECE: usize = 1024 * 1024;
const PART: usize = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

/// The blocking side: a `Write` whose bytes go to the upload.
pub(super) struct UploadWriter {
    buffer: Vec<u8>,
    pieces: mpsc::Sender<Bytes>,
    /// SHA-256 of every byte sent (the next chain link names it).
    hasher: Sha256,
}

impl UploadWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.hasher.update(&self.buffer);
        let piece = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(PIECE)));
        self.pieces.blocking_send(piece).map_err(|_| io::Error::other("the upload stopped"))
    }
}

impl Write for UploadWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= PIECE {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Uploads what `produce` writes (on a blocking thread) to `path` as one multipart upload;
/// answers `produce`'s value and the SHA-256 (hex) of the object. The object appears only if
/// `produce` succeeds and every part arrived; otherwise the upload is aborted and nothing is
/// left under `path`.
pub(super) async fn upload<T: Send + 'static, E: From<io::Error> + Send + 'static>(
    store: Arc<dyn ObjectStore>,
    path: &ObjectPath,
    produce: impl FnOnce(&mut UploadWriter) -> Result<T, E> + Send + 'static,
) -> Result<(T, String), UploadError<E>> {
    let (pieces, mut received) = mpsc::channel::<Bytes>(2);
    let producer = tokio::task::spawn_blocking(move || {
        let mut writer = UploadWriter { buffer: Vec::with_capacity(PIECE), pieces, hasher: Sha256::new() };
        let value = produce(&mut writer)?;
        writer.flush()?;
        Ok::<_, E>((value, hex::encode(writer.hasher.finalize())))
    });
    let mut upload = WriteMultipart::new_with_chunk_size(store.put_multipart(path).await?, PART);
    let mut failed = None;
    while let Some(piece) = received.recv().await {
        if let Err(e) = upload.wait_for_capacity(PARTS_IN_FLIGHT).await {
            failed = Some(e);
            break;
        }
        upload.put(piece);
    }
    // Dropping the receiver stops a producer still writing.
    drop(received);
    let produced = producer.await.map_err(|e| UploadError::Stopped(e.to_string()))?;
    match (produced, failed) {
        (Ok(value), None) => {
            upload.finish().await?;
            Ok(value)
        }
        (Ok(_), Some(e)) => {
            let _ = upload.abort().await;
            Err(UploadError::Store(e))
        }
        (Err(e), _) => {
            let _ = upload.abort().await;
            Err(UploadError::Produce(e))
        }
    }
}

/// Why an upload did not happen.
#[derive(Debug, thiserror::Error)]
pub(super) enum UploadError<E> {
    #[error("{0}")]
    Store(#[from] object_store::Error),
    #[error("{0}")]
    Produce(E),
    #[error("the backup writer stopped: {0}")]
    Stopped(String),
}

/// A reader that hashes what passes through it (SHA-256), to check a chain link while
/// restoring or verifying in one pass; its [`Digest`] handle reads the hash so far.
pub(super) struct Hashing<R> {
    inner: R,
    hasher: Arc<std::sync::Mutex<Sha256>>,
}

/// The hash of what a [`Hashing`] reader has read so far.
#[derive(Clone)]
pub(super) struct SoFar(Arc<std::sync::Mutex<Sha256>>);

impl SoFar {
    pub(super) fn hex(&self) -> String {
        hex::encode(self.0.lock().unwrap_or_else(|p| p.into_inner()).clone().finalize())
    }
}

impl<R: Read> Hashing<R> {
    pub(super) fn new(inner: R) -> (Self, SoFar) {
        let hasher = Arc::new(std::sync::Mutex::new(Sha256::new()));
        (Hashing { inner, hasher: hasher.clone() }, SoFar(hasher))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.lock().unwrap_or_else(|p| p.into_inner()).update(&buf[..n]);
        Ok(n)
    }
}

/// The object at `path` as a blocking reader (use it on a blocking thread only).
pub(super) async fn reader(
    store: &Arc<dyn ObjectStore>,
    path: &ObjectPath,
) -> object_store::Result<impl Read + Send + use<>> {
    let stream = store.get(path).await?.into_stream().map_err(io::Error::other);
    Ok(SyncIoBridge::new(StreamReader::new(stream)))
}
