//! What ACME certificates leave in the application: the account (its key and URL, sealed in
//! the store — never in a file — one per directory so a switch between staging and production
//! makes a fresh account), an audit entry per issued certificate, and the alert when renewal
//! fails.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::audit::{AuditEvent, SERVER_CHAIN, record_server};
use super::store::Versioned;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// The ACME account, and the record of what the CA did.
    Acme
}

/// The server setting that holds the sealed credentials.
const SETTING: &str = "acme_account";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredAccount {
    directory: String,
    /// Hex of the credentials, sealed for this directory.
    sealed: String,
}

impl Versioned for StoredAccount {
    const VERSION: u16 = 1;
}

/// Binds the sealed credentials to their directory: they open for no other.
fn purpose(directory: &str) -> String {
    format!("acme-account:{directory}")
}

impl Acme<'_> {
    /// The credentials kept for `directory` (serialized by the ACME client), if any.
    pub async fn load(&self, directory: &str) -> Result<Option<Zeroizing<Vec<u8>>>, AppError> {
        let stored: Option<StoredAccount> = self.store().read(|txn| txn.setting(SETTING)).await?;
        let Some(stored) = stored.filter(|s| s.directory == directory) else { return Ok(None) };
        let sealed = hex::decode(&stored.sealed).map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
        self.sealer().open(&purpose(directory), &sealed).map(Some)
    }

    /// Keeps `credentials` for `directory`, replacing any account kept before.
    pub async fn save(&self, directory: &str, credentials: &[u8]) -> Result<(), AppError> {
        let sealed = hex::encode(self.sealer().seal(&purpose(directory), credentials)?);
        let stored = StoredAccount { directory: directory.to_owned(), sealed };
        self.store().write(move |txn| txn.save_setting(SETTING, &stored)).await
    }

    /// Audits a certificate the CA issued (and that now serves).
    pub async fn issued(&self, names: &[String], not_after: i64) -> Result<(), AppError> {
        let summary = format!("{} until {}", names.join(", "), crate::domain::timestamps::format_utc(not_after));
        let now = self.now();
        let event = AuditEvent::new("tls.certificate_issued", None).fields(&[&summary]);
        self.store().write(move |txn| record_server(txn, &SERVER_CHAIN, now, event)).await
    }

    /// Raises the alert that renewal failed (audit log, webhook, email to the operators): the
    /// certificate in use keeps serving.
    pub fn renewal_failed(&self, why: &str) {
        let event = AuditEvent::new("ops.certificate_renewal_failed", None).target(why).failed();
        self.alerts().raise(SERVER_CHAIN, event);
    }
}
