//! Personal API tokens: `hf_` + 256 random bits, shown once, stored hashed, acting with their
//! user's role, revocable, with last use recorded.

use super::ClientInfo;
use super::permissions::Action;
use super::scope::{SecondFactor, TenantScope};
use super::secrets::{hash_secret, new_secret};
use crate::app::audit::{AuditEvent, record};
use crate::app::store::rows::ApiTokenRecord;
use crate::domain::role::Role;
use crate::domain::text::required_line;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// API tokens.
    Tokens
}

/// Every token starts with this, so secret scanners can find leaked ones.
pub const TOKEN_PREFIX: &str = "hf_";
/// Last use is written at most this often (seconds).
const TOUCH_INTERVAL: i64 = 60;

#[derive(Debug, Clone)]
pub struct ApiTokenView {
    pub id: String,
    pub label: String,
    pub hint: String,
    pub created_at: i64,
    pub last_used: Option<i64>,
}

/// A new token: `token` is shown once and never again. (No `Debug`: it holds the token.)
pub struct NewApiToken {
    pub token: String,
    pub view: ApiTokenView,
}

fn view(hash: &[u8; 32], record: ApiTokenRecord) -> ApiTokenView {
    ApiTokenView {
        id: hex::encode(&hash[..16]),
        label: record.label,
        hint: record.hint,
        created_at: record.created_at,
        last_used: record.last_used,
    }
}

impl Tokens<'_> {
    pub async fn create(&self, scope: &TenantScope, label: &str, client: &ClientInfo) -> Result<NewApiToken, AppError> {
        scope.require(Action::UseApi)?;
        scope.require_recent_second_factor(self.now())?;
        let label = required_line(label, 80, "label")?;
        let token = format!("{TOKEN_PREFIX}{}", new_secret());
        let hash = hash_secret(&token);
        let token_record = ApiTokenRecord {
            workspace_id: *scope.workspace(),
            user_id: *scope.user(),
            label,
            hint: token[..7].to_owned(),
            created_at: self.now(),
            last_used: None,
        };
        let (stored, now, scope, client) = (token_record.clone(), self.now(), scope.clone(), client.clone());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                txn.insert_token(&hash, &stored)?;
                let event = AuditEvent::new("api_token.created", Some(*scope.user()))
                    .target(hex::encode(&hash[..16]))
                    .from_client(&client);
                record(txn, now, event)
            })
            .await?;
        Ok(NewApiToken { token, view: view(&hash, token_record) })
    }

    pub async fn list(&self, scope: &TenantScope) -> Result<Vec<ApiTokenView>, AppError> {
        let user = *scope.user();
        let tokens = self.store().workspace(scope).read(move |txn| txn.tokens_of(&user)).await?;
        let mut views: Vec<ApiTokenView> = tokens.into_iter().map(|(hash, record)| view(&hash, record)).collect();
        views.sort_by_key(|v| std::cmp::Reverse(v.created_at));
        Ok(views)
    }

    pub async fn revoke(&self, scope: &TenantScope, id: &str, client: &ClientInfo) -> Result<(), AppError> {
        let (scope, id, now, client) = (scope.clone(), id.to_owned(), self.now(), client.clone());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                let tokens = txn.tokens_of(scope.user())?;
                let (hash, _) =
                    tokens.into_iter().find(|(h, _)| hex::encode(&h[..16]) == id).ok_or(ErrorCode::NotFound)?;
                txn.delete_token_of(scope.user(), &hash)?;
                let event = AuditEvent::new("api_token.revoked", Some(*scope.user())).target(&id).from_client(&client);
                record(txn, now, event)
            })
            .await
    }

    /// The scope a bearer token acts with, if it is valid and its user active.
    pub async fn resolve(&self, token: &str) -> Result<Option<TenantScope>, AppError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 100 {
            return Ok(None);
        }
        let hash = hash_secret(token);
        let now = self.now();
        // Three point reads: cheaper in place than a hop to the blocking pool and back.
        let found = self.store().read_now(|txn| {
            let Some(record) = txn.token(&hash)? else { return Ok(None) };
            let user = txn.user(&record.workspace_id, &record.user_id)?;
            let home = txn.home_workspace()?;
            Ok(user.map(|u| (record, u, home)))
        })?;
        // Clients have no API: a token of one (there should be none) acts as no one.
        let usable = |user: &crate::app::store::rows::UserRecord| !user.disabled && user.role != Role::Client;
        let Some((mut record, user, home)) = found.filter(|(_, user, _)| usable(user)) else { return Ok(None) };
        if record.last_used.is_none_or(|t| now - t >= TOUCH_INTERVAL) {
            record.last_used = Some(now);
            // A stamp that can't be written (a full disk) never turns a valid token away.
            if let Err(e) = self.store().write(move |txn| txn.update_token(&hash, &record)).await {
                tracing::warn!(code = %e.code(), "an API token's last-used time was not saved");
            }
        }
        // A token never counts as a fresh second factor; and where the role requires MFA,
        // "not enrolled" must not let sensitive actions through either.
        let mfa_applies = user.mfa.is_some() || self.security_policy().requires_mfa(user.role);
        let second_factor = if mfa_applies { SecondFactor::NotChecked } else { SecondFactor::NotEnrolled };
        Ok(Some(TenantScope::new(user.workspace_id, user.id, user.role, second_factor, home)))
    }

    /// `holdfast admin create-token`: a token for the user with this email (offline, trusted).
    pub async fn create_for_email(&self, email: &str, label: &str) -> Result<String, AppError> {
        let email = crate::domain::email::EmailAddress::parse(email)?;
        let user = self
            .store()
            .read(move |txn| txn.user_by_email(email.as_str()))
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ErrorCode::NotFound)?;
        // Offline and trusted: whoever runs this can read the data directory.
        let scope = TenantScope::new(user.workspace_id, user.id, user.role, SecondFactor::CheckedAt(self.now()), None);
        Ok(self.create(&scope, label, &ClientInfo::new("cli", "holdfast admin")).await?.token)
    }
}
