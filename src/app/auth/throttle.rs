//! Sign-in throttling: failed sign-in, second-factor, reset-link and setup attempts counted per
//! address and per account (separately), progressive delays per account, and the hard lock
//! after 100 consecutive failures that only an admin unlock or a password reset lifts.

use super::ClientInfo;
use super::permissions::Action;
use super::scope::TenantScope;
use crate::app::audit::{AuditEvent, record, record_server};
use crate::app::store::rows::UserRecord;
use crate::domain::email::EmailAddress;
use crate::domain::ids::UserId;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// Failed-attempt counting, lock-outs and unlocking.
    Throttle
}

/// Consecutive failed passwords after which the account stays locked until unlocked.
pub const HARD_LOCK_AFTER: u32 = 100;

/// How accounts are keyed: the address as typed, trimmed and lower-cased, so unknown accounts
/// are throttled exactly like real ones.
pub(crate) fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

/// How device cookies are keyed among the accounts' failure counts.
fn device_count_key(cookie: &str) -> String {
    format!("device:{}", cookie.trim())
}

impl Throttle<'_> {
    /// If this address (or account) may not try now, until when (Unix seconds).
    pub(crate) fn attempt_blocked(&self, client: &ClientInfo, account: Option<&str>) -> Option<i64> {
        let policy = self.rate_limit_policy();
        if !policy.enabled {
            return None;
        }
        let now = self.now();
        let per_hour = policy.sign_in_failures_per_hour;
        let by_address = self.failures_by_address().blocked_until(&client.ip, now, per_hour, false);
        let by_account = account.and_then(|a| self.account_blocked(a));
        by_address.into_iter().chain(by_account).max()
    }

    /// If attempts on this account (from devices it hasn't vouched for) must wait, until when.
    pub(crate) fn account_blocked(&self, account: &str) -> Option<i64> {
        self.progressively_blocked(&account_key(account))
    }

    /// The progressive delay of one key of the per-account counts (an account or a device).
    fn progressively_blocked(&self, key: &str) -> Option<i64> {
        let policy = self.rate_limit_policy();
        if !policy.enabled {
            return None;
        }
        self.failures_by_account().blocked_until(key, self.now(), policy.sign_in_failures_per_hour, true)
    }

    /// Counts a failed attempt against the address (and account); the attempt that reaches the
    /// address's hourly limit raises an alert in `workspace`'s audit log (or the server's).
    pub(crate) fn attempt_failed_in(
        &self,
        client: &ClientInfo,
        account: Option<&str>,
        workspace: Option<crate::domain::ids::WorkspaceId>,
    ) {
        let policy = self.rate_limit_policy();
        let (now, per_hour) = (self.now(), policy.sign_in_failures_per_hour);
        self.metrics().count("holdfast_sign_in_failures_total", &[]);
        let was_blocked = self.failures_by_address().blocked_until(&client.ip, now, per_hour, false).is_some();
        self.failures_by_address().record_failure(&client.ip, now, per_hour);
        if !was_blocked && self.failures_by_address().blocked_until(&client.ip, now, per_hour, false).is_some() {
            self.alerts().failure_burst(workspace, client);
        }
        if let Some(account) = account {
            self.failures_by_account().record_failure(&account_key(account), now, per_hour);
        }
    }

    /// Counts a failed attempt that belongs to no known workspace.
    pub(crate) fn attempt_failed(&self, client: &ClientInfo, account: Option<&str>) {
        self.attempt_failed_in(client, account, None);
    }

    /// If a device cookie has failed too often to vouch for its account now, until when.
    pub(crate) fn device_blocked(&self, cookie: &str) -> Option<i64> {
        self.progressively_blocked(&device_count_key(cookie))
    }

    /// Counts a failed password from a vouched-for device against that device.
    pub(crate) fn device_failed(&self, cookie: &str) {
        let per_hour = self.rate_limit_policy().sign_in_failures_per_hour;
        self.failures_by_account().record_failure(&device_count_key(cookie), self.now(), per_hour);
    }

    pub(crate) fn device_succeeded(&self, cookie: &str) {
        self.failures_by_account().record_success(&device_count_key(cookie));
    }

    pub(crate) fn attempt_succeeded(&self, account: &str) {
        self.failures_by_account().record_success(&account_key(account));
    }

    /// Lifts a lock-out of a user of the admin's workspace.
    pub async fn unlock(&self, scope: &TenantScope, user: UserId, client: &ClientInfo) -> Result<(), AppError> {
        scope.require(Action::ManageUsers)?;
        let (actor, client, now) = (*scope.user(), client.clone(), self.now());
        let email = self
            .store()
            .workspace(scope)
            .write(move |txn| {
                let mut target = txn.user(&user)?.ok_or(ErrorCode::NotFound)?;
                clear_lock(&mut target);
                txn.update_user(&target)?;
                record(txn, now, AuditEvent::new("auth.unlocked", Some(actor)).target(target.id).from_client(&client))?;
                Ok(target.email)
            })
            .await?;
        self.failures_by_account().clear(&account_key(email.as_str()));
        Ok(())
    }

    /// `holdfast admin unlock --email`: offline and trusted. Only the stored lock is lifted
    /// here; in-memory delays belong to the running server and end with it.
    pub async fn unlock_by_email(&self, email: &str) -> Result<(), AppError> {
        let email = EmailAddress::parse(email)?;
        let now = self.now();
        self.store()
            .write(move |txn| {
                let mut user = txn.user_by_email(email.as_str())?.ok_or(ErrorCode::NotFound)?;
                clear_lock(&mut user);
                txn.update_user(&user)?;
                record_server(txn, &user.workspace_id, now, AuditEvent::new("auth.unlocked", None).target(user.id))
            })
            .await
    }
}

/// Clears the hard lock and the run of failures.
pub(crate) fn clear_lock(user: &mut UserRecord) {
    user.locked = false;
    user.failed_logins = 0;
}
