//! Sign-in: the same answer, and comparable time, for an unknown email, a wrong password and a
//! disabled account. Success rotates the session and upgrades an outdated password hash.

use secrecy::SecretString;

use super::ClientInfo;
use super::secrets::SessionToken;
use super::sessions::create_in;
use crate::app::App;
use crate::app::audit::{AuditEvent, record};
use crate::app::auth::password::needs_rehash;
use crate::app::error::AppError;
use crate::app::store::identity;
use crate::app::store::records::SessionStage;
use crate::domain::email::EmailAddress;

/// How a sign-in attempt ended.
#[derive(Debug)]
pub enum LoginOutcome {
    SignedIn(SessionToken),
    /// Password accepted; continue at `/login/mfa` with this (pending) session.
    SecondFactorDue(SessionToken),
    /// Password accepted; the role requires MFA: continue at `/account/mfa/setup`.
    MustEnroll(SessionToken),
    /// Wrong email or password (E1001) — deliberately not saying which.
    Failed,
}

impl App {
    /// Checks the credentials; on success deletes `previous` (session rotation) and starts a
    /// new session.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
        client: &ClientInfo,
        previous: Option<SessionToken>,
    ) -> Result<LoginOutcome, AppError> {
        let user = match EmailAddress::parse(email) {
            Ok(email) => self.store().read(move |txn| identity::user_by_email_r(txn, email.as_str())).await?,
            Err(_) => None,
        };
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let verified = self.hasher().verify(password, hash.clone()).await?;
        let now = self.now();
        let Some(mut user) = user else { return Ok(LoginOutcome::Failed) };
        if !verified || user.disabled {
            let event = AuditEvent::new("auth.sign_in_failed", Some(user.id)).from_client(client).failed();
            let workspace = user.workspace_id;
            self.store().write(move |txn| record(txn, &workspace, now, event)).await?;
            return Ok(LoginOutcome::Failed);
        }
        let upgraded = match hash {
            Some(hash) if needs_rehash(&hash) => Some(self.hasher().hash(password).await?),
            _ => None,
        };
        let client = client.clone();
        let stage = match (&user.mfa, self.security_policy().requires_mfa(user.role)) {
            (Some(_), _) => SessionStage::PendingMfa,
            (None, true) => SessionStage::MustEnroll,
            (None, false) => SessionStage::Full,
        };
        let token = self
            .store()
            .write(move |txn| {
                if let Some(previous) = previous {
                    identity::delete_session(txn, &previous.hash())?;
                }
                if let Some(upgraded) = upgraded {
                    user.password_hash = Some(upgraded);
                    identity::update_user(txn, &user)?;
                }
                let token = create_in(txn, &user, &client, now, stage, None)?;
                let event = match stage {
                    SessionStage::Full => "auth.sign_in",
                    SessionStage::PendingMfa | SessionStage::MustEnroll => "auth.password_accepted",
                };
                record(txn, &user.workspace_id, now, AuditEvent::new(event, Some(user.id)).from_client(&client))?;
                Ok(token)
            })
            .await?;
        Ok(match stage {
            SessionStage::Full => LoginOutcome::SignedIn(token),
            SessionStage::PendingMfa => LoginOutcome::SecondFactorDue(token),
            SessionStage::MustEnroll => LoginOutcome::MustEnroll(token),
        })
    }
}
