//! One upload on its way in: fed chunk by chunk as it arrives (never held whole), it keeps
//! the first bytes until the type is known, then passes every byte to the scanner and to the
//! sealed blob at once (and keeps an office document's last bytes, to check its parts). Committing reads the scanner's verdict, renames the blob into place
//! and records the file; dropping an unfinished intake deletes its temporary blob.

use std::path::PathBuf;

use tokio::sync::OwnedSemaphorePermit;

use super::Uploader;
use super::blob::{BlobWriter, FileKey, Place};
use super::office;
use super::scanner::{Scan, Verdict};
use super::sniff::{self, FileType, SNIFF_BYTES};
use super::{FileRow, ScanState, require_editable};
use crate::app::App;
use crate::app::audit::{AuditEvent, record as audit};
use crate::app::auth::ClientInfo;
use crate::domain::crm::Kind;
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};

/// An upload under way (see the module doc).
pub struct Intake {
    app: App,
    uploader: Uploader,
    place: Place,
    name: String,
    max: u64,
    allowed: Vec<FileType>,
    size: u64,
    head: Vec<u8>,
    /// The last bytes of an office document, whose table of contents is checked at the end.
    tail: Vec<u8>,
    file_type: Option<FileType>,
    scan: Option<Scan>,
    writer: Option<BlobWriter>,
    key: FileKey,
    blob: String,
    temporary: PathBuf,
    _slot: OwnedSemaphorePermit,
}

impl Intake {
    pub(super) async fn start(
        app: App,
        uploader: Uploader,
        kind: Kind,
        record: RecordId,
        name: String,
        slot: OwnedSemaphorePermit,
    ) -> Result<Intake, AppError> {
        let policy = app.security_policy();
        let blob = hex::encode(rand::random::<[u8; 16]>());
        let temporary = app.data_dir().files_dir().join(format!("{blob}.tmp"));
        let place = Place { workspace: uploader.workspace(), kind, record, file: RecordId::random() };
        Ok(Intake {
            app,
            uploader,
            place,
            name,
            max: policy.upload_max_bytes(),
            allowed: policy.allowed_file_types,
            size: 0,
            head: Vec::with_capacity(SNIFF_BYTES),
            tail: Vec::new(),
            file_type: None,
            scan: None,
            writer: None,
            key: FileKey::generate(),
            blob,
            temporary,
            _slot: slot,
        })
    }

    /// Narrows the types this upload may be (a logo: images only) to those also allowed by
    /// the policy.
    pub(super) fn only(&mut self, types: &[FileType]) {
        self.allowed.retain(|t| types.contains(t));
    }

    /// Takes the next bytes of the file (E2006 past the cap, E2005 for a type not allowed,
    /// E3003 when the scanner can't take them).
    pub async fn push(&mut self, bytes: &[u8]) -> Result<(), AppError> {
        self.size += bytes.len() as u64;
        if self.size > self.max {
            return Err(AppError::field(ErrorCode::FileTooLarge, "file"));
        }
        if self.file_type.is_some() {
            return self.feed(bytes).await;
        }
        self.head.extend_from_slice(bytes);
        if self.head.len() >= SNIFF_BYTES { self.recognise().await } else { Ok(()) }
    }

    /// Checks the type of the first bytes, then starts the scan and the blob with them.
    async fn recognise(&mut self) -> Result<(), AppError> {
        let file_type = sniff::check(&self.head, &self.allowed)?;
        self.file_type = Some(file_type);
        if let Some(scanner) = self.app.files().scanner() {
            self.scan = Some(scanner.begin().await?);
        }
        self.writer = Some(BlobWriter::create(self.temporary.clone(), &self.key, &self.place).await?);
        let head = std::mem::take(&mut self.head);
        self.feed(&head).await
    }

    async fn feed(&mut self, bytes: &[u8]) -> Result<(), AppError> {
        if self.file_type.is_some_and(FileType::is_office) {
            self.tail.extend_from_slice(bytes);
            if self.tail.len() > 2 * office::TAIL_BYTES {
                self.tail.drain(..self.tail.len() - office::TAIL_BYTES);
            }
        }
        if let Some(scan) = &mut self.scan {
            scan.feed(bytes).await?;
        }
        match &mut self.writer {
            Some(writer) => writer.write(bytes).await,
            None => Err(AppError::internal(ErrorCode::Internal, "file bytes before their type")),
        }
    }

