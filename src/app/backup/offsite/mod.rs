//! Off-site backups: every `base_interval_m` minutes a full backup in the usual encrypted
//! format is streamed to the bucket as a multipart upload (no copy on disk), read back and
//! checked in full, and old ones are pruned by count per hour, day, week and month. The
//! passphrase never leaves the server; the bucket only ever holds ciphertext. `holdfast backup
//! restore|verify s3://…` read them back.

mod chain;
mod first_run;
pub mod lease;
pub mod segment;
mod settings;
mod shipper;
pub mod standby;
mod target;
mod transfer;

use std::sync::Arc;
use std::time::Instant;

use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use secrecy::{ExposeSecret, SecretString};

pub use first_run::{SetupRestore, SetupRestoreInput};
pub use settings::{KEYS, OffsiteInput};
pub use shipper::ShipState;
use target::base_name;
pub use target::{OffsiteSettings, OffsiteTarget, TargetError};

use super::format::{BackupError, EncryptingWriter};
use super::{Backups, Summary, archive};
use crate::app::App;
use crate::app::audit::{AuditEvent, SERVER_CHAIN, record_server};
use crate::error::{AppError, ErrorCode};

/// What the secret access key is sealed for.
pub(crate) const SECRET_PURPOSE: &str = "backup-offsite-secret";
/// A failed off-site backup is retried after this long (not every minute).
const RETRY_AFTER_SECONDS: i64 = 300;

/// A base backup in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsiteBase {
    pub created_at: i64,
    pub object: String,
    pub bytes: u64,
}

