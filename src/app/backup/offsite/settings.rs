//! Changing the off-site target: the settings page's form and `holdfast admin settings set
//! backup.…` go through the same validation; the secret access key is sealed at once and never
//! shown again (an empty field keeps the stored one).

use secrecy::{ExposeSecret, SecretString};

use super::{OffsiteSettings, OffsiteTarget, SECRET_PURPOSE};
use crate::app::audit::{AuditEvent, record_server};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::backup::Backups;
use crate::app::backup::schedule::{BACKUP_SETTINGS, BackupSettings, PASSPHRASE_PURPOSE, number};
use crate::error::{AppError, ErrorCode};

/// What the off-site form sends (every field as typed).
pub struct OffsiteInput {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub access_key_id: String,
    /// Empty: keep the stored secret.
    pub secret_access_key: SecretString,
    pub path_style: bool,
    pub base_interval_m: String,
    pub ship_interval_s: String,
    pub keep_hourly: String,
}

impl OffsiteInput {
    /// The form as the stored settings fill it (the secret left empty: kept).
    pub fn from_settings(settings: &BackupSettings) -> OffsiteInput {
        let offsite = &settings.offsite;
        OffsiteInput {
            endpoint: offsite.endpoint.clone(),
            region: offsite.region.clone(),
            bucket: offsite.bucket.clone(),
            prefix: offsite.prefix.clone(),
            access_key_id: offsite.access_key_id.clone(),
            secret_access_key: SecretString::from(String::new()),
            path_style: offsite.path_style,
            base_interval_m: settings.base_interval_m.to_string(),
            ship_interval_s: settings.ship_interval_s.to_string(),
            keep_hourly: settings.keep_hourly.to_string(),
        }
    }
}

/// The keys `holdfast admin settings` knows under `backup.` (secrets listed, never printed).
pub const KEYS: [&str; 15] = [
    "backup.passphrase",
    "backup.hour",
    "backup.keep_daily",
    "backup.keep_weekly",
    "backup.keep_monthly",
    "backup.keep_hourly",
    "backup.base_interval_m",
    "backup.ship_interval_s",
    "backup.offsite.endpoint",
    "backup.offsite.region",
    "backup.offsite.bucket",
    "backup.offsite.prefix",
    "backup.offsite.access_key_id",
    "backup.offsite.secret_access_key",
    "backup.offsite.path_style",
];