    /// Finishes the upload: the scanner's verdict (E2008 when infected: audited, alerted,
    /// nothing kept), the blob in place, the file recorded (audited `file.uploaded`). E2006
    /// when the workspace's quota would be exceeded.
    pub async fn commit(mut self, client: &ClientInfo) -> Result<FileRow, AppError> {
        if self.file_type.is_none() {
            self.recognise().await?;
        }
        let file_type = self.file_type.expect("recognised above");
        office::inspect(&self.tail, self.size, file_type)?;
        let scan = match self.scan.take() {
            Some(scan) => match scan.verdict().await? {
                Verdict::Clean => ScanState::Clean,
                Verdict::Infected(signature) => return Err(self.refuse_infected(&signature, client)),
            },
            None => ScanState::NotScanned,
        };
        let path = self.app.data_dir().files_dir().join(&self.blob);
        let writer = self.writer.take().expect("created with the type");
        writer.finish(&path).await?;
        let row = FileRow {
            id: self.place.file,
            kind: self.place.kind,
            record: self.place.record,
            name: self.name.clone(),
            content_type: file_type.mime().to_owned(),
            size: self.size,
            scan,
            uploaded_by: self.uploader.user(),
            created_at: self.app.now(),
            blob: self.blob.clone(),
        };
        let (stored, key) = (row.clone(), self.key.as_bytes().to_vec());
        let quota = u64::from(self.app.security_policy().storage_quota_mib) * 1024 * 1024;
        let now = self.app.now();
        let event = AuditEvent::new("file.uploaded", Some(self.uploader.user()))
            .target(format!("file:{}", row.id))
            .fields(&[
                &format!("{}:{}", row.kind.as_str(), row.record),
                &format!("type={}", row.content_type),
                &format!("size={}", row.size),
                &format!("scan={}", row.scan.as_str()),
            ])
            .from_client(client);
        let store = self.app.store();
        let saved = match &self.uploader {
            Uploader::Member(scope) => {
                let scope = scope.clone();
                store
                    .workspace(&scope)
                    .write(move |txn| {
                        require_editable(txn, &scope, stored.kind, &stored.record)?;
                        within_quota(txn.files_size()?, stored.size, quota)?;
                        txn.insert_file(&stored, &key)?;
                        audit(txn, now, event).map(|()| Vec::new())
                    })
                    .await
            }
            Uploader::Client(scope) => {
                store
                    .client(scope)
                    .write(move |txn| {
                        within_quota(txn.files_size()?, stored.size, quota)?;
                        txn.insert_company_file(&stored, &key)?;
                        txn.audit(now, event).map(|()| Vec::new())
                    })
                    .await
            }
            Uploader::Branding(scope) => {
                let scope = scope.clone();
                store
                    .workspace(&scope)
                    .write(move |txn| {
                        scope.require(crate::app::auth::permissions::Action::ManageSettings)?;
                        // The new logo replaces the old one.
                        let replaced = txn.delete_files_of(stored.kind, &stored.record)?;
                        within_quota(txn.files_size()?, stored.size, quota)?;
                        txn.insert_file(&stored, &key)?;
                        audit(txn, now, event)?;
                        Ok(replaced)
                    })
                    .await
            }
        };
        let saved = match saved {
            Ok(replaced) => {
                super::DeletedFiles::of(replaced).remove(&self.app).await;
                Ok(())
            }
            Err(e) => Err(e),
        };
        if let Err(e) = saved {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
        self.app.metrics().count("holdfast_uploads_total", &[("outcome", "stored"), ("scan", row.scan.as_str())]);
        Ok(row)
    }

    /// Raises the alert for an infected upload (audited `file.infected`, then sent to the
    /// webhook); its bytes are dropped with the intake.
    fn refuse_infected(&self, signature: &str, client: &ClientInfo) -> AppError {
        let event = AuditEvent::new("file.infected", Some(self.uploader.user()))
            .target(format!("{}:{}", self.place.kind.as_str(), self.place.record))
            .fields(&[&format!("signature={signature}"), &format!("size={}", self.size)])
            .from_client(client)
            .failed();
        self.app.alerts().raise(self.uploader.workspace(), event);
        self.app.metrics().count("holdfast_uploads_total", &[("outcome", "infected"), ("scan", "infected")]);
        AppError::field(ErrorCode::FileInfected, "file")
    }
}

/// E2006 when `size` more bytes would take the workspace past its quota.
fn within_quota(used: u64, size: u64, quota: u64) -> Result<(), AppError> {
    if used + size > quota {
        return Err(AppError::field(ErrorCode::FileTooLarge, "file")
            .with_hint("The workspace's file storage is full: delete files, or ask an owner to raise the quota."));
    }
    Ok(())
}

impl Drop for Intake {
    /// An upload refused or cut off leaves nothing behind.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.temporary);
    }
}