/// Why an off-site operation failed, in the operator's words (credentials never included).
#[derive(Debug, thiserror::Error)]
pub enum OffsiteError {
    #[error("{0}")]
    Target(#[from] TargetError),
    #[error("the bucket refused the credentials (check the access key and secret): {0}")]
    Credentials(String),
    #[error("the bucket or prefix was not found: {0}")]
    NotFound(String),
    #[error("the bucket could not be reached: {0}")]
    Store(String),
    #[error("{0}")]
    Backup(#[from] BackupError),
    #[error("no base backup in {0}")]
    NoBackup(String),
    #[error("{0}")]
    Lease(String),
}

impl From<AppError> for OffsiteError {
    fn from(error: AppError) -> Self {
        OffsiteError::Lease(error.detail().unwrap_or(error.code().message()).to_owned())
    }
}

impl From<object_store::Error> for OffsiteError {
    fn from(error: object_store::Error) -> Self {
        // object_store's messages name the request, never the secret (requests are signed).
        let text = error.to_string();
        // S3 engines answer refused credentials with 403 and one of these codes.
        let refused = ["SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "403 Forbidden"];
        match &error {
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
                OffsiteError::Credentials(text)
            }
            _ if refused.iter().any(|code| text.contains(code)) => OffsiteError::Credentials(text),
            object_store::Error::NotFound { .. } => OffsiteError::NotFound(text),
            _ => OffsiteError::Store(text),
        }
    }
}

impl<E: Into<OffsiteError>> From<transfer::UploadError<E>> for OffsiteError {
    fn from(error: transfer::UploadError<E>) -> Self {
        match error {
            transfer::UploadError::Store(e) => e.into(),
            transfer::UploadError::Produce(e) => e.into(),
            transfer::UploadError::Stopped(why) => OffsiteError::Store(why),
        }
    }
}

fn offsite_failed(error: OffsiteError) -> AppError {
    AppError::internal(ErrorCode::StorageUnavailable, error)
}

/// What `verify` found in one generation.
#[derive(Debug)]
pub struct CheckedGeneration {
    pub base: OffsiteBase,
    /// The base's summary, or why it is damaged.
    pub summary: Result<Summary, BackupError>,
    /// Segments that chain to the base, in order.
    pub segments: usize,
    /// The time the chain reaches (the last segment's, else the base's).
    pub reaches: i64,
    pub superseded: Vec<String>,
    /// Segments that do not chain: missing predecessor, or altered.
    pub broken: Vec<(String, String)>,
}

impl CheckedGeneration {
    pub fn intact(&self) -> bool {
        self.summary.is_ok() && self.broken.is_empty()
    }
}

/// Reads a base through a hash, then walks its generation's chain.
async fn check_generation(
    store: &Arc<dyn ObjectStore>,
    generation: &chain::Generation,
    passphrase: &SecretString,
) -> Result<CheckedGeneration, OffsiteError> {
    let (reader, so_far) =
        transfer::Hashing::new(transfer::reader(store, &generation.base.object.as_str().into()).await?);
    let secret = passphrase.clone();
    let summary = tokio::task::spawn_blocking(move || {
        let mut reader = reader;
        let summary = super::verify_from(&mut reader, &secret);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
        summary
    })
    .await
    .map_err(|e| OffsiteError::Store(e.to_string()))?;
    let seq = summary.as_ref().map_or(0, |s| s.trailer.oplog_seq);
    let walked = chain::walk(store, generation, &so_far.hex(), seq, passphrase).await?;
    Ok(CheckedGeneration {
        base: generation.base.clone(),
        summary,
        segments: walked.chain.len(),
        reaches: walked.chain.last().map_or(generation.base.created_at, |l| l.segment.header.created_at),
        superseded: walked.superseded,
        broken: walked.broken,
    })
}

/// Decrypts and checks every base in the bucket and walks every generation's chain of change
/// segments, oldest first.
pub async fn verify_all(
    target: &OffsiteTarget,
    passphrase: &SecretString,
) -> Result<Vec<CheckedGeneration>, OffsiteError> {
    let store = target.store()?;
    let generations = chain::list(&store, target).await?;
    if generations.is_empty() {
        return Err(OffsiteError::NoBackup(target.url()));
    }
    let mut checked = Vec::new();
    for generation in &generations {
        checked.push(check_generation(&store, generation, passphrase).await?);
    }
    Ok(checked)
}

/// What an off-site restore did.
#[derive(Debug)]
pub struct Restored {
    pub base: OffsiteBase,
    pub summary: Summary,
    /// Change segments replayed on top of the base.
    pub segments: usize,
    /// The moment the restored data is from (the last segment's time, else the base's).
    pub point: i64,
    /// Segments that could not be replayed because the chain breaks before them.
    pub broken: Vec<(String, String)>,
    pub aside: Option<std::path::PathBuf>,
    /// Where the replay stopped: the last op log row, object and SHA-256 of the chain applied
    /// (a standby goes on from there).
    pub link: ChainEnd,
}

/// The end of what was applied from a chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainEnd {
    pub seq: u64,
    pub object: String,
    pub sha256: String,
}

/// Restores the latest point — or the last segment boundary at or before `at` — into the data
/// directory at `root` (whose lock the caller holds): the base streamed from the bucket, then
/// its generation's segments replayed, all into staging before anything is swapped in.
pub async fn restore(
    root: &std::path::Path,
    target: &OffsiteTarget,
    passphrase: &SecretString,
    at: Option<i64>,
    force: bool,
    now: i64,
) -> Result<Restored, OffsiteError> {
    let store = target.store()?;
    let generations = chain::list(&store, target).await?;
    let generation = generations
        .into_iter()
        .rev()
        .find(|g| at.is_none_or(|at| g.base.created_at <= at))
        .ok_or_else(|| OffsiteError::NoBackup(target.url()))?;
    let (reader, so_far) =
        transfer::Hashing::new(transfer::reader(&store, &generation.base.object.as_str().into()).await?);
    let (root, secret) = (root.to_path_buf(), passphrase.clone());
    let handle = tokio::runtime::Handle::current();
    let (walk_store, walk_generation) = (store.clone(), generation.clone());
    let base_object = generation.base.object.clone();
    let restored = tokio::task::spawn_blocking(move || {
        let mut replayed = (0, generation.base.created_at, Vec::new(), ChainEnd::default());
        let outcome = super::restore_from(&root, reader, &secret, force, now, |summary, database, files| {
            let base_sha256 = so_far.hex();
            replayed.3 = ChainEnd { seq: summary.trailer.oplog_seq, object: base_object, sha256: base_sha256.clone() };
            let walked = handle
                .block_on(chain::walk(&walk_store, &walk_generation, &base_sha256, summary.trailer.oplog_seq, &secret))
                .map_err(|e| BackupError::Corrupt(e.to_string()))?;
            for link in walked.chain.iter().take_while(|l| at.is_none_or(|at| l.segment.header.created_at <= at)) {
                apply(database, files, link)?;
                replayed.0 += 1;
                replayed.1 = link.segment.header.created_at;
                replayed.3 = ChainEnd {
                    seq: link.segment.header.seq_to,
                    object: link.object.clone(),
                    sha256: link.sha256.clone(),
                };
            }
            replayed.2 = walked.broken;
            Ok(())
        });
        outcome.map(|(summary, aside)| (summary, aside, replayed))
    })
    .await
    .map_err(|e| OffsiteError::Store(e.to_string()))??;
    let (summary, aside, (segments, point, broken, link)) = restored;
    Ok(Restored { base: generation.base, summary, segments, point, broken, aside, link })
}

/// Applies one segment of a chain to a store and its files directory.
fn apply(database: &redb::Database, files: &std::path::Path, link: &chain::Linked) -> Result<(), BackupError> {
    crate::app::store::dump::apply_changes(database, &link.segment.rows)?;
    shipper::write_files(files, &link.segment.files)?;
    Ok(())
}

impl Backups<'_> {
    /// The configured off-site target (the secret opened), if off-site backups are on.
    pub async fn offsite_target(&self) -> Result<Option<OffsiteTarget>, AppError> {
        let settings = self.settings().await?;
        if !settings.offsite.is_configured() {
            return Ok(None);
        }
        self.target_of(&settings.offsite).map(Some)
    }

