//! The signed-in user's own account: changing the password.

use secrecy::SecretString;

use super::ClientInfo;
use super::password::check_new_password;
use super::sessions::AuthSession;
use crate::app::audit::{AuditEvent, record, record_server};
use crate::app::policy::PASSWORD_HISTORY_MAX;
use crate::app::store::rows::UserRecord;
use crate::app::store::{ServerWrite, WorkspaceWrite};
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// A member's own password.
    Account
}

/// What a password change does to the user's API tokens. A token keeps working without the
/// password, so someone who knew the old password may have made one: revoking is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiTokens {
    Revoke,
    Keep,
}

impl ApiTokens {
    /// From a form's checkbox (ticked: revoke).
    pub fn from_checkbox(ticked: bool) -> Self {
        if ticked { ApiTokens::Revoke } else { ApiTokens::Keep }
    }

    /// Deletes the user's tokens if asked to; audited as `api_token.revoked_all`.
    pub(super) fn apply(
        self,
        txn: &WorkspaceWrite<'_>,
        user: &UserRecord,
        now: i64,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        if self == ApiTokens::Keep {
            return Ok(());
        }
        match revoked_all(txn.delete_tokens_of(&user.id)?, user, client) {
            Some(event) => record(txn, now, event),
            None => Ok(()),
        }
    }

    /// [`apply`](Self::apply) in a server-wide transaction (a reset or invitation link).
    pub(super) fn apply_server(
        self,
        txn: &ServerWrite<'_>,
        user: &UserRecord,
        now: i64,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        if self == ApiTokens::Keep {
            return Ok(());
        }
        match revoked_all(txn.delete_tokens_of(&user.workspace_id, &user.id)?, user, client) {
            Some(event) => record_server(txn, &user.workspace_id, now, event),
            None => Ok(()),
        }
    }
}

/// The audit event for `revoked` tokens of `user` revoked at once (none when there were none).
fn revoked_all(revoked: usize, user: &UserRecord, client: &ClientInfo) -> Option<AuditEvent> {
    (revoked > 0).then(|| {
        AuditEvent::new("api_token.revoked_all", Some(user.id))
            .fields(&[&format!("count={revoked}")])
            .from_client(client)
    })
}

impl Account<'_> {
    /// Changes the password after checking the current one; signs out every other session and,
    /// if asked, revokes the user's API tokens.
    pub async fn change_password(
        &self,
        session: &AuthSession,
        current: &SecretString,
        new: &SecretString,
        tokens: ApiTokens,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let store = self.store().workspace(&session.scope);
        let me = *session.scope.user();
        let user = store.read(move |txn| txn.user(&me)).await?.ok_or(ErrorCode::SessionExpired)?;
        if !self.hasher().verify(current, user.password_hash.clone()).await? {
            return Err(AppError::field(ErrorCode::WrongCredentials, "current_password"));
        }
        let hash = self.set_password_checks(&user, new).await?;
        let keep = session.csrf_binding();
        let now = self.now();
        let client = client.clone();
        store
            .write(move |txn| {
                // The record as it is now; if the password changed meanwhile, the one checked
                // above is no longer current.
                let mut fresh = txn
                    .user(&user.id)?
                    .filter(|u| !u.disabled && u.password_hash == user.password_hash)
                    .ok_or(ErrorCode::SessionExpired)?;
                rotate_password(&mut fresh, hash);
                let user = fresh;
                txn.update_user(&user)?;
                let keep = match keep {
                    super::csrf::CsrfBinding::Session(hash) => Some(hash),
                    super::csrf::CsrfBinding::PreSession(_) => None,
                };
                txn.delete_sessions_except(&user.id, keep.as_ref())?;
                tokens.apply(txn, &user, now, &client)?;
                record(txn, now, AuditEvent::new("auth.password_changed", Some(user.id)).from_client(&client))
            })
            .await
    }

    /// Policy and reuse checks for a new password of `user`; returns its hash. The reuse check
    /// verifies the new password against the kept hashes of the last `password_history`
    /// passwords (the current one included).
    pub(super) async fn set_password_checks(&self, user: &UserRecord, new: &SecretString) -> Result<String, AppError> {
        let policy = self.security_policy();
        check_new_password(new, &policy, &[user.email.as_str(), &user.name])?;
        let remembered = policy.password_history as usize;
        let previous: Vec<String> =
            user.password_hash.iter().chain(user.password_history.iter()).take(remembered).cloned().collect();
        if self.hasher().matches_any(new, previous).await? {
            let hint = match remembered {
                1 => "That is your current password: choose a new one.".to_owned(),
                n => format!("You have used that password recently: choose one that isn't among your last {n}."),
            };
            return Err(AppError::field(ErrorCode::WeakPassword, "password").with_hint(hint));
        }
        self.hasher().hash(new).await
    }
}

/// Sets the new hash, keeping the previous ones for the reuse check (as many as the policy may
/// ever ask for, so raising the setting takes effect with the passwords already kept).
pub(super) fn rotate_password(user: &mut UserRecord, hash: String) {
    if let Some(old) = user.password_hash.replace(hash) {
        user.password_history.insert(0, old);
        user.password_history.truncate(PASSWORD_HISTORY_MAX as usize - 1);
    }
}
