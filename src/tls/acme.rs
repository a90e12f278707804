//! Certificates from an ACME CA (Let's Encrypt by default) with instant-acme: the account is
//! made once and kept sealed in the store; an order is answered by HTTP-01 on the plain-HTTP
//! listener when there is one, else by TLS-ALPN-01 on the HTTPS listener; the certificate is
//! renewed at two thirds of its lifetime (plus jitter), retried with exponential backoff when
//! the CA or the validation fails — while the certificate in use keeps serving and the failure
//! is alerted, shown on /health/detailed and on the system page.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder, OrderStatus,
    RetryPolicy,
};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::acme_http::AcmeHttp;
use super::{CertInfo, CertManager};
use crate::app::App;
use crate::config::{HttpListen, TlsConfig};

/// The first retry after a failure; each further one waits twice as long…
const FIRST_RETRY: Duration = Duration::from_secs(60);
/// …up to this.
const LONGEST_RETRY: Duration = Duration::from_secs(6 * 3600);
/// One whole attempt (account, order, validation, issuance) may take this long.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(300);

/// What to ask the CA for, and how to prove control of the names.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    pub domains: Vec<String>,
    pub contact: Option<String>,
    pub directory: String,
    pub extra_ca: Option<PathBuf>,
    pub challenge: Challenge,
}

/// How the CA checks that we control the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// A token on the plain-HTTP listener (port 80 in production).
    Http01,
    /// A special certificate on the HTTPS listener (port 443 in production).
    TlsAlpn01,
}

impl AcmeSettings {
    /// From `[tls]`: HTTP-01 when the plain-HTTP listener is on, else TLS-ALPN-01.
    pub fn from_config(tls: &TlsConfig, http_listen: HttpListen) -> AcmeSettings {
        AcmeSettings {
            domains: tls.acme_domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
            contact: (!tls.acme_email.is_empty()).then(|| format!("mailto:{}", tls.acme_email)),
            directory: tls.acme_directory_url().to_owned(),
            extra_ca: (!tls.acme_ca_file.as_os_str().is_empty()).then(|| tls.acme_ca_file.clone()),
            challenge: match http_listen {
                HttpListen::On(_) => Challenge::Http01,
                HttpListen::Off => Challenge::TlsAlpn01,
            },
        }
    }
}

/// How renewal is going, for the health check and the system page.
#[derive(Debug, Clone, Default)]
pub struct RenewalStatus {
    /// When the CA last issued a certificate (unix seconds).
    pub last_issued: Option<i64>,
    /// Why the latest attempt failed; `None` once one succeeds.
    pub failing: Option<String>,
    /// Failed attempts in a row.
    pub failures: u32,
    /// When the next attempt is due (unix seconds).
    pub next_attempt: Option<i64>,
}

/// Why an attempt failed, worded for the operator.
#[derive(Debug, thiserror::Error)]
enum AcmeError {
    #[error("the ACME CA refused: {0}")]
    Acme(#[from] instant_acme::Error),
    #[error("validation of {name} failed: {reason}")]
    Validation { name: String, reason: String },
    #[error("the order ended {0:?}")]
    Order(OrderStatus),
    #[error("the CA offers no {0:?} challenge for {1}")]
    NoChallenge(Challenge, String),
    #[error("{0}")]
    Local(String),
}

/// Keeps `manager` serving a certificate the CA issued for `settings.domains`: obtains one at
/// once when there is none, then renews each at two thirds of its lifetime.
pub async fn keep_certified(
    app: App,
    manager: Arc<CertManager>,
    settings: AcmeSettings,
    mut stopped: watch::Receiver<()>,
) {
    let http = match AcmeHttp::new(settings.extra_ca.as_deref()) {
        Ok(http) => http,
        Err(why) => {
            tracing::error!(error = %why, "ACME: cannot build the HTTP client; no certificate will be obtained");
            failed(&app, &manager, &why, 1);
            return;
        }
    };
    let mut failures = 0u32;
    loop {
        let wait = match failures {
            0 => until(manager.renewal_due(), app.now()) + jitter(&manager.info()),
            n => retry_delay(n),
        };
        let mut status = manager.renewal();
        status.next_attempt = Some(app.now() + wait.as_secs() as i64);
        manager.set_renewal(status);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => return,
        }
        let attempt = tokio::select! {
            attempt = tokio::time::timeout(ATTEMPT_TIMEOUT, obtain(&app, &manager, &settings, &http)) => attempt,
            _ = stopped.changed() => return,
        };
        manager.challenges().clear();
        match attempt {
            Ok(Ok(info)) => {
                failures = 0;
                tracing::info!(names = ?info.names, not_after = %info.not_after, "ACME certificate installed");
                let status = RenewalStatus { last_issued: Some(app.now()), ..RenewalStatus::default() };
                manager.set_renewal(status);
                if let Err(e) = app.acme().issued(&info.names, info.not_after.unix_timestamp()).await {
                    tracing::error!(code = %e.code(), "issued certificate not audited");
                }
            }
            Ok(Err(e)) => {
                failures += 1;
                failed(&app, &manager, &e.to_string(), failures);
            }
            Err(_) => {
                failures += 1;
                failed(&app, &manager, "the ACME CA did not finish within five minutes", failures);
            }
        }
    }
}

