//! Download links: `/files/{id}/download?expires=…&sig=…`, valid five minutes, signed for one
//! user and one file (HMAC under a key derived from the master key). Fetching one needs the
//! same user signed in (session or API token), and their right to read the record is checked
//! again; the bytes are authenticated chunk by chunk as they are opened.

use std::ops::Range;

use tokio::io::AsyncWrite;

use super::blob::{self, FileKey, Place};
use super::{FileRow, Files, ScanState, require_exists};
use crate::app::audit::{AuditEvent, record as audit};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::domain::ids::{RecordId, UserId};
use crate::error::{AppError, ErrorCode};

/// How long a download link works.
pub const LINK_SECONDS: i64 = 5 * 60;

/// A signed download link.
#[derive(Debug, Clone)]
pub struct FileLink {
    /// Path and query, relative to the server's origin.
    pub url: String,
    pub expires_at: i64,
}

/// A file ready to be sent: what it is, and the key to open it.
pub struct Download {
    pub row: FileRow,
    key: FileKey,
    place: Place,
    path: std::path::PathBuf,
}

impl Download {
    /// Opens the plaintext bytes `range` into `out` (authenticated chunk by chunk).
    pub async fn copy(&self, range: Range<u64>, out: &mut (impl AsyncWrite + Unpin)) -> Result<(), AppError> {
        blob::open_range(&self.path, &self.key, &self.place, self.row.size, range, out).await
    }

    /// Checks every chunk of `range` before anything is sent, so a damaged file answers a
    /// coded error instead of a cut-off download.
    pub async fn verify(&self, range: Range<u64>) -> Result<(), AppError> {
        self.copy(range, &mut tokio::io::sink()).await
    }
}

impl Files<'_> {
    fn signature(&self, file: &RecordId, user: &UserId, expires: i64) -> String {
        let mac = self.file_link_key().mac(&[b"file-link/1", file.as_bytes(), user.as_bytes(), &expires.to_be_bytes()]);
        hex::encode(mac)
    }

    /// A link to download file `id` (E3002 when the caller can't read it).
    pub async fn link(&self, scope: &TenantScope, id: RecordId) -> Result<FileLink, AppError> {
        scope.require(Action::ReadRecords)?;
        let row = self.store().workspace(scope).read_now(|txn| txn.file(&id))?.ok_or(ErrorCode::NotFound)?;
        Ok(self.sign(&format!("/files/{}/download", row.id), &row.id, scope.user()))
    }

    /// The file a link names, for the caller it was signed for (E3002 for an expired, forged
    /// or foreign link, or a file the caller may no longer read); audited `file.downloaded`.
    pub async fn open(
        &self,
        scope: &TenantScope,
        id: RecordId,
        expires: i64,
        sig: &str,
        client: &ClientInfo,
    ) -> Result<Download, AppError> {
        self.check_link(&id, scope.user(), expires, sig)?;
        scope.require(Action::ReadRecords).map_err(|_| AppError::new(ErrorCode::NotFound))?;
        let (row, key) = self.store().workspace(scope).read_now(|txn| {
            let found = txn.file_with_key(&id)?.ok_or(ErrorCode::NotFound)?;
            require_exists(txn, found.0.kind, &found.0.record)?;
            Ok(found)
        })?;
        self.refuse_unscanned(&row)?;
        let event =
            AuditEvent::new("file.downloaded", Some(*scope.user())).target(format!("file:{id}")).from_client(client);
        let now = self.now();
        self.store().workspace(scope).write(move |txn| audit(txn, now, event)).await?;
        self.download(*scope.workspace(), row, &key)
    }

    /// A link signed for `user` alone, valid for five minutes, under `path` (the download
    /// route: the firm's or the portal's).
    pub(crate) fn sign(&self, path: &str, file: &RecordId, user: &UserId) -> FileLink {
        let expires_at = self.now() + LINK_SECONDS;
        let sig = self.signature(file, user, expires_at);
        FileLink { url: format!("{path}?expires={expires_at}&sig={sig}"), expires_at }
    }

    /// Whether a link is genuine, for this user and still valid (E3002 otherwise).
    pub(crate) fn check_link(&self, id: &RecordId, user: &UserId, expires: i64, sig: &str) -> Result<(), AppError> {
        let expected = self.signature(id, user, expires);
        let genuine: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), sig.as_bytes()).into();
        if !genuine || expires < self.now() || expires > self.now() + LINK_SECONDS {
            return Err(ErrorCode::NotFound.into());
        }
        Ok(())
    }

    /// A file waiting for its scan is not handed out while a scanner is configured (E3003).
    pub(crate) fn refuse_unscanned(&self, row: &FileRow) -> Result<(), AppError> {
        if row.scan == ScanState::NotScanned && self.scanner().is_some() {
            return Err(AppError::new(ErrorCode::ScannerUnavailable)
                .with_hint("This file is waiting for its virus scan; try again in a few minutes."));
        }
        Ok(())
    }

    /// The download of a stored file whose access was checked.
    pub(crate) fn download(
        &self,
        workspace: crate::domain::ids::WorkspaceId,
        row: FileRow,
        key: &[u8],
    ) -> Result<Download, AppError> {
        let place = Place { workspace, kind: row.kind, record: row.record, file: row.id };
        let path = self.data_dir().files_dir().join(&row.blob);
        Ok(Download { key: FileKey::from_bytes(key)?, place, path, row })
    }
}
