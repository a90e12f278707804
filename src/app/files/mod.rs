//! Files attached to records (contacts, companies, deals, notes). Every upload passes one
//! intake pipeline, in this order, and nothing is readable before it passes: the size cap
//! (streamed), the type by content against the policy's allowlist, the virus scan (failing
//! closed), then sealed storage under the file's own key. Downloads go only through
//! short-lived links signed for one user and one file, with rights checked again on every
//! fetch.

mod blob;
mod intake;
mod links;
mod office;
mod rescan;
mod scanner;
mod sniff;

pub use blob::FileKey;
pub use intake::Intake;
pub use links::{Download, FileLink};
pub use rescan::Rescanned;
pub use scanner::{Scanner, ScannerAddress, Verdict};
pub use sniff::FileType;

use crate::app::audit::{AuditEvent, record as audit};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, ClientScope, TenantScope};
use crate::app::crm::CrmRecord;
use crate::app::crm::records::may_edit;
use crate::app::store::Txn;
use crate::app::store::WorkspaceTx;
pub use crate::app::store::files::{FileRow, ScanState};
use crate::domain::crm::{Company, Contact, Deal, Kind, Note};
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// Files attached to records: the intake pipeline, lists, deletion and download links.
    Files
}

/// The blobs of files deleted with their records, to remove once the deletion has committed
/// (a crash before leaves orphans, which the next start sweeps).
#[must_use = "the blobs are removed only after the transaction commits"]
#[derive(Debug, Default)]
pub struct DeletedFiles(Vec<String>);

impl DeletedFiles {
    pub(crate) fn of(blobs: Vec<String>) -> DeletedFiles {
        DeletedFiles(blobs)
    }

    /// Whether no file went with the delete.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn extend(&mut self, more: DeletedFiles) {
        self.0.extend(more.0);
    }

    /// Removes the blobs (after the commit).
    pub async fn remove(self, app: &crate::app::App) {
        let dir = app.data_dir().files_dir();
        for blob in self.0 {
            let _ = tokio::fs::remove_file(dir.join(blob)).await;
        }
    }
}

/// Who is uploading: a member, to a record they may change; or a portal client, to their
/// own company.
#[derive(Debug, Clone)]
pub(crate) enum Uploader {
    Member(TenantScope),
    Client(ClientScope),
    /// An owner or admin, setting the firm's logo.
    Branding(TenantScope),
}

impl Uploader {
    fn workspace(&self) -> crate::domain::ids::WorkspaceId {
        match self {
            Uploader::Member(scope) | Uploader::Branding(scope) => *scope.workspace(),
            Uploader::Client(scope) => *scope.workspace(),
        }
    }

    fn user(&self) -> crate::domain::ids::UserId {
        match self {
            Uploader::Member(scope) | Uploader::Branding(scope) => *scope.user(),
            Uploader::Client(scope) => *scope.user(),
        }
    }
}

/// Where the firm's logo is filed: a company id no company has (ids are random), so no
/// record page, list or download route of a record ever reaches it.
pub(crate) const LOGO_PLACE: RecordId = RecordId::from_bytes([0; 16]);

/// Uploads in progress at once, server-wide (more wait their turn).
const CONCURRENT_UPLOADS: usize = 8;

/// The records files can be attached to: contacts, companies, deals and notes (a task takes
/// none, so no route or call can attach one to it).
pub(crate) trait Attachable: CrmRecord {}
impl Attachable for Contact {}
impl Attachable for Company {}
impl Attachable for Deal {}
impl Attachable for Note {}

