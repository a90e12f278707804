//! Restoring a fresh install from its off-site copies, started from the setup page: the bucket
//! is tried at once (wrong credentials or an empty prefix answer the form), the restore runs in
//! the background while the page follows it, and the server then restarts itself on the
//! restored data.

use secrecy::{ExposeSecret, SecretString};

use super::{OffsiteTarget, chain};
use crate::app::backup::Backups;
use crate::error::{AppError, ErrorCode};

/// What the setup page's restore form sends.
pub struct SetupRestoreInput {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub path_style: bool,
    pub passphrase: SecretString,
}

impl SetupRestoreInput {
    /// The bucket the form names, checked as far as it can be without asking it.
    fn target(&self) -> Result<OffsiteTarget, AppError> {
        let text = |value: &str| value.trim().to_owned();
        let required = [
            (self.bucket.trim().is_empty(), "bucket"),
            (self.access_key_id.trim().is_empty(), "access_key_id"),
            (self.secret_access_key.expose_secret().is_empty(), "secret_access_key"),
            (self.passphrase.expose_secret().is_empty(), "passphrase"),
        ];
        if let Some((_, field)) = required.iter().find(|(missing, _)| *missing) {
            return Err(AppError::field(ErrorCode::Required, field));
        }
        let endpoint = text(&self.endpoint);
        let target = OffsiteTarget {
            endpoint: (!endpoint.is_empty()).then_some(endpoint),
            region: Some(text(&self.region)).filter(|r| !r.is_empty()).unwrap_or_else(|| "us-east-1".to_owned()),
            bucket: text(&self.bucket),
            prefix: text(&self.prefix).trim_matches('/').to_owned(),
            access_key_id: text(&self.access_key_id),
            secret_access_key: self.secret_access_key.clone(),
            path_style: self.path_style,
        };
        target.check().map_err(|e| {
            let field = if e.to_string().contains("bucket") { "bucket" } else { "endpoint" };
            AppError::field(ErrorCode::InvalidFormat, field).with_hint(e.to_string())
        })?;
        Ok(target)
    }
}

/// Where a restore started from the setup page stands (kept in memory: a restart ends it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SetupRestore {
    #[default]
    NotStarted,
    Running {
        from: String,
    },
    Failed {
        from: String,
        error: String,
    },
    /// Swapped in; the server is restarting on it.
    Done {
        from: String,
        /// The moment the restored data is as of.
        point: i64,
    },
}

impl Backups<'_> {
    /// Where the setup page's restore stands.
    pub fn setup_restore(&self) -> SetupRestore {
        self.setup_restore_state().lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Tries the bucket, then restores its newest point into this fresh install in the
    /// background and restarts the server on it. The caller has checked that setup is still
    /// open (no account exists, so nothing of value is replaced).
    pub async fn start_setup_restore(&self, input: SetupRestoreInput) -> Result<(), AppError> {
        let target = input.target()?;
        let refused = |e: super::OffsiteError| {
            let field = match e {
                super::OffsiteError::Credentials(_) => "secret_access_key",
                _ => "bucket",
            };
            AppError::field(ErrorCode::InvalidFormat, field).with_hint(e.to_string())
        };
        let store = target.store().map_err(|e| refused(e.into()))?;
        let generations = chain::list(&store, &target).await.map_err(refused)?;
        if generations.is_empty() {
            return Err(refused(super::OffsiteError::NoBackup(target.url())));
        }
        let from = target.url();
        {
            let mut state = self.setup_restore_state().lock().unwrap_or_else(|p| p.into_inner());
            if matches!(*state, SetupRestore::Running { .. } | SetupRestore::Done { .. }) {
                return Err(AppError::field(ErrorCode::InvalidFormat, "bucket")
                    .with_hint("a restore is already under way".to_owned()));
            }
            *state = SetupRestore::Running { from: from.clone() };
        }
        let app = (**self).clone();
        let root = self.data_dir().root().to_path_buf();
        let now = self.now();
        tokio::spawn(async move {
            let outcome = super::restore(&root, &target, &input.passphrase, None, true, now).await;
            let next = match outcome {
                Ok(restored) => {
                    tracing::info!(from = %from, base = %restored.base.object, segments = restored.segments,
                        "restored from the off-site copies on the setup page; restarting on the restored data");
                    SetupRestore::Done { from, point: restored.point }
                }
                Err(e) => {
                    tracing::error!(from = %from, error = %e, "the restore started on the setup page failed; nothing was changed");
                    SetupRestore::Failed { from, error: e.to_string() }
                }
            };
            let done = matches!(next, SetupRestore::Done { .. });
            *app.backups().setup_restore_state().lock().unwrap_or_else(|p| p.into_inner()) = next;
            if done {
                app.request_restart();
            }
        });
        Ok(())
    }
}