/// Notes a failed attempt; the first of a run raises the alert.
fn failed(app: &App, manager: &CertManager, why: &str, failures: u32) {
    tracing::error!(error = %why, failures, "ACME: no certificate obtained; the current one keeps serving");
    let status = RenewalStatus { failing: Some(why.to_owned()), failures, ..manager.renewal() };
    manager.set_renewal(status);
    if failures == 1 {
        app.acme().renewal_failed(why);
    }
}

/// One attempt: account, order, challenges, issuance, installation.
async fn obtain(
    app: &App,
    manager: &CertManager,
    settings: &AcmeSettings,
    http: &AcmeHttp,
) -> Result<CertInfo, AcmeError> {
    let account = account(app, settings, http).await?;
    let identifiers: Vec<Identifier> = settings.domains.iter().cloned().map(Identifier::Dns).collect();
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
    let kind = match settings.challenge {
        Challenge::Http01 => ChallengeType::Http01,
        Challenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
    };
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization?;
        match authorization.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => {
                let name = authorization.identifier().to_string();
                return Err(AcmeError::Validation { name, reason: format!("authorization is {other:?}") });
            }
        }
        let name = authorization.identifier().to_string();
        let mut challenge = authorization
            .challenge(kind.clone())
            .ok_or_else(|| AcmeError::NoChallenge(settings.challenge, name.clone()))?;
        let key_authorization = challenge.key_authorization();
        match settings.challenge {
            Challenge::Http01 => manager.challenges().answer_http01(&challenge.token, key_authorization.as_str()),
            Challenge::TlsAlpn01 => manager
                .challenges()
                .answer_tls_alpn01(&name, key_authorization.digest().as_ref(), &manager.provider)
                .map_err(|e| AcmeError::Local(e.to_string()))?,
        }
        // A CA that validates at once (Pebble) answers the outcome right here.
        challenge.set_ready().await.map_err(|e| AcmeError::Validation { name, reason: e.to_string() })?;
    }
    let patience = RetryPolicy::new().initial_delay(Duration::from_millis(500)).timeout(Duration::from_secs(120));
    let validation =
        |e: instant_acme::Error| AcmeError::Validation { name: settings.domains.join(", "), reason: e.to_string() };
    match order.poll_ready(&patience).await.map_err(validation)? {
        OrderStatus::Ready => {}
        OrderStatus::Invalid => return Err(validation_failure(&mut order).await),
        other => return Err(AcmeError::Order(other)),
    }
    let key_pem = order.finalize().await?;
    let chain_pem = order.poll_certificate(&patience).await?;
    manager.install(&chain_pem, &key_pem).map_err(|e| AcmeError::Local(e.to_string()))
}

