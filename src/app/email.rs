//! Outgoing email over SMTP (lettre, TLS by default): settings kept in the store with the
//! password sealed under the master key; messages sent off the request path. Nothing in
//! Holdfast requires email: every flow also works with links an admin hands over.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::App;
use super::audit::{AuditEvent, record_server};
use super::auth::permissions::Action;
use super::auth::{ClientInfo, TenantScope};
use super::store::Versioned;
use crate::domain::email::EmailAddress;
use crate::domain::text::required_line;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// Outgoing email: its settings and sending.
    Email
}

/// The settings key.
pub(crate) const EMAIL_SETTINGS: &str = "email";
/// The purpose the SMTP password is sealed for.
const PASSWORD_PURPOSE: &str = "smtp-password";
/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// STARTTLS on the submission port (587), required.
    #[default]
    StartTls,
    /// TLS from the first byte (465).
    Tls,
    /// Plain SMTP: only to a relay on this machine.
    None,
}

impl SmtpSecurity {
    pub fn parse(text: &str) -> Result<Self, AppError> {
        match text {
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            "none" => Ok(Self::None),
            _ => Err(AppError::field(ErrorCode::InvalidFormat, "security")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartTls => "starttls",
            Self::Tls => "tls",
            Self::None => "none",
        }
    }
}

/// Stored SMTP settings. An empty host means email is off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    /// Hex of the sealed password; never the password itself.
    pub password_sealed: String,
    pub from: String,
}

impl Versioned for EmailSettings {
    const VERSION: u16 = 1;
}

impl EmailSettings {
    pub fn is_configured(&self) -> bool {
        !self.host.is_empty() && !self.from.is_empty()
    }

    pub fn has_password(&self) -> bool {
        !self.password_sealed.is_empty()
    }
}

/// What the settings form sends. An empty password keeps the stored one.
pub struct EmailSettingsInput {
    pub host: String,
    pub port: String,
    pub security: String,
    pub username: String,
    pub password: SecretString,
    pub from: String,
}

fn is_local(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]")
}

impl Email<'_> {
    pub fn settings(&self) -> EmailSettings {
        self.inner().email.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Validates and stores SMTP settings (admins), audited without any value.
    pub async fn save_settings(
        &self,
        scope: &TenantScope,
        input: EmailSettingsInput,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        scope.require(Action::ManageSettings)?;
        scope.require_server_operator()?;
        scope.require_recent_second_factor(self.now())?;
        let current = self.settings();
        let host = input.host.trim().to_ascii_lowercase();
        let settings = if host.is_empty() {
            EmailSettings::default()
        } else {
            let host = required_line(&host, 253, "host")?;
            if !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')) {
                return Err(AppError::field(ErrorCode::InvalidFormat, "host"));
            }
            let port: u16 = input.port.trim().parse().map_err(|_| AppError::field(ErrorCode::InvalidFormat, "port"))?;
            let security = SmtpSecurity::parse(input.security.trim())?;
            if security == SmtpSecurity::None && !is_local(&host) {
                return Err(AppError::field(ErrorCode::InvalidFormat, "security"));
            }
            let username = input.username.trim().to_owned();
            if username.chars().count() > 254 || username.chars().any(char::is_control) {
                return Err(AppError::field(ErrorCode::InvalidFormat, "username"));
            }
            let from = EmailAddress::parse(&input.from).map_err(|e| AppError::field(e.code(), "from"))?.to_string();
            let password = input.password.expose_secret();
            // The stored password only ever goes to the server it was given for.
            let same_server = host == current.host && port == current.port && username == current.username;
            let password_sealed = if password.is_empty() {
                if same_server { current.password_sealed.clone() } else { String::new() }
            } else {
                hex::encode(self.sealer().seal(PASSWORD_PURPOSE, password.as_bytes())?)
            };
            EmailSettings { host, port, security, username, password_sealed, from }
        };
        let (stored, scope, client, now) = (settings.clone(), scope.clone(), client.clone(), self.now());
        self.store()
            .write(move |txn| {
                txn.save_setting(EMAIL_SETTINGS, &stored)?;
                let event = AuditEvent::new("settings.email_changed", Some(*scope.user()))
                    .fields(&["host", "port", "security", "username", "password", "from"])
                    .from_client(&client);
                record_server(txn, scope.workspace(), now, event)
            })
            .await?;
        *self.inner().email.write().unwrap_or_else(|p| p.into_inner()) = settings;
        Ok(())
    }

    fn mailer(&self, settings: &EmailSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, AppError> {
        let failed = |e: lettre::transport::smtp::Error| AppError::internal(ErrorCode::EmailFailed, e);
        let builder = match settings.security {
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host).map_err(failed)?,
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host).map_err(failed)?
            }
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host),
        };
        let mut builder = builder.port(settings.port).timeout(Some(SMTP_TIMEOUT));
        if !settings.username.is_empty() {
            let password = if settings.has_password() {
                let sealed = hex::decode(&settings.password_sealed)
                    .map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
                String::from_utf8(self.sealer().open(PASSWORD_PURPOSE, &sealed)?.to_vec())
                    .map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?
            } else {
                String::new()
            };
            builder = builder.credentials(Credentials::new(settings.username.clone(), password));
        }
        Ok(builder.build())
    }

    /// Sends one plain-text message now, from "Holdfast".
    pub async fn send(&self, to: &EmailAddress, subject: &str, body: String) -> Result<(), AppError> {
        self.send_as("Holdfast", to, subject, body).await
    }

    /// Sends one plain-text message now under a sender's name (a firm's, on its portal's
    /// emails), from the configured address.
    pub async fn send_as(&self, sender: &str, to: &EmailAddress, subject: &str, body: String) -> Result<(), AppError> {
        let settings = self.settings();
        if !settings.is_configured() {
            return Err(AppError::internal(ErrorCode::EmailFailed, "email is not configured"));
        }
        let invalid = |e: lettre::address::AddressError| AppError::internal(ErrorCode::EmailFailed, e);
        let message = Message::builder()
            .from(Mailbox::new(Some(sender.to_owned()), settings.from.parse().map_err(invalid)?))
            .to(Mailbox::new(None, to.as_str().parse().map_err(invalid)?))
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| AppError::internal(ErrorCode::EmailFailed, e))?;
        self.mailer(&settings)?.send(message).await.map_err(|e| AppError::internal(ErrorCode::EmailFailed, e))?;
        Ok(())
    }

    /// Sends without making the caller wait (or learn the outcome); failures are logged
    /// without the message content.
    pub fn send_in_background(&self, to: EmailAddress, subject: impl Into<String>, body: String) {
        self.send_in_background_as("Holdfast".to_owned(), to, subject, body);
    }

    /// [`Email::send_in_background`] under a sender's name.
    pub fn send_in_background_as(&self, sender: String, to: EmailAddress, subject: impl Into<String>, body: String) {
        let subject = subject.into();
        if !self.settings().is_configured() {
            return;
        }
        let app = App::clone(self);
        tokio::spawn(async move {
            if let Err(e) = app.email().send_as(&sender, &to, &subject, body).await {
                tracing::warn!(code = %e.code(), detail = e.detail().unwrap_or(""), subject, "email not sent");
            }
        });
    }

    /// Sends a test message to the signed-in admin.
    pub async fn send_test(&self, scope: &TenantScope, to: &str) -> Result<(), AppError> {
        scope.require(Action::ManageSettings)?;
        scope.require_server_operator()?;
        let to = EmailAddress::parse(to)?;
        let body = "This is a test message from Holdfast. Email is working.\n".to_owned();
        self.send(&to, "Holdfast test message", body).await
    }
}