/// Whether the caller may change the record (attach to it, delete its files): E3002 when it
/// does not exist in the scope's workspace, E1005 when it is not theirs to change.
fn require_editable(
    txn: &WorkspaceTx<'_, impl Txn>,
    scope: &TenantScope,
    kind: Kind,
    id: &RecordId,
) -> Result<(), AppError> {
    fn check<T: CrmRecord>(
        txn: &WorkspaceTx<'_, impl Txn>,
        scope: &TenantScope,
        id: &RecordId,
    ) -> Result<(), AppError> {
        let record = txn.load::<T>(id)?.ok_or(ErrorCode::NotFound)?;
        if may_edit(scope, &record) { Ok(()) } else { Err(ErrorCode::Forbidden.into()) }
    }
    match kind {
        Kind::Contact => check::<Contact>(txn, scope, id),
        Kind::Company => check::<Company>(txn, scope, id),
        Kind::Deal => check::<Deal>(txn, scope, id),
        Kind::Note => check::<Note>(txn, scope, id),
        Kind::Task => Err(ErrorCode::NotFound.into()),
    }
}

/// Whether the record exists in the scope's workspace (E3002 otherwise).
fn require_exists(txn: &WorkspaceTx<'_, impl Txn>, kind: Kind, id: &RecordId) -> Result<(), AppError> {
    if txn.records()?.contains(kind, id)? { Ok(()) } else { Err(ErrorCode::NotFound.into()) }
}

/// A file's name as stored and shown: the last path part, without control characters or
/// invisible formatting ones (a right-to-left override could make `cod.exe` read `exe.doc`),
/// at most 200 characters ("file" when nothing is left).
pub fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let invisible =
        |c: char| matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}');
    let kept: String = last.chars().filter(|c| !c.is_control() && !invisible(*c)).collect();
    let cleaned: String = kept.trim().trim_matches('.').chars().take(200).collect();
    if cleaned.is_empty() { "file".to_owned() } else { cleaned }
}