/// Why the CA refused an order: the first failed challenge's problem.
async fn validation_failure(order: &mut instant_acme::Order) -> AcmeError {
    let mut authorizations = order.authorizations();
    while let Some(Ok(authorization)) = authorizations.next().await {
        let name = authorization.identifier().to_string();
        if let Some(problem) = authorization.challenges.iter().find_map(|c| c.error.as_ref()) {
            return AcmeError::Validation { name, reason: problem.to_string() };
        }
    }
    AcmeError::Order(OrderStatus::Invalid)
}

/// The account kept for this directory, or a new one (kept sealed for next time).
async fn account(app: &App, settings: &AcmeSettings, http: &AcmeHttp) -> Result<Account, AcmeError> {
    let local = |e: crate::error::AppError| AcmeError::Local(format!("the account store: {}", e.code()));
    if let Some(kept) = app.acme().load(&settings.directory).await.map_err(local)? {
        let credentials: AccountCredentials =
            serde_json::from_slice(&kept).map_err(|e| AcmeError::Local(format!("the kept ACME account: {e}")))?;
        match Account::builder_with_http(Box::new(http.clone())).from_credentials(credentials).await {
            Ok(account) => return Ok(account),
            Err(e) => tracing::warn!(error = %e, "ACME: the kept account is refused; making a new one"),
        }
    }
    let contact: Vec<&str> = settings.contact.as_deref().into_iter().collect();
    let new = NewAccount { contact: &contact, terms_of_service_agreed: true, only_return_existing: false };
    let (account, credentials) =
        Account::builder_with_http(Box::new(http.clone())).create(&new, settings.directory.clone(), None).await?;
    let serialized = zeroize::Zeroizing::new(
        serde_json::to_vec(&credentials).map_err(|e| AcmeError::Local(format!("the new ACME account: {e}")))?,
    );
    app.acme().save(&settings.directory, &serialized).await.map_err(local)?;
    tracing::info!(directory = %settings.directory, "ACME account created");
    Ok(account)
}

/// Time from `now` until `due` (zero when past).
fn until(due: OffsetDateTime, now: i64) -> Duration {
    Duration::from_secs(u64::try_from(due.unix_timestamp() - now).unwrap_or(0))
}

/// Up to a twentieth of the certificate's lifetime (at most an hour), so that many servers
/// given certificates at the same moment do not all come back at the same moment. A stand-in
/// is replaced at once.
fn jitter(info: &CertInfo) -> Duration {
    if info.kind == super::CertKind::AcmeStandIn {
        return Duration::ZERO;
    }
    let lifetime = (info.not_after - info.not_before).whole_seconds().max(0) as u64;
    let most = (lifetime / 20).min(3600);
    Duration::from_secs(if most == 0 { 0 } else { rand::random::<u64>() % most })
}

/// The wait before retry `n` (1-based): one minute doubling up to six hours, less up to a
/// tenth at random.
fn retry_delay(n: u32) -> Duration {
    let full = FIRST_RETRY.saturating_mul(1 << n.saturating_sub(1).min(20)).min(LONGEST_RETRY);
    full - full.mul_f64(rand::random::<f64>() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_six_hours() {
        let first = retry_delay(1);
        assert!(first <= FIRST_RETRY && first >= FIRST_RETRY.mul_f64(0.9), "{first:?}");
        let third = retry_delay(3);
        assert!(third <= FIRST_RETRY * 4 && third >= FIRST_RETRY.mul_f64(3.6), "{third:?}");
        assert!(retry_delay(40) <= LONGEST_RETRY && retry_delay(40) >= LONGEST_RETRY.mul_f64(0.9));
    }

    #[test]
    fn acme_settings_pick_the_challenge_by_listener() {
        let tls = TlsConfig {
            acme_domains: vec!["CRM.Example.com".into()],
            acme_email: "it@example.com".into(),
            ..TlsConfig::default()
        };
        let on = AcmeSettings::from_config(&tls, HttpListen::On(([127, 0, 0, 1], 80).into()));
        assert_eq!((on.challenge, on.domains[0].as_str()), (Challenge::Http01, "crm.example.com"));
        assert_eq!(on.contact.as_deref(), Some("mailto:it@example.com"));
        assert_eq!(AcmeSettings::from_config(&tls, HttpListen::Off).challenge, Challenge::TlsAlpn01);
    }
}
