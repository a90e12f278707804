//! Server-side backups: the passphrase (sealed), daily schedule, "back up now", retention
//! (daily/weekly/monthly), an optional second target, weekly restore drills, and the status the
//! settings page and health check show.

use super::Backups;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{Summary, restore_into, verify_file};
use crate::app::audit::{AuditEvent, SERVER_CHAIN, record_server};
use crate::app::auth::password::check_new_password;
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::store::Versioned;
use crate::error::{AppError, ErrorCode};

pub(crate) const BACKUP_SETTINGS: &str = "backup";
pub(crate) const BACKUP_STATUS: &str = "backup_status";
pub(crate) const PASSPHRASE_PURPOSE: &str = "backup-passphrase";
/// A backup older than this is a warning (and an alert).
pub const STALE_AFTER_SECONDS: i64 = 26 * 3600;
/// Restore drills run this often.
const DRILL_EVERY_SECONDS: i64 = 7 * 24 * 3600;
/// The scheduled backup runs at most once in this long.
const MIN_GAP_SECONDS: i64 = 20 * 3600;
const DAY: i64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupSettings {
    /// Hex of the sealed passphrase; empty: backups are off.
    pub passphrase_sealed: String,
    /// Hour of the day (UTC) of the daily backup.
    pub hour: u8,
    pub keep_daily: u32,
    pub keep_weekly: u32,
    pub keep_monthly: u32,
    /// A second directory (e.g. a mounted NAS) that gets a copy of each backup.
    pub second_dir: String,
    /// The off-site bucket, if any.
    pub offsite: super::offsite::OffsiteSettings,
    /// Minutes between off-site backups (each starts a generation of change segments).
    pub base_interval_m: u32,
    /// Seconds between off-site change segments.
    pub ship_interval_s: u32,
    /// Off-site backups kept from the last hours (besides the daily, weekly and monthly ones).
    pub keep_hourly: u32,
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            passphrase_sealed: String::new(),
            hour: 2,
            keep_daily: 7,
            keep_weekly: 4,
            keep_monthly: 12,
            second_dir: String::new(),
            offsite: Default::default(),
            base_interval_m: 60,
            ship_interval_s: 30,
            keep_hourly: 24,
        }
    }
}

impl Versioned for BackupSettings {
    const VERSION: u16 = 1;
}

impl BackupSettings {
    pub fn is_configured(&self) -> bool {
        !self.passphrase_sealed.is_empty()
    }

    /// What retention keeps, as `(period, count)`: the hourly count only off-site, where a
    /// base is made every `base_interval_m` minutes.
    pub fn periods(&self, offsite: bool) -> Vec<(i64, u32)> {
        let mut periods = vec![(DAY, self.keep_daily), (7 * DAY, self.keep_weekly), (30 * DAY, self.keep_monthly)];
        if offsite {
            periods.insert(0, (3600, self.keep_hourly));
        }
        periods
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupStatus {
    pub last_success_at: Option<i64>,
    pub last_file: Option<String>,
    pub last_rows: u64,
    pub last_error: Option<String>,
    pub last_drill_at: Option<i64>,
    pub last_drill_ok: Option<bool>,
    pub last_stale_alert_at: Option<i64>,
    /// The last off-site backup that was uploaded and read back intact.
    pub offsite_last_success_at: Option<i64>,
    pub offsite_last_object: Option<String>,
    pub offsite_last_bytes: u64,
    pub offsite_last_millis: u64,
    /// Why the latest off-site attempt failed (cleared by a success).
    pub offsite_last_error: Option<String>,
    pub offsite_last_attempt_at: Option<i64>,
}

impl Versioned for BackupStatus {
    const VERSION: u16 = 1;
}

/// What the settings form sends.
pub struct BackupSettingsInput {
    pub passphrase: SecretString,
    pub hour: String,
    pub keep_daily: String,
    pub keep_weekly: String,
    pub keep_monthly: String,
    pub second_dir: String,
}

/// A backup file in the backups directory.
#[derive(Debug, Clone)]
pub struct BackupFile {
    pub name: String,
    pub bytes: u64,
    pub created_at: i64,
}

/// `holdfast-<unix seconds>.hfb`, the names this module writes.
fn parse_name(name: &str) -> Option<i64> {
    name.strip_prefix("holdfast-")?.strip_suffix(".hfb")?.parse().ok()
}

/// Which of `stamps` (creation times) to keep: for each `(period in seconds, count)`, the
/// newest of each of the last `count` periods that have one (hours, days, weeks, 30-day months).
pub fn retained(stamps: &[i64], periods: &[(i64, u32)]) -> Vec<i64> {
    let mut sorted = stamps.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let mut keep = Vec::new();
    for &(period, count) in periods {
        let mut buckets = Vec::new();
        for &stamp in &sorted {
            let bucket = stamp.div_euclid(period);
            if !buckets.contains(&bucket) && buckets.len() < count as usize {
                buckets.push(bucket);
                if !keep.contains(&stamp) {
                    keep.push(stamp);
                }
            }
        }
    }
    keep
}

pub(crate) fn number(value: &str, field: &'static str, range: std::ops::RangeInclusive<u32>) -> Result<u32, AppError> {
    value
        .trim()
        .parse()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| AppError::field(ErrorCode::InvalidFormat, field))
}

impl Backups<'_> {
    fn backups_dir(&self) -> PathBuf {
        self.data_dir().backups_dir()
    }

