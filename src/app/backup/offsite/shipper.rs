//! Continuous change shipping: every `ship_interval_s` seconds the rows the op log names since
//! the last segment (values from one snapshot, tombstones for deletions) and the files stored
//! meanwhile go to the bucket as one sealed segment chained to the one before; every
//! `base_interval_m` minutes a new base starts a new generation. The log is pruned only after
//! the upload succeeded, so a kill at any moment loses nothing: the next segment re-sends
//! from the last one that arrived. The data a restore can lack is at most one interval.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use object_store::{ObjectStoreExt, PutPayload};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::segment::{self, Segment, SegmentHeader};
use crate::app::App;
use crate::app::audit::{AuditEvent, SERVER_CHAIN};
use crate::app::backup::Backups;
use crate::app::backup::format::Keyring;
use crate::error::{AppError, ErrorCode};

/// Files stored up to this long before the previous segment are sent again: a file written
/// just before a snapshot and named by a row committed just after it is never missed.
const FILE_MARGIN_SECONDS: i64 = 60;

/// What the shipper last did (kept unlogged, so keeping it ships nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShipState {
    /// The generation being shipped into (its base's creation time).
    pub generation: i64,
    /// The last op log row in the bucket.
    pub shipped_seq: u64,
    /// SHA-256 of the last object of the chain (the next segment names it).
    pub previous_sha256: String,
    /// Files stored since this time go into the next segment.
    pub files_since: i64,
    /// When the last base or segment arrived.
    pub last_shipped_at: i64,
    pub segments: u64,
    /// Why the latest segment failed (cleared by a success).
    pub last_error: Option<String>,
    /// The store schema of the generation's base: a migration makes a new base due.
    pub schema: u32,
}