impl Files<'_> {
    /// Starts an upload to the `T` record `record`, named `name` (only its last part is kept).
    /// Refused before a byte is read when the caller may not change the record or has used up
    /// their uploads for the hour.
    pub(crate) async fn intake<T: Attachable>(
        &self,
        scope: &TenantScope,
        record: RecordId,
        name: &str,
    ) -> Result<Intake, AppError> {
        scope.require(Action::ReadRecords)?;
        let kind = T::KIND;
        self.store().workspace(scope).read_now(|txn| require_editable(txn, scope, kind, &record))?;
        self.start(Uploader::Member(scope.clone()), kind, record, name).await
    }

    /// Starts the upload of the firm's logo (owners and admins; images only): it is kept apart
    /// from every record, under [`LOGO_PLACE`], and replaces the previous one.
    pub(crate) async fn logo_intake(&self, scope: &TenantScope, name: &str) -> Result<Intake, AppError> {
        scope.require(Action::ManageSettings)?;
        let mut intake = self.start(Uploader::Branding(scope.clone()), Kind::Company, LOGO_PLACE, name).await?;
        intake.only(&[FileType::Png, FileType::Jpeg, FileType::Webp]);
        Ok(intake)
    }

    /// Starts a client's upload to their own company (a request's answer), named `name`.
    pub(crate) async fn client_intake(&self, scope: &ClientScope, name: &str) -> Result<Intake, AppError> {
        self.start(Uploader::Client(scope.clone()), Kind::Company, *scope.company(), name).await
    }

    /// Takes one upload from the uploader's hourly budget (E4001 when it is spent), waits for
    /// an upload slot and starts the intake.
    async fn start(&self, uploader: Uploader, kind: Kind, record: RecordId, name: &str) -> Result<Intake, AppError> {
        self.limiters().take(crate::app::rate_limit::Budget::Upload, uploader.user())?;
        let permit = self
            .upload_slots()
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AppError::internal(ErrorCode::Internal, e))?;
        Intake::start(self.0.clone(), uploader, kind, record, clean_name(name), permit).await
    }

    /// The files attached to a `T` record (E3002 for an unknown or foreign record).
    pub(crate) async fn list<T: Attachable>(
        &self,
        scope: &TenantScope,
        record: RecordId,
    ) -> Result<Vec<FileRow>, AppError> {
        scope.require(Action::ReadRecords)?;
        self.store().workspace(scope).read_now(|txn| {
            require_exists(txn, T::KIND, &record)?;
            txn.files_of(T::KIND, &record)
        })
    }

    /// The files of each of some `T` records the caller has already read (one transaction for
    /// all: a record page lists every note's files).
    pub(crate) async fn list_each<T: Attachable>(
        &self,
        scope: &TenantScope,
        records: &[RecordId],
    ) -> Result<Vec<Vec<FileRow>>, AppError> {
        scope.require(Action::ReadRecords)?;
        self.store().workspace(scope).read_now(|txn| records.iter().map(|id| txn.files_of(T::KIND, id)).collect())
    }

    /// Deletes a file of a record the caller may change; audited `file.deleted`.
    pub async fn delete(&self, scope: &TenantScope, id: RecordId, client: &ClientInfo) -> Result<FileRow, AppError> {
        scope.require(Action::ReadRecords)?;
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        let row = self
            .store()
            .workspace(&scope)
            .write(move |txn| {
                let row = txn.file(&id)?.ok_or(ErrorCode::NotFound)?;
                require_editable(txn, &scope, row.kind, &row.record)?;
                txn.delete_file(&row)?;
                let event = AuditEvent::new("file.deleted", Some(*scope.user()))
                    .target(format!("file:{id}"))
                    .fields(&[&format!("{}:{}", row.kind.as_str(), row.record)])
                    .from_client(&client);
                audit(txn, now, event)?;
                Ok(row)
            })
            .await?;
        DeletedFiles::of(vec![row.blob.clone()]).remove(self).await;
        Ok(row)
    }

    /// Removes temporary blobs and blobs no stored file names (an upload or a deletion cut off
    /// by a crash). Run at start, before uploads are taken.
    pub async fn sweep(&self) -> Result<usize, AppError> {
        let known: std::collections::HashSet<String> =
            self.store().read(|txn| txn.file_blobs()).await?.into_iter().collect();
        let dir = self.data_dir().files_dir();
        tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            for entry in std::fs::read_dir(&dir).map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))? {
                let entry = entry.map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.path().is_file() && !known.contains(&name) && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
        .map_err(|e| AppError::internal(ErrorCode::Internal, e))?
    }

    /// The scanner uploads pass through, if one is configured.
    pub fn scanner(&self) -> Option<Scanner> {
        self.inner().scanner.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sets the scanner (from the config file, at start).
    pub fn use_scanner(&self, scanner: Option<Scanner>) {
        *self.inner().scanner.write().unwrap_or_else(|p| p.into_inner()) = scanner;
    }

    /// How many bytes this workspace's files take, and its quota.
    pub async fn usage(&self, scope: &TenantScope) -> Result<(u64, u64), AppError> {
        scope.require(Action::ReadRecords)?;
        let used = self.store().workspace(scope).read(|txn| txn.files_size()).await?;
        Ok((used, u64::from(self.security_policy().storage_quota_mib) * 1024 * 1024))
    }

    fn upload_slots(&self) -> &std::sync::Arc<tokio::sync::Semaphore> {
        &self.inner().upload_slots
    }
}

/// The semaphore bounding concurrent uploads.
pub(crate) fn upload_slots() -> std::sync::Arc<tokio::sync::Semaphore> {
    std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT_UPLOADS))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_keep_their_last_part_only() {
        assert_eq!(super::clean_name("../../etc/passwd"), "passwd");
        assert_eq!(super::clean_name("C:\\Users\\ada\\photo.png"), "photo.png");
        assert_eq!(super::clean_name("a\u{0}b\nc.png"), "abc.png");
        assert_eq!(super::clean_name("../.."), "file");
        assert_eq!(super::clean_name("report\u{202e}xcod.jar"), "reportxcod.jar", "no right-to-left override");
        assert_eq!(super::clean_name("report\u{202e}xcod.jar"), "reportxcod.jar", "no right-to-left override");
        assert_eq!(super::clean_name(""), "file");
    }
}
