//! Field-key rotation as a service: `holdfast keys rotate` and the owner's button on the
//! security settings page start it; batches re-seal every sealed value (resumable: progress
//! is stored with each batch); the old keys are deleted once nothing uses them. Audited.

use std::sync::atomic::Ordering;

use super::App;
use super::audit::{self, AuditEvent, SERVER_CHAIN};
use super::auth::permissions::Action;
use super::auth::{ClientInfo, TenantScope};
use super::store::field_keys::{RotationState, StepOutcome};
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// Field-encryption key rotation.
    Keys
}

/// Rows re-sealed per write transaction.
pub const ROTATION_BATCH: usize = 1_000;

/// What the settings page and the CLI show about the field keys.
#[derive(Debug, Clone)]
pub struct KeyStatus {
    pub current: u32,
    pub stored: Vec<u32>,
    pub rotation: Option<RotationState>,
    /// Rows a rotation walks in all (records, import snapshots, idempotent answers).
    pub rows: u64,
}

impl KeyStatus {
    /// Per cent of the rows a running rotation has looked at.
    pub fn percent(&self) -> u64 {
        match &self.rotation {
            Some(r) if self.rows > 0 => (r.scanned * 100 / self.rows).min(99),
            Some(_) => 99,
            None => 100,
        }
    }
}

impl Keys<'_> {
    /// The field keys and any unfinished rotation.
    pub async fn status(&self) -> Result<KeyStatus, AppError> {
        let current = self.store().keyring().current_id();
        let (stored, rotation, rows) =
            self.store().read(|txn| Ok((txn.data_key_ids()?, txn.key_rotation()?, txn.rows_to_reseal()?))).await?;
        Ok(KeyStatus { current, stored, rotation, rows })
    }

    /// Starts a rotation (or returns the unfinished one): a new current data key. Owners of the
    /// home workspace only, with a fresh second factor; `None` is the offline CLI. Audited
    /// `keys.rotated`.
    pub async fn begin_rotation(
        &self,
        scope: Option<&TenantScope>,
        client: &ClientInfo,
    ) -> Result<RotationState, AppError> {
        if let Some(scope) = scope {
            scope.require(Action::ManageSettings)?;
            scope.require_server_operator()?;
            if scope.role() != Role::Owner {
                return Err(ErrorCode::Forbidden.into());
            }
            scope.require_recent_second_factor(self.now())?;
        }
        let (workspace, actor) = match scope {
            Some(scope) => (*scope.workspace(), Some(*scope.user())),
            None => (SERVER_CHAIN, None),
        };
        let (client, now) = (client.clone(), self.now());
        let (state, new) = self
            .store()
            .write(move |txn| {
                let (state, new) = txn.begin_key_rotation(now)?;
                if new {
                    let event = AuditEvent::new("keys.rotated", actor)
                        .target(format!("key:{}", state.target))
                        .from_client(&client);
                    audit::record_server(txn, &workspace, now, event)?;
                }
                Ok((state, new))
            })
            .await?;
        if new {
            // Durable now: new values may use the key.
            self.store().keyring().set_current(state.target);
            tracing::info!(key_id = state.target, "field-encryption key rotation started");
        }
        Ok(state)
    }

    /// Re-seals up to `limit` rows of the unfinished rotation; the last step retires the old
    /// keys. `None`: no rotation is running.
    pub async fn rotation_step(&self, limit: usize) -> Result<Option<StepOutcome>, AppError> {
        let now = self.now();
        let outcome = self
            .store()
            .write(move |txn| {
                let outcome = txn.key_rotation_step(limit)?;
                if let Some(StepOutcome { state, retired: Some(retired) }) = &outcome {
                    let ids: Vec<String> = retired.iter().map(|id| format!("key:{id}")).collect();
                    let fields: Vec<&str> = ids.iter().map(String::as_str).collect();
                    let event = AuditEvent::new("keys.retired", None).target(format!("key:{}", state.target));
                    audit::record_server(txn, &SERVER_CHAIN, now, event.fields(&fields))?;
                }
                Ok(outcome)
            })
            .await?;
        if let Some(StepOutcome { state, retired: Some(retired) }) = &outcome {
            for id in retired {
                self.store().keyring().remove(*id);
            }
            tracing::info!(key_id = state.target, resealed = state.resealed, "field-encryption key rotation complete");
        }
        Ok(outcome)
    }

    /// Runs the unfinished rotation to its end in batches; `progress` sees each step.
    pub async fn finish_rotation(&self, mut progress: impl FnMut(&StepOutcome)) -> Result<(), AppError> {
        while let Some(outcome) = self.rotation_step(ROTATION_BATCH).await? {
            progress(&outcome);
            if outcome.retired.is_some() {
                break;
            }
        }
        Ok(())
    }

    /// Finishes an unfinished rotation in the background (one at a time): after the settings
    /// button, and at start when a previous run was interrupted.
    pub fn spawn_rotation(&self) {
        if self.inner().rotating.swap(true, Ordering::SeqCst) {
            return;
        }
        let app = App::clone(self);
        tokio::spawn(async move {
            if let Err(e) = app.keys().finish_rotation(|_| ()).await {
                tracing::error!(error = %e, "field-encryption key rotation stopped; it resumes on the next start");
            }
            app.0.rotating.store(false, Ordering::SeqCst);
        });
    }
}
