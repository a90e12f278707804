//! First run: the one-time setup token, and creating the first workspace with its owner.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use subtle::ConstantTimeEq;

use super::ClientInfo;
use super::password::check_new_password;
use super::secrets::SessionToken;
use super::sessions::create_in;
use crate::app::audit::{AuditEvent, record_server};
use crate::app::store::rows::{SessionStage, UserRecord, WorkspaceRecord};
use crate::datadir::write_private_file;
use crate::domain::email::EmailAddress;
use crate::domain::ids::WorkspaceId;
use crate::domain::role::Role;
use crate::domain::text::required_line;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// The first run: the setup token and the first owner.
    Setup
}

/// Longest workspace and person name.
pub const NAME_MAX: usize = 120;

/// Returns the token in `setup-token`, writing a fresh one (mode 0600) if there is none, so a
/// restart before setup keeps the URL already shown valid.
pub(crate) fn ensure_token(path: &Path) -> Result<String, AppError> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if existing.len() == 43 && existing.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Ok(existing.to_owned());
        }
    }
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    write_private_file(path, token.as_bytes()).map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
    Ok(token)
}

/// What the setup form sends.
pub struct SetupRequest {
    pub token: String,
    pub workspace_name: String,
    pub name: String,
    pub email: String,
    pub password: SecretString,
}

/// Why setup can't proceed.
#[derive(Debug)]
pub enum SetupState {
    /// No user yet: the form may be shown for this token.
    Open,
    /// Setup is done; the page is gone for good.
    Done,
    /// The token is wrong.
    WrongToken,
    /// Too many wrong tokens from this address.
    Throttled,
}

impl Setup<'_> {
    /// While no user exists, the one-time setup token (created on first call); then `None`.
    pub async fn pending_token(&self) -> Result<Option<String>, AppError> {
        let has_users = self.store().read(|txn| txn.any_user_exists()).await?;
        if has_users {
            return Ok(None);
        }
        let path = self.data_dir().setup_token_path();
        tokio::task::spawn_blocking(move || ensure_token(&path))
            .await
            .map_err(|e| AppError::internal(crate::error::ErrorCode::Internal, e))?
            .map(Some)
    }

    /// Whether `/setup` with this token may be used.
    pub async fn state(&self, token: &str, client: &ClientInfo) -> Result<SetupState, AppError> {
        let Some(expected) = self.pending_token().await? else { return Ok(SetupState::Done) };
        if self.throttle().attempt_blocked(client, None).is_some() {
            return Ok(SetupState::Throttled);
        }
        Ok(if bool::from(expected.as_bytes().ct_eq(token.as_bytes())) {
            SetupState::Open
        } else {
            self.throttle().attempt_failed(client, None);
            SetupState::WrongToken
        })
    }

    /// Creates the first workspace and its owner, signs the owner in, and deletes the token.
    pub async fn complete(&self, request: SetupRequest, client: &ClientInfo) -> Result<SessionToken, AppError> {
        match self.state(&request.token, client).await? {
            SetupState::Open => {}
            SetupState::Done | SetupState::WrongToken => return Err(ErrorCode::NotFound.into()),
            SetupState::Throttled => return Err(ErrorCode::TooManySignInFailures.into()),
        }
        let workspace_name = required_line(&request.workspace_name, NAME_MAX, "workspace_name")?;
        let name = required_line(&request.name, NAME_MAX, "name")?;
        let email = EmailAddress::parse(&request.email)?;
        check_new_password(&request.password, &self.security_policy(), &[email.as_str(), &name, &workspace_name])?;
        let hash = self.hasher().hash(&request.password).await?;
        let now = self.now();
        let workspace = WorkspaceRecord { id: WorkspaceId::random(), name: workspace_name, created_at: now };
        let owner = UserRecord::new(workspace.id, email, name, Role::Owner, Some(hash), now);
        let client = client.clone();
        let stage = if self.security_policy().requires_mfa(Role::Owner) {
            SessionStage::MustEnroll
        } else {
            SessionStage::Full
        };
        let token = self
            .store()
            .write(move |txn| {
                if txn.any_user_exists()? {
                    return Err(ErrorCode::NotFound.into());
                }
                txn.insert_workspace(&workspace)?;
                txn.insert_user(&owner)?;
                let event =
                    AuditEvent::new("setup.completed", Some(owner.id)).target(workspace.id).from_client(&client);
                record_server(txn, &workspace.id, now, event)?;
                // The owner enrols a second factor right away when the policy requires it.
                create_in(txn, &owner, &client, now, stage, None)
            })
            .await?;
        let path = self.data_dir().setup_token_path();
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await;
        Ok(token)
    }
}