    pub async fn settings(&self) -> Result<BackupSettings, AppError> {
        Ok(self.store().read(|txn| txn.setting(BACKUP_SETTINGS)).await?.unwrap_or_default())
    }

    pub async fn status(&self) -> Result<BackupStatus, AppError> {
        Ok(self.store().read(|txn| txn.setting(BACKUP_STATUS)).await?.unwrap_or_default())
    }

    pub(super) async fn save_status(&self, status: BackupStatus) -> Result<(), AppError> {
        self.store().write(move |txn| txn.save_setting(BACKUP_STATUS, &status)).await
    }

    /// Stores the backup settings; a new passphrase must be strong (E2007).
    pub async fn save_settings(
        &self,
        scope: &TenantScope,
        input: BackupSettingsInput,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        scope.require(Action::ManageSettings)?;
        scope.require_server_operator()?;
        scope.require_recent_second_factor(self.now())?;
        let current = self.settings().await?;
        let second_dir = input.second_dir.trim().to_owned();
        if !second_dir.is_empty() && (!Path::new(&second_dir).is_absolute() || !Path::new(&second_dir).is_dir()) {
            return Err(AppError::field(ErrorCode::InvalidFormat, "second_dir"));
        }
        let passphrase_sealed = match input.passphrase.expose_secret() {
            "" => current.passphrase_sealed.clone(),
            _ => {
                check_new_password(&input.passphrase, &self.security_policy(), &["holdfast", "backup"])
                    .map_err(|e| AppError::field(e.code(), "passphrase"))?;
                hex::encode(self.sealer().seal(PASSPHRASE_PURPOSE, input.passphrase.expose_secret().as_bytes())?)
            }
        };
        let new_passphrase = passphrase_sealed != current.passphrase_sealed;
        let settings = BackupSettings {
            passphrase_sealed,
            hour: number(&input.hour, "hour", 0..=23)? as u8,
            keep_daily: number(&input.keep_daily, "keep_daily", 1..=365)?,
            keep_weekly: number(&input.keep_weekly, "keep_weekly", 0..=520)?,
            keep_monthly: number(&input.keep_monthly, "keep_monthly", 0..=240)?,
            second_dir,
            ..current
        };
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        self.store()
            .write(move |txn| {
                txn.save_setting(BACKUP_SETTINGS, &settings)?;
                let event = AuditEvent::new("settings.backups_changed", Some(*scope.user()))
                    .fields(&["passphrase", "hour", "retention", "second_dir"])
                    .from_client(&client);
                record_server(txn, scope.workspace(), now, event)
            })
            .await?;
        // Off-site segments are sealed with the passphrase: a new one starts a new generation.
        if new_passphrase {
            self.restart_generation(false).await?;
        }
        Ok(())
    }

    pub(super) fn passphrase(&self, settings: &BackupSettings) -> Result<SecretString, AppError> {
        if !settings.is_configured() {
            return Err(AppError::field(ErrorCode::Required, "passphrase"));
        }
        let sealed = hex::decode(&settings.passphrase_sealed)
            .map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
        let plain = self.sealer().open(PASSPHRASE_PURPOSE, &sealed)?;
        Ok(SecretString::from(String::from_utf8_lossy(&plain).into_owned()))
    }