impl Backups<'_> {
    /// `current` with the off-site fields of `input`, validated; the secret sealed.
    /// `whole`: every part of the target must be given (the page), not one at a time (the CLI).
    fn with_offsite(
        &self,
        current: &BackupSettings,
        input: &OffsiteInput,
        whole: bool,
    ) -> Result<BackupSettings, AppError> {
        let text = |value: &str| value.trim().to_owned();
        let secret_sealed = match input.secret_access_key.expose_secret().trim() {
            "" => current.offsite.secret_sealed.clone(),
            secret => hex::encode(self.sealer().seal(SECRET_PURPOSE, secret.as_bytes())?),
        };
        let offsite = OffsiteSettings {
            endpoint: text(&input.endpoint),
            region: text(&input.region),
            bucket: text(&input.bucket),
            prefix: text(&input.prefix).trim_matches('/').to_owned(),
            access_key_id: text(&input.access_key_id),
            secret_sealed,
            path_style: input.path_style,
        };
        // Every field emptied: off-site copies are off (and the secret forgotten).
        let cleared = [&offsite.endpoint, &offsite.bucket, &offsite.prefix, &offsite.access_key_id]
            .iter()
            .all(|field| field.is_empty());
        let offsite = if cleared { OffsiteSettings::default() } else { offsite };
        if !cleared {
            // The page saves a whole target; the CLI sets one key at a time.
            let required = [
                (offsite.bucket.is_empty(), "offsite_bucket"),
                (offsite.access_key_id.is_empty(), "offsite_access_key_id"),
                (offsite.secret_sealed.is_empty(), "offsite_secret_access_key"),
            ];
            if let Some((_, field)) = required.iter().find(|(missing, _)| *missing && whole) {
                return Err(AppError::field(ErrorCode::Required, field));
            }
            let probe = OffsiteTarget {
                endpoint: (!offsite.endpoint.is_empty()).then(|| offsite.endpoint.clone()),
                region: offsite.region.clone(),
                bucket: if offsite.bucket.is_empty() { "unset".to_owned() } else { offsite.bucket.clone() },
                prefix: offsite.prefix.clone(),
                access_key_id: offsite.access_key_id.clone(),
                secret_access_key: SecretString::from(String::new()),
                path_style: offsite.path_style,
            };
            probe.check().map_err(|e| {
                let field = if e.to_string().contains("bucket") { "offsite_bucket" } else { "offsite_endpoint" };
                AppError::field(ErrorCode::InvalidFormat, field).with_hint(e.to_string())
            })?;
        }
        Ok(BackupSettings {
            offsite,
            base_interval_m: number(&input.base_interval_m, "base_interval_m", 5..=1440)?,
            ship_interval_s: number(&input.ship_interval_s, "ship_interval_s", 1..=3600)?,
            keep_hourly: number(&input.keep_hourly, "keep_hourly", 0..=168)?,
            ..current.clone()
        })
    }

    /// Stores the off-site target (server operators with a fresh second factor; audited).
    pub async fn save_offsite(
        &self,
        scope: &TenantScope,
        input: OffsiteInput,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        scope.require(Action::ManageSettings)?;
        scope.require_server_operator()?;
        scope.require_recent_second_factor(self.now())?;
        let settings = self.with_offsite(&self.settings().await?, &input, true)?;
        self.store_settings(settings, Some(scope), client, &["offsite"]).await
    }

    /// Tries the target the form describes without saving it.
    pub async fn test_offsite_input(&self, scope: &TenantScope, input: OffsiteInput) -> Result<String, AppError> {
        scope.require(Action::ManageSettings)?;
        scope.require_server_operator()?;
        let settings = self.with_offsite(&self.settings().await?, &input, true)?;
        let target = self.target_of(&settings.offsite)?;
        self.test_offsite(&target)
            .await
            .map(|()| target.url())
            .map_err(|e| AppError::field(ErrorCode::InvalidFormat, "offsite_bucket").with_hint(e.to_string()))
    }

    /// `backup.*` as `holdfast admin settings list` shows them (secrets as "(set)").
    pub async fn setting_values(&self) -> Result<Vec<(String, String)>, AppError> {
        let s = self.settings().await?;
        let secret = |sealed: &str| if sealed.is_empty() { String::new() } else { "(set)".to_owned() };
        let values = [
            secret(&s.passphrase_sealed),
            s.hour.to_string(),
            s.keep_daily.to_string(),
            s.keep_weekly.to_string(),
            s.keep_monthly.to_string(),
            s.keep_hourly.to_string(),
            s.base_interval_m.to_string(),
            s.ship_interval_s.to_string(),
            s.offsite.endpoint.clone(),
            s.offsite.region.clone(),
            s.offsite.bucket.clone(),
            s.offsite.prefix.clone(),
            s.offsite.access_key_id.clone(),
            secret(&s.offsite.secret_sealed),
            s.offsite.path_style.to_string(),
        ];
        Ok(KEYS.iter().map(|k| k.to_string()).zip(values).collect())
    }

    /// Sets one `backup.…` key offline (`holdfast admin settings set`), validated like the page.
    pub async fn set_value(&self, key: &str, value: &str) -> Result<(), AppError> {
        let client = ClientInfo::new("cli", "holdfast admin settings");
        let current = self.settings().await?;
        let mut input = OffsiteInput::from_settings(&current);
        let mut settings = current.clone();
        let number_of = |field, range| number(value, field, range);
        match key {
            "backup.passphrase" => {
                let passphrase = SecretString::from(value.to_owned());
                crate::app::auth::password::check_new_password(
                    &passphrase,
                    &self.security_policy(),
                    &["holdfast", "backup"],
                )
                .map_err(|e| AppError::field(e.code(), "passphrase"))?;
                settings.passphrase_sealed = hex::encode(self.sealer().seal(PASSPHRASE_PURPOSE, value.as_bytes())?);
            }
            "backup.hour" => settings.hour = number_of("hour", 0..=23)? as u8,
            "backup.keep_daily" => settings.keep_daily = number_of("keep_daily", 1..=365)?,
            "backup.keep_weekly" => settings.keep_weekly = number_of("keep_weekly", 0..=520)?,
            "backup.keep_monthly" => settings.keep_monthly = number_of("keep_monthly", 0..=240)?,
            _ => {
                let text = value.to_owned();
                match key {
                    "backup.keep_hourly" => input.keep_hourly = text,
                    "backup.base_interval_m" => input.base_interval_m = text,
                    "backup.ship_interval_s" => input.ship_interval_s = text,
                    "backup.offsite.endpoint" => input.endpoint = text,
                    "backup.offsite.region" => input.region = text,
                    "backup.offsite.bucket" => input.bucket = text,
                    "backup.offsite.prefix" => input.prefix = text,
                    "backup.offsite.access_key_id" => input.access_key_id = text,
                    "backup.offsite.secret_access_key" => input.secret_access_key = SecretString::from(text),
                    "backup.offsite.path_style" => {
                        input.path_style =
                            value.parse().map_err(|_| AppError::field(ErrorCode::InvalidFormat, "value"))?
                    }
                    _ => return Err(AppError::field(ErrorCode::NotFound, "key")),
                }
                settings = self.with_offsite(&current, &input, false)?;
            }
        }
        self.store_settings(settings, None, &client, &[key]).await
    }

    /// Saves `settings` with an audit entry naming the changed `fields` (never their values).
    /// A new bucket, prefix, credentials or passphrase ends the generation being shipped.
    async fn store_settings(
        &self,
        settings: BackupSettings,
        scope: Option<&TenantScope>,
        client: &ClientInfo,
        fields: &[&str],
    ) -> Result<(), AppError> {
        let before = self.settings().await?;
        let moved = |s: &BackupSettings| {
            let o = &s.offsite;
            (o.endpoint.clone(), o.region.clone(), o.bucket.clone(), o.prefix.clone(), o.access_key_id.clone())
        };
        let new_target = moved(&before) != moved(&settings);
        let restart = new_target
            || before.offsite.secret_sealed != settings.offsite.secret_sealed
            || before.passphrase_sealed != settings.passphrase_sealed;
        let (workspace, actor) = match scope {
            Some(scope) => (*scope.workspace(), Some(*scope.user())),
            None => (crate::app::audit::SERVER_CHAIN, None),
        };
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let (client, now) = (client.clone(), self.now());
        self.store()
            .write(move |txn| {
                txn.save_setting(BACKUP_SETTINGS, &settings)?;
                let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
                let event = AuditEvent::new("settings.backups_changed", actor).fields(&fields).from_client(&client);
                record_server(txn, &workspace, now, event)
            })
            .await?;
        if restart {
            self.restart_generation(new_target).await?;
        }
        Ok(())
    }
}
