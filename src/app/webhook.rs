//! The alert webhook: security alerts POSTed as JSON, signed with HMAC-SHA256 under a shared
//! secret, retried with back-off by a background worker — never on the request path.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::mpsc;

use super::App;
use super::audit::{AuditEvent, record_server};
use super::auth::permissions::Action;
use super::auth::{ClientInfo, TenantScope};
use super::store::Versioned;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// The alert webhook: its settings and delivery.
    Webhooks
}

/// The settings key.
pub(crate) const ALERT_SETTINGS: &str = "alerts";
/// The purpose the webhook secret is sealed for.
const SECRET_PURPOSE: &str = "alert-webhook-secret";
/// Alerts waiting to be sent; beyond this, new ones are dropped (and logged).
const QUEUE: usize = 256;
/// Back-off between attempts.
const RETRY_DELAYS: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(5), Duration::from_secs(30)];
/// The header carrying `sha256=<hex HMAC of the body>`.
pub const SIGNATURE_HEADER: &str = "x-holdfast-signature";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertSettings {
    /// Empty: no webhook.
    pub webhook_url: String,
    /// Hex of the sealed shared secret.
    pub secret_sealed: String,
}

impl Versioned for AlertSettings {
    const VERSION: u16 = 1;
}

/// One alert on its way out.
#[derive(Debug, Clone, Serialize)]
pub struct AlertPayload {
    pub event: String,
    pub workspace: String,
    pub at: i64,
    pub target: Option<String>,
    pub ip: Option<String>,
}

/// The sending side of the queue, and the receiving side until the worker takes it.
pub(crate) struct WebhookQueue {
    sender: mpsc::Sender<AlertPayload>,
    receiver: Mutex<Option<mpsc::Receiver<AlertPayload>>>,
}

impl Default for WebhookQueue {
    fn default() -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        Self { sender, receiver: Mutex::new(Some(receiver)) }
    }
}

/// `sha256=` + hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Only https, or http to this machine (a local relay or a test receiver).
fn validate_url(text: &str) -> Result<String, AppError> {
    let invalid = || AppError::field(ErrorCode::InvalidFormat, "webhook_url");
    let url = url::Url::parse(text.trim()).map_err(|_| invalid())?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(url.to_string()),
        "http" if local => Ok(url.to_string()),
        _ => Err(invalid()),
    }
}

fn http_client() -> Result<reqwest::Client, AppError> {
    crate::tls::outbound_client(Vec::new())
        .map_err(|e| AppError::internal(ErrorCode::Internal, e))?
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| AppError::internal(ErrorCode::Internal, e))
}

impl Webhooks<'_> {
    pub fn settings(&self) -> AlertSettings {
        self.inner().alert_settings.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stores the webhook URL and secret (an empty secret keeps the stored one), audited.
    pub async fn save_settings(
        &self,
        scope: &TenantScope,
        url: &str,
        secret: &SecretString,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        scope.require(Action::ManageSettings)?;
        scope.require_server_operator()?;
        scope.require_recent_second_factor(self.now())?;
        let settings = if url.trim().is_empty() {
            AlertSettings::default()
        } else {
            let webhook_url = validate_url(url)?;
            let current = self.settings();
            let secret_sealed = match secret.expose_secret() {
                // The stored secret only ever signs for the URL it was given with.
                "" if current.webhook_url == webhook_url => current.secret_sealed,
                "" => String::new(),
                text if text.len() < 16 => return Err(AppError::field(ErrorCode::WeakPassword, "secret")),
                text => hex::encode(self.sealer().seal(SECRET_PURPOSE, text.as_bytes())?),
            };
            if secret_sealed.is_empty() {
                return Err(AppError::field(ErrorCode::Required, "secret"));
            }
            AlertSettings { webhook_url, secret_sealed }
        };
        let (stored, scope, client, now) = (settings.clone(), scope.clone(), client.clone(), self.now());
        self.store()
            .write(move |txn| {
                txn.save_setting(ALERT_SETTINGS, &stored)?;
                let event = AuditEvent::new("settings.alerts_changed", Some(*scope.user()))
                    .fields(&["webhook_url", "secret"])
                    .from_client(&client);
                record_server(txn, scope.workspace(), now, event)
            })
            .await?;
        *self.inner().alert_settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
        Ok(())
    }

    /// Queues an alert recorded elsewhere (inside a transaction) for the webhook.
    pub(crate) fn for_event(
        &self,
        workspace: &crate::domain::ids::WorkspaceId,
        event: &str,
        target: Option<String>,
        ip: &str,
    ) {
        self.queue(AlertPayload {
            event: event.to_owned(),
            workspace: workspace.to_string(),
            at: self.now(),
            target,
            ip: Some(ip.to_owned()),
        });
    }

    /// Queues an alert for the webhook (if one is configured); never waits.
    pub(crate) fn queue(&self, payload: AlertPayload) {
        if self.settings().webhook_url.is_empty() {
            return;
        }
        if self.inner().webhook.sender.try_send(payload).is_err() {
            tracing::warn!("alert webhook queue full: alert dropped (it is in the audit log)");
        }
    }

    /// Starts the webhook worker (once, from `serve`).
    pub fn start_worker(&self) {
        let Some(mut receiver) = self.inner().webhook.receiver.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        // A weak handle: the worker must not keep the app (and its data-dir lock) alive; when
        // the app goes, the queue's sender goes with it and the worker ends.
        let app = Arc::downgrade(&self.0.0);
        tokio::spawn(async move {
            let client = match http_client() {
                Ok(client) => client,
                Err(e) => return tracing::error!(code = %e.code(), "alert webhook disabled: no HTTP client"),
            };
            while let Some(payload) = receiver.recv().await {
                let Some(inner) = app.upgrade() else { return };
                App(inner).webhooks().deliver(&client, &payload).await;
            }
        });
    }

    async fn deliver(&self, client: &reqwest::Client, payload: &AlertPayload) {
        let settings = self.settings();
        if settings.webhook_url.is_empty() {
            return;
        }
        let secret = match hex::decode(&settings.secret_sealed)
            .map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))
            .and_then(|s| self.sealer().open(SECRET_PURPOSE, &s))
        {
            Ok(secret) => secret,
            Err(e) => return tracing::error!(code = %e.code(), "alert webhook secret unreadable"),
        };
        let body = serde_json::to_vec(payload).unwrap_or_default();
        let sig = signature(&secret, &body);
        for (attempt, delay) in std::iter::once(Duration::ZERO).chain(RETRY_DELAYS).enumerate() {
            tokio::time::sleep(delay).await;
            let sent = client
                .post(&settings.webhook_url)
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, &sig)
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => return,
                Ok(response) => tracing::warn!(attempt, status = response.status().as_u16(), "alert webhook refused"),
                Err(e) => tracing::warn!(attempt, error = %e.without_url(), "alert webhook unreachable"),
            }
        }
        tracing::error!(event = payload.event, "alert webhook gave up after retries");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_must_be_https_except_to_this_machine() {
        assert!(validate_url("https://hooks.example.com/x").is_ok());
        assert!(validate_url("http://127.0.0.1:9000/hook").is_ok());
        for bad in ["http://hooks.example.com/x", "ftp://x", "javascript:alert(1)", "not a url"] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        let sig = signature(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
