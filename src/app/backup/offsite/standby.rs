//! A warm standby: a second machine keeps its data directory current from the bucket — the
//! newest base restored, then each new change segment applied as it arrives — and knows how
//! far behind it is. `holdfast promote` turns it into the primary: it takes the next lease
//! (so the old primary, if it still runs, stops shipping) and its first off-site base starts a
//! new generation.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::chain::{self, Generation};
use super::{ChainEnd, OffsiteError, OffsiteTarget, lease, restore};
use crate::app::backup::Backups;
use crate::error::{AppError, ErrorCode};

/// The standby's own record, next to its store: where it follows from and how far it got.
const STANDBY_FILE: &str = "standby.json";

/// How far a standby got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandbyState {
    /// `s3://BUCKET/PREFIX` it follows.
    pub url: String,
    /// The generation applied (its base's creation time).
    pub generation: i64,
    pub end: ChainEnd,
    /// The time the data is from (the last segment's, else the base's).
    pub point: i64,
    /// Segments applied in this generation.
    pub segments: u64,
}

fn state_path(root: &Path) -> PathBuf {
    root.join(STANDBY_FILE)
}

/// The standby's state, if `root` is a standby's data directory.
pub fn read_state(root: &Path) -> Option<StandbyState> {
    serde_json::from_slice(&std::fs::read(state_path(root)).ok()?).ok()
}

fn write_state(root: &Path, state: &StandbyState) -> Result<(), OffsiteError> {
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| OffsiteError::Store(e.to_string()))?;
    crate::datadir::write_private_file(&state_path(root), &bytes).map_err(|e| OffsiteError::Store(e.to_string()))
}

/// Brings the data directory at `root` (locked by the caller) up to the newest point in the
/// bucket: a new generation is restored whole, new segments of the current one are applied.
pub async fn catch_up(
    root: &Path,
    target: &OffsiteTarget,
    passphrase: &SecretString,
    now: i64,
) -> Result<StandbyState, OffsiteError> {
    let store = target.store()?;
    let newest = chain::list(&store, target).await?.pop().ok_or_else(|| OffsiteError::NoBackup(target.url()))?;
    if let Some(state) = read_state(root).filter(|s| s.generation == newest.base.created_at) {
        let fresh: Vec<String> = newest.segments.iter().filter(|s| **s > state.end.object).cloned().collect();
        if fresh.is_empty() {
            return Ok(state);
        }
        let since = Generation { base: newest.base.clone(), segments: fresh };
        let walked = chain::walk(&store, &since, &state.end.sha256, state.end.seq, passphrase).await?;
        if !walked.chain.is_empty() {
            let database =
                redb::Database::open(root.join("holdfast.redb")).map_err(|e| OffsiteError::Store(e.to_string()))?;
            let mut next = state;
            for link in &walked.chain {
                super::apply(&database, &root.join("files"), link)?;
                next.end = ChainEnd {
                    seq: link.segment.header.seq_to,
                    object: link.object.clone(),
                    sha256: link.sha256.clone(),
                };
                next.point = link.segment.header.created_at;
                next.segments += 1;
            }
            write_state(root, &next)?;
            return Ok(next);
        }
        // The new segments do not continue what was applied (a re-sent segment replaced one):
        // start the generation over.
    }
    let restored = restore(root, target, passphrase, None, true, now).await?;
    if let Some(aside) = &restored.aside {
        // A standby's previous copy holds nothing the bucket does not.
        let _ = std::fs::remove_dir_all(aside);
    }
    let state = StandbyState {
        url: target.url(),
        generation: restored.base.created_at,
        end: restored.link,
        point: restored.point,
        segments: restored.segments as u64,
    };
    write_state(root, &state)?;
    Ok(state)
}

impl Backups<'_> {
    /// Makes this standby's data the primary's: takes the next lease in the bucket its
    /// settings name, forgets the standby state, and makes the first off-site base due at once
    /// (it starts a new generation). Answers the lease number taken.
    pub async fn promote(&self) -> Result<u64, AppError> {
        let root = self.data_dir().root().to_path_buf();
        if read_state(&root).is_none() {
            return Err(AppError::internal(
                ErrorCode::InvalidFormat,
                "this data directory is not a standby (no standby.json)",
            ));
        }
        let target = self
            .offsite_target()
            .await?
            .ok_or_else(|| AppError::internal(ErrorCode::Required, "the restored settings name no off-site target"))?;
        let failed = |e: OffsiteError| AppError::internal(ErrorCode::StorageUnavailable, e);
        let store = target.store().map_err(|e| failed(e.into()))?;
        let number = lease::highest(&store, &target).await.map_err(failed)? + 1;
        lease::take(&store, &target, number, &lease::holder_name(), self.now())
            .await
            .map_err(|e| AppError::internal(ErrorCode::Duplicate, e))?;
        self.keep_lease(number).await?;
        let mut status = self.status().await?;
        status.offsite_last_success_at = None;
        status.offsite_last_error = None;
        status.offsite_last_attempt_at = None;
        self.save_status(status).await?;
        std::fs::remove_file(state_path(&root)).map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
        Ok(number)
    }
}
