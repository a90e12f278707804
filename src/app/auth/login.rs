//! Sign-in: the same answer, and comparable time, for an unknown email, a wrong password and a
//! disabled account. Success rotates the session and upgrades an outdated password hash.

use super::sessions::Sessions;
use secrecy::SecretString;

use super::ClientInfo;
use super::device::DeviceCookie;
use super::secrets::SessionToken;
use super::sessions::create_in;
use crate::app::audit::{AuditEvent, SERVER_CHAIN, record_server};
use crate::app::auth::password::needs_rehash;
use crate::app::store::rows::SessionStage;
use crate::domain::email::EmailAddress;
use crate::error::AppError;

/// A finished sign-in: the session, and the device cookie that vouches for this browser.
#[derive(Debug)]
pub struct Completed {
    pub session: SessionToken,
    pub device: DeviceCookie,
}

/// How a sign-in attempt ended.
#[derive(Debug)]
pub enum LoginOutcome {
    SignedIn(Completed),
    /// Password accepted; continue at `/login/mfa` with this (pending) session.
    SecondFactorDue(SessionToken),
    /// Password accepted; the role requires MFA: continue at `/account/mfa/setup`.
    MustEnroll(SessionToken),
    /// Wrong email or password (E1001) — deliberately not saying which.
    Failed,
    /// Too many failed attempts from this address or for this account (E1007): try again
    /// after this many seconds.
    Throttled(i64),
}

/// An address not seen for this long counts as new.
const ADDRESS_MEMORY_SECONDS: i64 = 90 * 24 * 3600;
/// Addresses remembered per user.
const KNOWN_ADDRESSES: usize = 20;

/// Notes `ip` as seen now; true when the user has signed in before but not from `ip` lately.
fn note_address(user: &mut crate::app::store::rows::UserRecord, ip: &str, now: i64) -> bool {
    let known = user.known_addresses.iter().any(|(seen, at)| seen == ip && now - at <= ADDRESS_MEMORY_SECONDS);
    let first_ever = user.known_addresses.is_empty();
    user.known_addresses.retain(|(seen, _)| seen != ip);
    user.known_addresses.push((ip.to_owned(), now));
    if user.known_addresses.len() > KNOWN_ADDRESSES {
        user.known_addresses.remove(0);
    }
    !known && !first_ever
}

/// What a hard-locked account is told to wait (it stays locked until unlocked).
const LOCKED_RETRY_SECONDS: i64 = 15 * 60;