    /// Backs up now (schedule or "Back up now"): writes, verifies, copies to the second target,
    /// applies retention, records the status and an audit entry.
    pub async fn back_up_now(&self, actor: Option<&TenantScope>) -> Result<Summary, AppError> {
        if let Some(scope) = actor {
            scope.require(Action::ManageSettings)?;
            scope.require_server_operator()?;
        }
        let settings = self.settings().await?;
        let passphrase = self.passphrase(&settings)?;
        let now = self.now();
        let path = self.backups_dir().join(format!("holdfast-{now}.hfb"));
        let result = self.create(&path, &passphrase).await;
        let mut status = self.status().await?;
        let (workspace, actor_id) = match actor {
            Some(scope) => (*scope.workspace(), Some(*scope.user())),
            None => (SERVER_CHAIN, None),
        };
        match &result {
            Ok(summary) => {
                if !settings.second_dir.is_empty() {
                    let copy = Path::new(&settings.second_dir).join(path.file_name().unwrap_or_default());
                    if let Err(e) = copy_synced(&path, &copy) {
                        status.last_error = Some(format!("copy to the second directory failed: {e}"));
                    }
                }
                status.last_success_at = Some(now);
                status.last_file = path.file_name().map(|n| n.to_string_lossy().into_owned());
                status.last_rows = summary.rows();
                status.last_error = status.last_error.take().filter(|e| e.starts_with("copy"));
                self.prune_backups(&settings).await?;
            }
            Err(e) => status.last_error = Some(format!("{} ({})", e.code().message(), e.code())),
        }
        self.save_status(status).await?;
        let event =
            AuditEvent::new("backup.created", actor_id).target(path.file_name().unwrap_or_default().to_string_lossy());
        let event = if result.is_ok() { event } else { event.failed() };
        self.store().write(move |txn| record_server(txn, &workspace, now, event)).await?;
        result
    }

    /// The backups in the backups directory, newest first.
    pub async fn list(&self) -> Result<Vec<BackupFile>, AppError> {
        let dir = self.backups_dir();
        tokio::task::spawn_blocking(move || {
            let mut files: Vec<BackupFile> = std::fs::read_dir(&dir)
                .map(|entries| {
                    entries
                        .flatten()
                        .filter_map(|e| {
                            let name = e.file_name().to_string_lossy().into_owned();
                            let created_at = parse_name(&name)?;
                            let bytes = e.metadata().ok()?.len();
                            Some(BackupFile { name, bytes, created_at })
                        })
                        .collect()
                })
                .unwrap_or_default();
            files.sort_by_key(|f| std::cmp::Reverse(f.created_at));
            files
        })
        .await
        .map_err(|e| AppError::internal(ErrorCode::Internal, e))
    }

