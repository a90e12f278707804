//! The signed-in user's own account: changing the password.

use secrecy::SecretString;

use super::ClientInfo;
use super::password::{HISTORY, check_new_password};
use super::sessions::AuthSession;
use crate::app::App;
use crate::app::audit::{AuditEvent, record};
use crate::app::error::{AppError, ErrorCode};
use crate::app::store::identity;
use crate::app::store::records::UserRecord;
use crate::app::store::storage;
use crate::app::store::tables::USERS;

impl App {
    /// Changes the password after checking the current one; signs out every other session.
    pub async fn change_password(
        &self,
        session: &AuthSession,
        current: &SecretString,
        new: &SecretString,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let scope = session.scope.clone();
        let lookup = scope.clone();
        let user = self
            .store()
            .read(move |txn| {
                identity::user(&txn.open_table(USERS).map_err(storage)?, lookup.workspace(), lookup.user())
            })
            .await?
            .ok_or(ErrorCode::SessionExpired)?;
        if !self.hasher().verify(current, user.password_hash.clone()).await? {
            return Err(AppError::field(ErrorCode::WrongCredentials, "current_password"));
        }
        let hash = self.set_password_checks(&user, new).await?;
        let keep = session.csrf_binding();
        let now = self.now();
        let client = client.clone();
        self.store()
            .write(move |txn| {
                // The record as it is now; if the password changed meanwhile, the one checked
                // above is no longer current.
                let mut fresh = identity::user(&txn.open_table(USERS).map_err(storage)?, &user.workspace_id, &user.id)?
                    .filter(|u| !u.disabled && u.password_hash == user.password_hash)
                    .ok_or(ErrorCode::SessionExpired)?;
                rotate_password(&mut fresh, hash);
                let user = fresh;
                identity::update_user(txn, &user)?;
                let keep = match keep {
                    super::csrf::CsrfBinding::Session(hash) => Some(hash),
                    super::csrf::CsrfBinding::PreSession(_) => None,
                };
                identity::delete_sessions_of(txn, &user.workspace_id, &user.id, keep.as_ref())?;
                record(
                    txn,
                    &user.workspace_id,
                    now,
                    AuditEvent::new("auth.password_changed", Some(user.id)).from_client(&client),
                )
            })
            .await
    }

    /// Policy and reuse checks for a new password of `user`; returns its hash.
    pub(super) async fn set_password_checks(&self, user: &UserRecord, new: &SecretString) -> Result<String, AppError> {
        check_new_password(new, &self.security_policy(), &[user.email.as_str(), &user.name])?;
        let previous: Vec<String> =
            user.password_hash.iter().chain(user.password_history.iter()).take(HISTORY).cloned().collect();
        if self.hasher().matches_any(new, previous).await? {
            return Err(AppError::field(ErrorCode::WeakPassword, "password"));
        }
        self.hasher().hash(new).await
    }
}

/// Sets the new hash, keeping the previous ones for the reuse check.
pub(super) fn rotate_password(user: &mut UserRecord, hash: String) {
    if let Some(old) = user.password_hash.replace(hash) {
        user.password_history.insert(0, old);
        user.password_history.truncate(HISTORY - 1);
    }
}