impl Sessions<'_> {
    /// Counts a failed password for an existing account; the 100th in a row locks it. The
    /// count is taken on the record as it is now (not as read before hashing), so concurrent
    /// attempts and admin changes are never overwritten.
    async fn record_failed_sign_in(
        &self,
        user: crate::app::store::rows::UserRecord,
        client: &ClientInfo,
        now: i64,
    ) -> Result<LoginOutcome, AppError> {
        let (workspace, id, email) = (user.workspace_id, user.id, user.email);
        let event = AuditEvent::new("auth.sign_in_failed", Some(id)).from_client(client).failed();
        let locked_event = AuditEvent::new("auth.locked", Some(id)).from_client(client).failed();
        let newly_locked = self
            .store()
            .write(move |txn| {
                let Some(mut fresh) = txn.user(&workspace, &id)? else { return Ok(false) };
                fresh.failed_logins += 1;
                let newly_locked = fresh.failed_logins >= super::throttle::HARD_LOCK_AFTER && !fresh.locked;
                fresh.locked |= newly_locked;
                txn.update_user(&fresh)?;
                record_server(txn, &workspace, now, event)?;
                if newly_locked {
                    record_server(txn, &workspace, now, locked_event)?;
                }
                Ok(newly_locked)
            })
            .await?;
        if newly_locked {
            self.webhooks().for_event(&workspace, "auth.locked", Some(id.to_string()), &client.ip);
            let body = "Your Holdfast account was locked after many failed sign-in attempts. Ask your administrator to unlock it, or reset your password.\n".to_owned();
            self.email().send_in_background(email, "Your Holdfast account is locked", body);
        }
        Ok(LoginOutcome::Failed)
    }

    /// A failed sign-in for an address that belongs to no account, written like the failure
    /// of a real account (one audited write, in the server's chain) so the two take as long.
    /// The address typed is not recorded: it may be a password typed into the wrong field.
    async fn record_unknown_sign_in(&self, client: &ClientInfo, now: i64) -> Result<LoginOutcome, AppError> {
        let event = AuditEvent::new("auth.sign_in_failed", None).from_client(client).failed();
        self.store().write(move |txn| record_server(txn, &SERVER_CHAIN, now, event)).await?;
        Ok(LoginOutcome::Failed)
    }

    /// Checks the credentials; on success deletes `previous` (session rotation) and starts a
    /// new session. `device` is the browser's device cookie: when it vouches for the account,
    /// the account's own delays and lock (which others' failures build up) don't apply.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
        client: &ClientInfo,
        previous: Option<SessionToken>,
        device: Option<&str>,
    ) -> Result<LoginOutcome, AppError> {
        if let Some(until) = self.throttle().attempt_blocked(client, None) {
            return Ok(LoginOutcome::Throttled((until - self.now()).max(1)));
        }
        let user = match EmailAddress::parse(email) {
            Ok(email) => self.store().read(move |txn| txn.user_by_email(email.as_str())).await?,
            Err(_) => None,
        };
        let epoch = user.as_ref().and_then(|u| u.password_hash.clone()).unwrap_or_default();
        let trusted = match (&user, device) {
            (Some(user), Some(cookie)) => {
                self.device_key().vouches_for(cookie, &user.id, &epoch)
                    && self.throttle().device_blocked(cookie).is_none()
            }
            _ => false,
        };
        if !trusted && let Some(until) = self.throttle().account_blocked(email) {
            return Ok(LoginOutcome::Throttled((until - self.now()).max(1)));
        }
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let verified = self.hasher().verify(password, hash.clone()).await?;
        let now = self.now();
        let Some(user) = user else {
            self.throttle().attempt_failed(client, Some(email));
            return self.record_unknown_sign_in(client, now).await;
        };
        if user.locked && !trusted {
            return Ok(LoginOutcome::Throttled(LOCKED_RETRY_SECONDS));
        }
        if !verified || user.disabled {
            self.throttle().attempt_failed_in(client, Some(email), Some(user.workspace_id));
            if let (true, Some(cookie)) = (trusted, device) {
                self.throttle().device_failed(cookie);
            }
            return self.record_failed_sign_in(user, client, now).await;
        }
        self.throttle().attempt_succeeded(email);
        if let Some(cookie) = device {
            self.throttle().device_succeeded(cookie);
        }
        let upgraded = match &hash {
            Some(hash) if needs_rehash(hash) => Some(self.hasher().hash(password).await?),
            _ => None,
        };
        let client = client.clone();
        let requires_mfa = self.security_policy().requires_mfa(user.role);
        let (workspace, id, ip) = (user.workspace_id, user.id, client.ip.clone());
        let outcome = self
            .store()
            .write(move |txn| {
                // The record as it is now: disabled, locked or a changed password since the
                // hash was checked means no session.
                let fresh = txn.user(&workspace, &id)?;
                let usable = |u: &crate::app::store::rows::UserRecord| {
                    !u.disabled && (trusted || !u.locked) && u.password_hash == hash
                };
                let Some(mut user) = fresh.filter(usable) else {
                    return Ok(None);
                };
                if let Some(previous) = previous {
                    txn.delete_session(&previous.hash())?;
                }
                user.failed_logins = 0;
                if let Some(upgraded) = upgraded {
                    user.password_hash = Some(upgraded);
                }
                let stage = match (&user.mfa, requires_mfa) {
                    (Some(_), _) => SessionStage::PendingMfa,
                    (None, true) => SessionStage::MustEnroll,
                    (None, false) => SessionStage::Full,
                };
                let new_address = note_address(&mut user, &client.ip, now);
                txn.update_user(&user)?;
                if new_address {
                    let alert =
                        AuditEvent::new("security.new_address", Some(user.id)).target(&client.ip).from_client(&client);
                    record_server(txn, &user.workspace_id, now, alert)?;
                }
                let token = create_in(txn, &user, &client, now, stage, None)?;
                let event = match stage {
                    SessionStage::Full => "auth.sign_in",
                    SessionStage::PendingMfa | SessionStage::MustEnroll => "auth.password_accepted",
                };
                let entry = AuditEvent::new(event, Some(user.id)).from_client(&client);
                record_server(txn, &user.workspace_id, now, entry)?;
                let epoch = user.password_hash.clone().unwrap_or_default();
                Ok(Some((token, stage, new_address.then_some(user.id), epoch)))
            })
            .await?;
        let Some((token, stage, new_address, epoch)) = outcome else { return Ok(LoginOutcome::Failed) };
        if let Some(user) = new_address {
            self.webhooks().for_event(&workspace, "security.new_address", Some(user.to_string()), &ip);
        }
        Ok(match stage {
            SessionStage::Full => {
                LoginOutcome::SignedIn(Completed { session: token, device: self.device_key().issue(&id, &epoch) })
            }
            SessionStage::PendingMfa => LoginOutcome::SecondFactorDue(token),
            SessionStage::MustEnroll => LoginOutcome::MustEnroll(token),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use secrecy::SecretString;

    use super::LoginOutcome;
    use crate::app::App;
    use crate::app::auth::ClientInfo;
    use crate::app::clock::SystemClock;
    use crate::datadir::DataDir;
    use crate::domain::role::Role;

    /// Timing follows work: a failed sign-in costs one hash and one store commit whether or not
    /// the account exists (an unknown address used to skip the commit: ~1 ms that told them apart).
    #[tokio::test]
    async fn unknown_and_known_accounts_fail_with_the_same_work() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(DataDir::open(dir.path()).unwrap(), Arc::new(SystemClock)).unwrap();
        app.users().create_workspace("Acme").await.unwrap();
        let password = SecretString::from("lantern orchard granite velvet".to_owned());
        app.users().create("Acme", "ann@acme.example", "Ann", Role::Staff, None, &password).await.unwrap();
        let wrong = SecretString::from("not the password at all".to_owned());
        let mut commits = Vec::new();
        for (n, email) in ["ann@acme.example", "nobody@acme.example"].into_iter().enumerate() {
            let client = ClientInfo::new(format!("192.0.2.{n}"), "test");
            let before = app.store().commits();
            let outcome = app.sessions().sign_in(email, &wrong, &client, None, None).await.unwrap();
            assert!(matches!(outcome, LoginOutcome::Failed), "{email}: {outcome:?}");
            commits.push(app.store().commits() - before);
        }
        assert_eq!(commits, [1, 1], "known, unknown");
    }
}