    /// The path of a backup by name, only if it is one of ours (no path tricks).
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        parse_name(name)?;
        let path = self.backups_dir().join(name);
        path.is_file().then_some(path)
    }

    async fn prune_backups(&self, settings: &BackupSettings) -> Result<(), AppError> {
        let files = self.list().await?;
        let stamps: Vec<i64> = files.iter().map(|f| f.created_at).collect();
        let keep = retained(&stamps, &settings.periods(false));
        for file in files.iter().filter(|f| !keep.contains(&f.created_at)) {
            let _ = std::fs::remove_file(self.backups_dir().join(&file.name));
        }
        Ok(())
    }

    /// Restores the newest backup into a temporary directory and compares every table's row
    /// count with the backup's trailer.
    pub async fn restore_drill(&self) -> Result<bool, AppError> {
        let settings = self.settings().await?;
        let passphrase = self.passphrase(&settings)?;
        let Some(latest) = self.list().await?.into_iter().next() else { return Ok(false) };
        let path = self.backups_dir().join(&latest.name);
        let now = self.now();
        let ok = tokio::task::spawn_blocking(move || {
            let scratch = tempfile_dir()?;
            let outcome = restore_into(&scratch, &path, &passphrase, false, now)
                .ok()
                .and_then(|(summary, _)| {
                    super::archive::count_rows(&scratch.join("holdfast.redb")).ok().map(|counts| (summary, counts))
                })
                .is_some_and(|(summary, counts)| {
                    summary.trailer.tables.iter().all(|(name, t)| counts.get(name).copied().unwrap_or(0) == t.rows)
                });
            let _ = std::fs::remove_dir_all(&scratch);
            Ok::<_, std::io::Error>(outcome)
        })
        .await
        .map_err(|e| AppError::internal(ErrorCode::Internal, e))?
        .map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
        let mut status = self.status().await?;
        status.last_drill_at = Some(now);
        status.last_drill_ok = Some(ok);
        self.save_status(status).await?;
        let event = AuditEvent::new("backup.restore_drill", None).target(&latest.name);
        let event = if ok { event } else { event.failed() };
        self.store().write(move |txn| record_server(txn, &SERVER_CHAIN, now, event)).await?;
        Ok(ok)
    }

    /// Called every minute by the server: the daily backup at its hour, the weekly drill, and
    /// an alert when the last good backup is too old.
    pub async fn run_schedule(&self) -> Result<(), AppError> {
        let settings = self.settings().await?;
        if !settings.is_configured() {
            return Ok(());
        }
        let now = self.now();
        let status = self.status().await?;
        let hour = (now.rem_euclid(DAY) / 3600) as u8;
        if hour == settings.hour && status.last_success_at.is_none_or(|t| now - t >= MIN_GAP_SECONDS) {
            let _ = self.back_up_now(None).await;
        }
        let status = self.status().await?;
        if status.last_success_at.is_some() && status.last_drill_at.is_none_or(|t| now - t >= DRILL_EVERY_SECONDS) {
            self.restore_drill().await?;
        }
        let mut status = self.status().await?;
        let stale = status.last_success_at.is_none_or(|t| now - t > STALE_AFTER_SECONDS);
        if stale && status.last_stale_alert_at.is_none_or(|t| now - t >= DAY) {
            self.alerts().raise(SERVER_CHAIN, AuditEvent::new("security.backup_stale", None).failed());
            status.last_stale_alert_at = Some(now);
            self.save_status(status).await?;
        }
        Ok(())
    }
}

/// A fresh private temporary directory for a drill.
fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("holdfast-drill-{}", hex::encode(rand::random::<[u8; 8]>())));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

/// Copies to a temporary name, syncs, renames: the copy is complete or absent.
fn copy_synced(from: &Path, to: &Path) -> std::io::Result<()> {
    let partial = to.with_extension("partial");
    std::fs::copy(from, &partial)?;
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, to)
}

impl Backups<'_> {
    /// Verifies a backup file with the stored passphrase.
    pub async fn verify(&self, path: &Path) -> Result<Summary, AppError> {
        let settings = self.settings().await?;
        let passphrase = self.passphrase(&settings)?;
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || verify_file(&path, &passphrase))
            .await
            .map_err(|e| AppError::internal(ErrorCode::Internal, e))?
            .map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_keeps_the_newest_per_day_week_and_month() {
        let now = 400 * DAY;
        // Four backups a day for 120 days.
        let stamps: Vec<i64> = (0..480).map(|i| now - i * DAY / 4).collect();
        let keep = retained(&stamps, &[(DAY, 7), (7 * DAY, 4), (30 * DAY, 12)]);
        assert!(keep.contains(&now), "the newest is always kept");
        let days: std::collections::BTreeSet<i64> = keep.iter().map(|t| t.div_euclid(DAY)).collect();
        assert_eq!(days.len(), keep.len(), "at most one per day");
        assert!(keep.len() <= 7 + 4 + 12 && keep.len() >= 7 + 3 + 3, "{}", keep.len());
        assert!(keep.iter().filter(|&&t| now - t < 7 * DAY).count() >= 7);
        assert_eq!(retained(&[], &[(DAY, 7), (7 * DAY, 4), (30 * DAY, 12)]), Vec::<i64>::new());
    }

    #[test]
    fn only_our_file_names_are_backups() {
        assert_eq!(parse_name("holdfast-1700000000.hfb"), Some(1_700_000_000));
        for bad in ["../holdfast-1.hfb", "holdfast-1.hfb.partial", "holdfast-x.hfb", "other.hfb", "holdfast-1/../x.hfb"]
        {
            assert!(parse_name(bad).is_none() || bad.contains('/'), "{bad}");
        }
    }
}