impl Backups<'_> {
    /// The shipper's state, once a base started a generation.
    pub async fn ship_state(&self) -> Result<Option<ShipState>, AppError> {
        let Some(bytes) = self.store().shipping_state().await? else { return Ok(None) };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))
    }

    /// Starts a generation at a base whose snapshot ends at op log row `seq`.
    pub(super) async fn start_generation(&self, created_at: i64, seq: u64, sha256: String) -> Result<(), AppError> {
        let state = ShipState {
            generation: created_at,
            shipped_seq: seq,
            previous_sha256: sha256,
            files_since: created_at - FILE_MARGIN_SECONDS,
            last_shipped_at: created_at,
            segments: 0,
            last_error: None,
            schema: crate::app::schema_version(),
        };
        let bytes = serde_json::to_vec(&state).map_err(|e| AppError::internal(ErrorCode::Internal, e))?;
        self.store().shipped_through(Some(seq), bytes).await
    }

    /// Ends the generation being shipped: the next tick makes a new base (the target, the
    /// passphrase or the store's schema changed, or off-site copies were off meanwhile).
    /// `new_target` also gives up the lease, which belongs to the old bucket.
    pub(crate) async fn restart_generation(&self, new_target: bool) -> Result<(), AppError> {
        let bytes =
            serde_json::to_vec(&ShipState::default()).map_err(|e| AppError::internal(ErrorCode::Internal, e))?;
        self.store().shipped_through(None, bytes).await?;
        if new_target {
            self.store().save_shipping_value(super::lease::LEASE, None).await?;
        }
        let mut status = self.status().await?;
        status.offsite_last_success_at = None;
        status.offsite_last_attempt_at = None;
        status.offsite_last_error = None;
        self.save_status(status).await
    }

    /// Runs until `stopped`: each interval, a new base when one is due, else a segment.
    pub async fn keep_shipping(&self, mut stopped: watch::Receiver<()>) {
        let mut last = std::time::Instant::now();
        loop {
            // A changed interval applies within a second.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stopped.changed() => return,
            }
            let interval = self.settings().await.map_or(30, |s| s.ship_interval_s.max(1));
            if last.elapsed() < Duration::from_secs(u64::from(interval)) {
                continue;
            }
            last = std::time::Instant::now();
            if let Err(e) = self.ship_tick().await {
                tracing::error!(code = %e.code(), detail = e.detail().unwrap_or(""), "off-site shipping failed");
            }
        }
    }

    /// The keyring sealing `generation`'s segments: derived once per generation (and again
    /// only if the passphrase changed).
    fn keyring_for(&self, generation: i64, passphrase: SecretString) -> Arc<Keyring> {
        let mut kept = self.segment_keys().lock().unwrap_or_else(|p| p.into_inner());
        match &*kept {
            Some((kept_generation, keys)) if *kept_generation == generation && keys.is_for(&passphrase) => keys.clone(),
            _ => {
                let keys = Arc::new(Keyring::new(passphrase));
                *kept = Some((generation, keys.clone()));
                keys
            }
        }
    }

    /// One round of the shipper: a new base when one is due, else a change segment.
    pub async fn ship_tick(&self) -> Result<(), AppError> {
        let settings = self.settings().await?;
        if !settings.is_configured() || !settings.offsite.is_configured() {
            // Nothing ships: the log need not keep anything, and a later start begins anew.
            if self.ship_state().await?.is_some_and(|s| s.generation > 0) {
                self.restart_generation(false).await?;
            }
            return self.store().drop_log().await;
        }
        let mut state = self.ship_state().await?;
        // Nothing reached the bucket for two full-copy intervals (it is down, or the key was
        // revoked): the next success has to be a new base anyway, so the generation ends here.
        let stalled_for = 2 * i64::from(settings.base_interval_m) * 60;
        if state
            .as_ref()
            .is_some_and(|s| s.generation > 0 && s.last_error.is_some() && self.now() - s.last_shipped_at > stalled_for)
        {
            tracing::warn!(
                "off-site shipping failed for two full-copy intervals: the next success starts a new generation"
            );
            self.restart_generation(false).await?;
            state = self.ship_state().await?;
        }
        // Without a generation the next base holds everything: the log need not grow meanwhile.
        if state.as_ref().is_none_or(|s| s.generation == 0) {
            self.store().drop_log().await?;
        }
        let migrated = state.as_ref().is_some_and(|s| s.generation > 0 && s.schema != crate::app::schema_version());
        if migrated || self.offsite_due(&settings).await? {
            return self.ship_base().await.map(drop);
        }
        self.ship_segment().await.map(drop)
    }

    /// Uploads what changed since the last segment as the next one; answers its object name,
    /// or `None` when nothing changed (or no base started a generation yet).
    pub async fn ship_segment(&self) -> Result<Option<String>, AppError> {
        let settings = self.settings().await?;
        // No generation yet (a promoted standby waits for its first base).
        let Some(state) = self.ship_state().await?.filter(|s| s.generation > 0) else { return Ok(None) };
        let keys = self.keyring_for(state.generation, self.passphrase(&settings)?);
        let target = self.target_of(&settings.offsite)?;
        let changes = self.store().changes_after(state.shipped_seq).await?;
        if changes.rows.is_empty() {
            return Ok(None);
        }
        let now = self.now();
        let files_dir = self.data_dir().files_dir();
        let since = state.files_since;
        let files = tokio::task::spawn_blocking(move || files_stored_since(&files_dir, since))
            .await
            .map_err(|e| AppError::internal(ErrorCode::Internal, e))?
            .map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
        let header = SegmentHeader {
            format: 1,
            generation: state.generation,
            seq_from: state.shipped_seq + 1,
            seq_to: changes.up_to,
            created_at: now,
            previous_sha256: state.previous_sha256.clone(),
            rows: changes.rows.len() as u64,
            files: files.len() as u64,
        };
        let name = segment::object_name(state.generation, header.seq_from, header.seq_to);
        let segment = Segment { header, rows: changes.rows, files };
        let sealed = tokio::task::spawn_blocking(move || segment::seal(&segment, &keys))
            .await
            .map_err(|e| AppError::internal(ErrorCode::Internal, e))?
            .map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
        let (bytes, digest) = sealed;
        // Only the lease holder ships: a replaced primary stops here.
        let uploaded = match target.store() {
            Ok(store) => match self.hold_lease(&store, &target).await {
                Ok(()) => {
                    store.put(&target.object(&name), PutPayload::from(bytes)).await.map_err(super::OffsiteError::from)
                }
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        };
        match uploaded {
            Ok(_) => {
                let next = ShipState {
                    shipped_seq: changes.up_to,
                    previous_sha256: digest,
                    files_since: now - FILE_MARGIN_SECONDS,
                    last_shipped_at: now,
                    segments: state.segments + 1,
                    last_error: None,
                    ..state
                };
                let bytes = serde_json::to_vec(&next).map_err(|e| AppError::internal(ErrorCode::Internal, e))?;
                self.store().shipped_through(Some(changes.up_to), bytes).await?;
                Ok(Some(target.object(&name).to_string()))
            }
            Err(e) => {
                tracing::error!(error = %e, "off-site change segment not uploaded; the next one carries it");
                if state.last_error.is_none() {
                    let alert = AuditEvent::new("ops.offsite_shipping_failed", None).target(e.to_string()).failed();
                    self.alerts().raise(SERVER_CHAIN, alert);
                }
                let failed = ShipState { last_error: Some(e.to_string()), ..state };
                let bytes = serde_json::to_vec(&failed).map_err(|e| AppError::internal(ErrorCode::Internal, e))?;
                self.store().shipped_through(None, bytes).await?;
                Err(AppError::internal(ErrorCode::StorageUnavailable, e))
            }
        }
    }
}

/// The files under `dir` changed at or after `since` (unix seconds), as `(relative path, bytes)`.
fn files_stored_since(dir: &Path, since: i64) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(found) };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Unfinished uploads are not files yet.
        if !entry.file_type()?.is_file() || name.ends_with(".tmp") {
            continue;
        }
        let modified = entry.metadata()?.modified()?;
        let at = modified.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        if at >= since {
            found.push((name, std::fs::read(entry.path())?));
        }
    }
    Ok(found)
}

/// Writes a segment's files into a restored files directory.
pub(super) fn write_files(dir: &Path, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

impl App {
    /// Starts the shipper (the server's background task).
    pub async fn ship_changes(self, stopped: watch::Receiver<()>) {
        self.backups().keep_shipping(stopped).await;
    }
}
