//! The lease: who may ship into the bucket. Leases are numbered objects
//! (`leases/00000001.json`, …) created with a conditional PUT that fails when the object
//! exists, so two servers can never take the same number. The highest number holds the
//! lease; a primary checks before every upload, and one that finds a higher number than its own
//! has been replaced (`holdfast promote` elsewhere): it stops shipping and says so.

use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};

use super::OffsiteError;
use super::target::OffsiteTarget;
use crate::app::backup::Backups;
use crate::error::{AppError, ErrorCode};

/// Where this server's lease number is kept (unlogged, not backed up: a restored or standby
/// copy holds no lease until promoted).
pub(super) const LEASE: &str = "lease";

/// The highest lease number in the bucket (0: none taken yet).
pub async fn highest(store: &Arc<dyn ObjectStore>, target: &OffsiteTarget) -> Result<u64, OffsiteError> {
    let leases: Vec<object_store::ObjectMeta> = store.list(Some(&target.object("leases"))).try_collect().await?;
    Ok(leases
        .iter()
        .filter_map(|meta| meta.location.filename()?.strip_suffix(".json")?.parse::<u64>().ok())
        .max()
        .unwrap_or(0))
}

/// Takes lease `number`, or fails with `Conflict` when another server took it first.
pub async fn take(
    store: &Arc<dyn ObjectStore>,
    target: &OffsiteTarget,
    number: u64,
    holder: &str,
    now: i64,
) -> Result<(), LeaseError> {
    let body = serde_json::json!({ "lease": number, "holder": holder, "taken_at": now }).to_string();
    let options = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
    match store.put_opts(&target.object(&format!("leases/{number:08}.json")), PutPayload::from(body), options).await {
        Ok(_) => Ok(()),
        Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
            Err(LeaseError::Conflict(number))
        }
        Err(e) => Err(LeaseError::Store(e.into())),
    }
}

/// Why the lease is not ours.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("lease {0} was taken by another server at the same moment: it is the primary now")]
    Conflict(u64),
    #[error(
        "this server lost the lease: server lease {held}, but lease {highest} exists (another server was promoted); shipping stopped"
    )]
    Lost { held: u64, highest: u64 },
    #[error(
        "another server holds lease {0} on this bucket and prefix: to take over, run `holdfast promote` on this server"
    )]
    HeldElsewhere(u64),
    #[error("{0}")]
    Store(#[from] OffsiteError),
}

impl Backups<'_> {
    /// This server's lease number (0: none).
    pub async fn lease(&self) -> Result<u64, AppError> {
        let held = self.store().shipping_value(LEASE).await?;
        Ok(held.and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok()).map_or(0, u64::from_be_bytes))
    }

    pub(crate) async fn keep_lease(&self, number: u64) -> Result<(), AppError> {
        self.store().save_shipping_value(LEASE, Some(number.to_be_bytes().to_vec())).await
    }

    /// Makes sure this server may ship: holds the highest lease, or takes the first one.
    pub(super) async fn hold_lease(
        &self,
        store: &Arc<dyn ObjectStore>,
        target: &OffsiteTarget,
    ) -> Result<(), AppError> {
        let refused = |e: LeaseError| AppError::internal(ErrorCode::StorageUnavailable, e);
        let held = self.lease().await?;
        let highest = highest(store, target).await.map_err(|e| refused(e.into()))?;
        match (held, highest) {
            (0, 0) => {
                take(store, target, 1, &holder_name(), self.now()).await.map_err(refused)?;
                self.keep_lease(1).await
            }
            (0, highest) => Err(refused(LeaseError::HeldElsewhere(highest))),
            (held, highest) if held == highest => Ok(()),
            // A lower number: promoted elsewhere. A higher one: this bucket's leases are not the
            // ones this server took (removed, or another bucket): never ship on a guess.
            (held, highest) => Err(refused(LeaseError::Lost { held, highest })),
        }
    }
}

/// How a lease names its holder: this host.
pub fn holder_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "unknown host".to_owned(), |h| h.trim().to_owned())
}
