//! Files stored while no scanner was configured are scanned once one is: in the background,
//! one file at a time (taking an upload slot, so uploads keep their share), each opened from
//! its sealed blob and streamed to clamd. Clean files are marked so; an infected one is
//! removed, audited and alerted like a refused upload. When the scanner stops answering, the
//! scan waits and tries again later.

use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::blob::{self, Place};
use super::scanner::{Scanner, Verdict};
use super::{FileRow, Files};
use crate::app::audit::AuditEvent;
use crate::domain::ids::WorkspaceId;
use crate::error::{AppError, ErrorCode};

/// Files read from the store per round.
const BATCH: usize = 20;
/// How long to wait before trying again when the scanner does not answer.
const RETRY: Duration = Duration::from_secs(10 * 60);

/// What a scan of the stored files found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rescanned {
    pub clean: usize,
    pub infected: usize,
    /// Files clamd could not scan (left unscanned, not downloadable).
    pub unscannable: usize,
}

impl Files<'_> {
    /// Scans the files stored without a scan, if a scanner is configured, until done or until
    /// `stopped` fires (a server task).
    pub async fn keep_scanning(self, mut stopped: tokio::sync::watch::Receiver<()>) {
        let Some(scanner) = self.scanner() else { return };
        loop {
            let outcome = tokio::select! {
                outcome = self.rescan(&scanner) => outcome,
                _ = stopped.changed() => return,
            };
            match outcome {
                Ok(found) => {
                    if found != Rescanned::default() {
                        let (clean, infected, unscannable) = (found.clean, found.infected, found.unscannable);
                        tracing::info!(clean, infected, unscannable, "stored files scanned");
                    }
                    return;
                }
                Err(e) => {
                    tracing::warn!(code = %e.code(), detail = e.detail().unwrap_or(""), "scanning stored files paused");
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY) => {}
                        _ = stopped.changed() => return,
                    }
                }
            }
        }
    }

    /// Scans every file stored without a scan (see the module doc). A file clamd can't scan
    /// (past its StreamMaxLength, a damaged blob) is passed over and stays unscanned — and
    /// not downloadable while a scanner is configured; clamd not answering stops the run.
    pub async fn rescan(&self, scanner: &Scanner) -> Result<Rescanned, AppError> {
        let mut found = Rescanned::default();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let from = after.clone();
            let batch = self.store().read(move |txn| txn.unscanned_files(from.as_deref(), BATCH)).await?;
            if batch.is_empty() {
                return Ok(found);
            }
            for (position, workspace, row, key) in batch {
                after = Some(position);
                let _slot = self.inner().upload_slots.clone().acquire_owned().await;
                let verdict = match self.scan_stored(scanner, workspace, &row, &key).await {
                    Ok(verdict) => verdict,
                    Err(e) if scanner.answers().await => {
                        let detail = e.detail().unwrap_or("");
                        tracing::warn!(file = %row.id, code = %e.code(), detail, "a stored file could not be scanned");
                        found.unscannable += 1;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let clean = verdict == Verdict::Clean;
                let settled = self.store().write(move |txn| txn.settle_scan(&workspace, &row.id, clean)).await?;
                match (verdict, settled) {
                    (Verdict::Clean, _) => found.clean += 1,
                    (Verdict::Infected(signature), Some(row)) => {
                        self.removed_infected(workspace, &row, &signature).await;
                        found.infected += 1;
                    }
                    (Verdict::Infected(_), None) => {}
                }
            }
        }
    }

    /// Streams one stored file from its sealed blob to the scanner.
    async fn scan_stored(
        &self,
        scanner: &Scanner,
        workspace: WorkspaceId,
        row: &FileRow,
        key: &[u8],
    ) -> Result<Verdict, AppError> {
        let key = super::FileKey::from_bytes(key)?;
        let place = Place { workspace, kind: row.kind, record: row.record, file: row.id };
        let path = self.data_dir().files_dir().join(&row.blob);
        let (mut writer, mut reader) = tokio::io::duplex(256 * 1024);
        let size = row.size;
        let opened =
            tokio::spawn(async move { blob::open_range(&path, &key, &place, size, 0..size, &mut writer).await });
        let mut scan = scanner.begin().await?;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let read =
                reader.read(&mut chunk).await.map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
            if read == 0 {
                break;
            }
            scan.feed(&chunk[..read]).await?;
        }
        opened.await.map_err(|e| AppError::internal(ErrorCode::Internal, e))??;
        scan.verdict().await
    }

    /// Deletes an infected file's blob (its row is gone) and raises the alert (audited
    /// `file.infected`, then sent to the webhook).
    async fn removed_infected(&self, workspace: WorkspaceId, row: &FileRow, signature: &str) {
        super::DeletedFiles::of(vec![row.blob.clone()]).remove(self).await;
        let event = AuditEvent::new("file.infected", None)
            .target(format!("file:{}", row.id))
            .fields(&[
                &format!("{}:{}", row.kind.as_str(), row.record),
                &format!("signature={signature}"),
                "found=stored",
            ])
            .failed();
        self.alerts().raise(workspace, event);
    }
}
