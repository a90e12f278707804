//! Single-use links: password reset (1 hour) and invitation (72 hours). Stored hashed; using
//! one sets a password, signs out every session and never signs in by itself.

use secrecy::SecretString;

use super::ClientInfo;
use super::account::rotate_password;
use super::secrets::{hash_secret, new_secret};
use crate::app::App;
use crate::app::audit::{AuditEvent, record_server};
use crate::app::store::WorkspaceWrite;
use crate::app::store::rows::{LinkKind, LinkRecord};
use crate::domain::email::EmailAddress;
use crate::domain::ids::{UserId, WorkspaceId};
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// One-time links: invitations and password resets.
    Links
}

const RESET_SECONDS: i64 = 3600;
const INVITE_SECONDS: i64 = 72 * 3600;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Reset,
    Invite,
}

/// A freshly issued link: shown once (or emailed), never stored in the clear.
#[derive(Clone)]
pub struct IssuedLink {
    /// Path and query, e.g. `/password/reset?token=…`; prefix the public origin.
    pub path: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for IssuedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedLink").field("path", &"<redacted>").field("expires_at", &self.expires_at).finish()
    }
}

/// A new link for `user` of `workspace`: the hash to store it under, the record, and what
/// is shown.
fn new_link(
    purpose: LinkPurpose,
    workspace: WorkspaceId,
    user: UserId,
    now: i64,
) -> ([u8; 32], LinkRecord, IssuedLink) {
    let token = new_secret();
    let (kind, lifetime) = match purpose {
        LinkPurpose::Reset => (LinkKind::Reset, RESET_SECONDS),
        LinkPurpose::Invite => (LinkKind::Invite, INVITE_SECONDS),
    };
    let link = LinkRecord { kind, workspace_id: workspace, user_id: user, expires_at: now + lifetime };
    let issued = IssuedLink { path: format!("/password/reset?token={token}"), expires_at: link.expires_at };
    (hash_secret(&token), link, issued)
}

/// Issues a link for `user` of `txn`'s workspace inside `txn`.
pub(crate) fn issue_in(
    txn: &WorkspaceWrite<'_>,
    purpose: LinkPurpose,
    user: UserId,
    now: i64,
) -> Result<IssuedLink, AppError> {
    let (hash, link, issued) = new_link(purpose, *txn.workspace(), user, now);
    txn.insert_link(&hash, &link)?;
    Ok(issued)
}

impl Links<'_> {
    /// A reset link for the user with this email (offline admin and forgot-password). `None`
    /// when there is no such active user.
    pub async fn issue_reset_for_email(&self, email: &str) -> Result<Option<IssuedLink>, AppError> {
        let Ok(email) = EmailAddress::parse(email) else { return Ok(None) };
        let now = self.now();
        self.store()
            .write(move |txn| {
                let Some(user) = txn.user_by_email(email.as_str())? else { return Ok(None) };
                if user.disabled {
                    return Ok(None);
                }
                let (hash, link, issued) = new_link(LinkPurpose::Reset, user.workspace_id, user.id, now);
                txn.insert_link(&hash, &link)?;
                let event = AuditEvent::new("auth.reset_link_issued", None).target(user.id);
                record_server(txn, &user.workspace_id, now, event)?;
                Ok(Some(issued))
            })
            .await
    }

    /// Forgot-password: emails a reset link when email is configured and the address belongs
    /// to an active user. Runs entirely in the background, so the answer and its timing are
    /// the same for every address. Links use the configured public URL, never the Host header.
    pub fn request_reset(&self, email: &str, public_origin: Option<String>) {
        let Some(origin) = public_origin else { return };
        if !self.email().settings().is_configured() {
            return;
        }
        let (app, email) = (App::clone(self), email.to_owned());
        tokio::spawn(async move {
            let Ok(address) = EmailAddress::parse(&email) else { return };
            match app.links().issue_reset_for_email(&email).await {
                Ok(Some(link)) => {
                    let body = format!(
                        "Someone asked to reset the password of your Holdfast account.\n\n\
                         To choose a new password, open this link within one hour:\n{origin}{}\n\n\
                         If it wasn't you, ignore this message: your password stays as it is.\n",
                        link.path
                    );
                    app.email().send_in_background(address, "Reset your Holdfast password", body);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(code = %e.code(), "reset link not issued"),
            }
        });
    }

    /// What a link token is for, if it is still valid.
    pub async fn purpose(&self, token: &str) -> Result<Option<LinkPurpose>, AppError> {
        let hash = hash_secret(token);
        let now = self.now();
        let link = self.store().read(move |txn| txn.link(&hash)).await?;
        Ok(link.filter(|l| l.expires_at > now).map(|l| match l.kind {
            LinkKind::Reset => LinkPurpose::Reset,
            LinkKind::Invite => LinkPurpose::Invite,
        }))
    }

    /// Uses a link: sets the password, consumes the link and revokes every session.
    pub async fn complete(
        &self,
        token: &str,
        password: &SecretString,
        tokens: super::ApiTokens,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let hash = hash_secret(token);
        let now = self.now();
        let found = self
            .store()
            .read(move |txn| {
                let Some(link) = txn.link(&hash)? else { return Ok(None) };
                let user = txn.user(&link.workspace_id, &link.user_id)?;
                Ok(user.map(|u| (link, u)))
            })
            .await?;
        let Some((link, user)) = found.filter(|(link, user)| link.expires_at > now && !user.disabled) else {
            self.throttle().attempt_failed(client, None);
            return Err(ErrorCode::NotFound.into());
        };
        let new_hash = self.account().set_password_checks(&user, password).await?;
        let client = client.clone();
        self.store()
            .write(move |txn| {
                // Single use even under a race: the link must still be there in this transaction.
                if txn.link(&hash)?.is_none() {
                    return Err(ErrorCode::NotFound.into());
                }
                txn.delete_link(&hash)?;
                // Work on the record as it is now, not as read before hashing.
                let mut user =
                    txn.user(&user.workspace_id, &user.id)?.filter(|u| !u.disabled).ok_or(ErrorCode::NotFound)?;
                rotate_password(&mut user, new_hash);
                super::throttle::clear_lock(&mut user);
                txn.update_user(&user)?;
                txn.delete_sessions_of(&user.workspace_id, &user.id, None)?;
                tokens.apply_server(txn, &user, now, &client)?;
                let event = match link.kind {
                    LinkKind::Reset => "auth.password_reset",
                    LinkKind::Invite => "auth.invitation_accepted",
                };
                let entry = AuditEvent::new(event, Some(user.id)).from_client(&client);
                record_server(txn, &user.workspace_id, now, entry)?;
                Ok(user.email)
            })
            .await
            .map(|email| self.failures_by_account().clear(&super::throttle::account_key(email.as_str())))
    }
}