    /// The target `settings` name (E2001 `Required` when it is not configured).
    pub(crate) fn target_of(&self, settings: &OffsiteSettings) -> Result<OffsiteTarget, AppError> {
        if !settings.is_configured() {
            return Err(AppError::field(ErrorCode::Required, "offsite_bucket"));
        }
        let sealed =
            hex::decode(&settings.secret_sealed).map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
        let secret = self.sealer().open(SECRET_PURPOSE, &sealed)?;
        Ok(OffsiteTarget {
            endpoint: (!settings.endpoint.is_empty()).then(|| settings.endpoint.clone()),
            region: if settings.region.is_empty() { "us-east-1".to_owned() } else { settings.region.clone() },
            bucket: settings.bucket.clone(),
            prefix: settings.prefix.trim_matches('/').to_owned(),
            access_key_id: settings.access_key_id.clone(),
            secret_access_key: SecretString::from(String::from_utf8_lossy(&secret).into_owned()),
            path_style: settings.path_style,
        })
    }

    /// Writes, reads back and deletes a small object: proves the endpoint, bucket, prefix and
    /// credentials work (the settings page's "Test connection").
    pub async fn test_offsite(&self, target: &OffsiteTarget) -> Result<(), OffsiteError> {
        let store = target.store()?;
        let probe = target.object(&format!("holdfast-probe-{}", hex::encode(rand::random::<[u8; 8]>())));
        store.put(&probe, PutPayload::from_static(b"holdfast connection test")).await?;
        let read = store.get(&probe).await?.bytes().await?;
        store.delete(&probe).await?;
        if read.as_ref() != b"holdfast connection test" {
            return Err(OffsiteError::Store("the bucket returned other bytes than were written".into()));
        }
        Ok(())
    }

