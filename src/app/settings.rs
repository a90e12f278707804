//! Runtime policies as flat `section.key = value` settings, for `holdfast admin settings`:
//! the same validation and audit as the settings page.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::ClientInfo;
use super::policy::SecurityPolicy;
use super::rate_limit::RateLimitPolicy;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// Server settings by name (the CLI's `settings` command).
    Settings
}

impl Settings<'_> {
    /// Validates, stores and applies new rate limits (no restart), audited. `scope` is `None`
    /// for the offline CLI (recorded in the server's own audit chain).
    pub async fn save_rate_limits(
        &self,
        scope: Option<&crate::app::auth::TenantScope>,
        policy: RateLimitPolicy,
        client: &crate::app::auth::ClientInfo,
    ) -> Result<(), AppError> {
        self.may_change_settings(scope)?;
        policy.validate()?;
        self.store_policy(
            scope,
            crate::app::rate_limit::RATE_LIMIT_POLICY,
            policy.clone(),
            "settings.rate_limits_changed",
            client,
        )
        .await?;
        self.apply_rate_limits(policy);
        Ok(())
    }

    /// Settings are changed by admins who confirmed their second factor recently, or offline.
    fn may_change_settings(&self, scope: Option<&crate::app::auth::TenantScope>) -> Result<(), AppError> {
        match scope {
            Some(scope) => {
                scope.require(crate::app::auth::permissions::Action::ManageSettings)?;
                scope.require_server_operator()?;
                scope.require_recent_second_factor(self.now())
            }
            None => Ok(()),
        }
    }

    /// Stores a validated policy under `name` with its audit entry.
    async fn store_policy<T: crate::app::store::Versioned + Send + 'static>(
        &self,
        scope: Option<&crate::app::auth::TenantScope>,
        name: &'static str,
        policy: T,
        event: &'static str,
        client: &crate::app::auth::ClientInfo,
    ) -> Result<(), AppError> {
        let (client, now) = (client.clone(), self.now());
        let (workspace, actor) = match scope {
            Some(scope) => (*scope.workspace(), Some(*scope.user())),
            None => (crate::app::audit::SERVER_CHAIN, None),
        };
        self.store()
            .write(move |txn| {
                txn.save_setting(name, &policy)?;
                crate::app::audit::record_server(
                    txn,
                    &workspace,
                    now,
                    crate::app::audit::AuditEvent::new(event, actor).fields(&[name]).from_client(&client),
                )
            })
            .await
    }

    /// Validates, stores and applies a new security policy (no restart needed), audited.
    /// `scope` is `None` for the offline CLI.
    pub async fn save_security_policy(
        &self,
        scope: Option<&crate::app::auth::TenantScope>,
        policy: SecurityPolicy,
        client: &crate::app::auth::ClientInfo,
    ) -> Result<(), AppError> {
        self.may_change_settings(scope)?;
        policy.validate()?;
        self.store_policy(
            scope,
            crate::app::policy::SECURITY_POLICY,
            policy.clone(),
            "settings.security_changed",
            client,
        )
        .await?;
        self.apply_security_policy(policy);
        Ok(())
    }
}

fn flatten<T: Serialize>(section: &str, policy: &T, out: &mut Vec<(String, String)>) {
    if let Ok(Value::Object(fields)) = serde_json::to_value(policy) {
        for (key, value) in fields {
            let shown = match value {
                Value::Array(items) => items.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(","),
                Value::String(text) => text,
                other => other.to_string(),
            };
            out.push((format!("{section}.{key}"), shown));
        }
    }
}

/// `policy` with `key` set from `text`, parsed by the type the key already has.
fn with_value<T: Serialize + DeserializeOwned>(policy: &T, key: &str, text: &str) -> Result<T, AppError> {
    let invalid = || AppError::field(ErrorCode::InvalidFormat, "value");
    let Ok(Value::Object(mut fields)) = serde_json::to_value(policy) else { return Err(invalid()) };
    let current = fields.get(key).ok_or_else(|| AppError::field(ErrorCode::NotFound, "key"))?;
    let parsed = match current {
        Value::Bool(_) => Value::Bool(text.parse().map_err(|_| invalid())?),
        Value::Number(_) => Value::from(text.parse::<u64>().map_err(|_| invalid())?),
        Value::Array(_) => Value::Array(
            text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::from(s.to_owned())).collect(),
        ),
        _ => Value::from(text.to_owned()),
    };
    fields.insert(key.to_owned(), parsed);
    serde_json::from_value(Value::Object(fields)).map_err(|_| invalid())
}

impl Settings<'_> {
    /// Every runtime setting as `section.key`, `value` (secrets only as "(set)").
    pub async fn list(&self) -> Result<Vec<(String, String)>, AppError> {
        let mut out = Vec::new();
        flatten("rate_limit", &self.rate_limit_policy(), &mut out);
        flatten("security", &self.security_policy(), &mut out);
        out.extend(self.backups().setting_values().await?);
        Ok(out)
    }

    /// Sets one setting offline (validated and audited like the settings page).
    pub async fn set(&self, key: &str, value: &str) -> Result<(), AppError> {
        let client = ClientInfo::new("cli", "holdfast admin settings");
        match key.split_once('.') {
            Some(("rate_limit", field)) => {
                let policy: RateLimitPolicy = with_value(&self.rate_limit_policy(), field, value)?;
                self.save_rate_limits(None, policy, &client).await
            }
            Some(("security", field)) => {
                let policy: SecurityPolicy = with_value(&self.security_policy(), field, value)?;
                self.save_security_policy(None, policy, &client).await
            }
            Some(("backup", _)) => self.backups().set_value(key, value).await,
            _ => Err(AppError::field(ErrorCode::NotFound, "key")),
        }
    }
}