    /// Streams a full backup to the bucket, reads it back and checks it against what was
    /// written, then applies retention; records the status and an audit entry.
    pub async fn ship_base(&self) -> Result<OffsiteBase, AppError> {
        let settings = self.settings().await?;
        let passphrase = self.passphrase(&settings)?;
        let target = self.target_of(&settings.offsite)?;
        let now = self.now();
        let started = Instant::now();
        let outcome = match target.store().map_err(OffsiteError::from) {
            Ok(store) => match self.hold_lease(&store, &target).await {
                Ok(()) => self.upload_base(&target, &passphrase, now).await,
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e),
        };
        // Segments go into the new generation from here on, before anything else can fail.
        if let Ok((_, seq, sha256)) = &outcome {
            self.start_generation(now, *seq, sha256.clone()).await?;
        }
        let mut status = self.status().await?;
        status.offsite_last_attempt_at = Some(now);
        let object = base_name(now);
        match &outcome {
            Ok((base, _, _)) => {
                status.offsite_last_success_at = Some(now);
                status.offsite_last_object = Some(base.object.clone());
                status.offsite_last_bytes = base.bytes;
                status.offsite_last_millis = started.elapsed().as_millis() as u64;
                status.offsite_last_error = None;
            }
            Err(e) => {
                tracing::error!(error = %e, bucket = %target.url(), "off-site backup failed");
                // The first failure of a run is alerted; retries are not, until one succeeds.
                if status.offsite_last_error.is_none() {
                    let alert = AuditEvent::new("ops.offsite_backup_failed", None).target(e.to_string()).failed();
                    self.alerts().raise(SERVER_CHAIN, alert);
                }
                status.offsite_last_error = Some(e.to_string());
            }
        }
        self.save_status(status).await?;
        let event = AuditEvent::new("backup.offsite_created", None).target(format!("{}/{object}", target.url()));
        let event = if outcome.is_ok() { event } else { event.failed() };
        self.store().write(move |txn| record_server(txn, &SERVER_CHAIN, now, event)).await?;
        let (base, _, _) = outcome.map_err(offsite_failed)?;
        if let Err(e) = self.prune_offsite(&target, &settings).await {
            tracing::warn!(error = %e, "off-site retention failed; will try again after the next backup");
        }
        Ok(base)
    }

    async fn upload_base(
        &self,
        target: &OffsiteTarget,
        passphrase: &SecretString,
        now: i64,
    ) -> Result<(OffsiteBase, u64, String), OffsiteError> {
        let store = target.store()?;
        let path = target.object(&base_name(now));
        let app = App::clone(self);
        let secret = passphrase.clone();
        let (written, sha256) = transfer::upload(store.clone(), &path, move |out| {
            let database = app.store().database().map_err(|e| BackupError::Io(std::io::Error::other(e.to_string())))?;
            let mut writer = EncryptingWriter::new(out, secret.expose_secret().as_bytes())?;
            let summary = archive::write_snapshot(
                &database,
                app.master_key().expose_bytes(),
                &app.data_dir().root().join("files"),
                now,
                &mut writer,
            )?;
            writer.finish().map_err(BackupError::Io)?;
            Ok::<_, BackupError>(summary)
        })
        .await?;
        let reader = transfer::reader(&store, &path).await?;
        let passphrase = passphrase.clone();
        let checked = tokio::task::spawn_blocking(move || super::verify_from(reader, &passphrase))
            .await
            .map_err(|e| OffsiteError::Store(e.to_string()))??;
        if checked.trailer != written.trailer {
            let _ = store.delete(&path).await;
            return Err(OffsiteError::Backup(BackupError::Corrupt(
                "the backup read back differs from what was written".into(),
            )));
        }
        let bytes = store.head(&path).await?.size;
        Ok((OffsiteBase { created_at: now, object: path.to_string(), bytes }, written.trailer.oplog_seq, sha256))
    }

    /// Deletes the bases retention does not keep (by count per hour, day, week and month).
    async fn prune_offsite(
        &self,
        target: &OffsiteTarget,
        settings: &super::schedule::BackupSettings,
    ) -> Result<(), OffsiteError> {
        let store = target.store()?;
        let generations = chain::list(&store, target).await?;
        let stamps: Vec<i64> = generations.iter().map(|g| g.base.created_at).collect();
        let keep = super::schedule::retained(&stamps, &settings.periods(true));
        // A generation goes whole: its base and every change segment.
        for generation in generations.iter().filter(|g| !keep.contains(&g.base.created_at)) {
            for object in generation.segments.iter().chain([&generation.base.object]) {
                store.delete(&object.as_str().into()).await?;
            }
        }
        Ok(())
    }

    /// Whether an off-site backup is due now (called every minute by the schedule).
    pub(super) async fn offsite_due(&self, settings: &super::schedule::BackupSettings) -> Result<bool, AppError> {
        if !settings.is_configured() || !settings.offsite.is_configured() {
            return Ok(false);
        }
        let status = self.status().await?;
        let now = self.now();
        let interval = i64::from(settings.base_interval_m) * 60;
        let due = status.offsite_last_success_at.is_none_or(|t| now - t >= interval);
        let resting = status.offsite_last_error.is_some()
            && status.offsite_last_attempt_at.is_some_and(|t| now - t < RETRY_AFTER_SECONDS);
        Ok(due && !resting)
    }
}
