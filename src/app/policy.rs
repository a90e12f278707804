//! Runtime security policy (sessions, passwords): stored in the store, cached in memory, and
//! changed without a restart.

use serde::{Deserialize, Serialize};

use super::files::FileType;
use super::store::Versioned;
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};

/// The settings key the policy is stored under.
pub(crate) const SECURITY_POLICY: &str = "security";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityPolicy {
    /// Sign out after this many minutes without a request.
    pub session_idle_minutes: u32,
    /// Sign out this many hours after sign-in, whatever the activity.
    pub session_absolute_hours: u32,
    /// Shortest password accepted, in characters (Unicode code points).
    pub password_min_length: u32,
    /// How many earlier passwords a new one may not repeat (the current one included).
    #[serde(default = "default_password_history")]
    pub password_history: u32,
    /// Roles that must use a second factor.
    pub mfa_required_roles: Vec<Role>,
    /// Web origins (`https://app.example.com`) allowed to call the JSON API from a browser
    /// with a bearer token. Empty: no cross-origin access. Never a wildcard, never cookies.
    pub api_allowed_origins: Vec<String>,
    /// Largest file accepted, in MiB.
    #[serde(default = "default_upload_max_mib")]
    pub upload_max_mib: u32,
    /// File types accepted, recognised by content (images and audio unless an owner adds PDF).
    #[serde(default = "default_file_types")]
    pub allowed_file_types: Vec<FileType>,
    /// What each workspace's files may take in all, in MiB.
    #[serde(default = "default_storage_quota_mib")]
    pub storage_quota_mib: u32,
}

fn default_upload_max_mib() -> u32 {
    25
}

fn default_file_types() -> Vec<FileType> {
    FileType::defaults()
}

fn default_storage_quota_mib() -> u32 {
    10 * 1024
}

/// The largest upload cap an owner can set (the upload routes' body limit follows it).
pub const UPLOAD_MAX_MIB: u32 = 100;

impl Default for SecurityPolicy {
    fn default() -> Self {
        Self {
            session_idle_minutes: 60,
            session_absolute_hours: 12,
            password_min_length: 12,
            password_history: default_password_history(),
            mfa_required_roles: Role::ALL.to_vec(),
            api_allowed_origins: Vec::new(),
            upload_max_mib: default_upload_max_mib(),
            allowed_file_types: default_file_types(),
            storage_quota_mib: default_storage_quota_mib(),
        }
    }
}

fn default_password_history() -> u32 {
    5
}

/// The most earlier passwords kept per user (each costs an argon2 check on every change).
pub const PASSWORD_HISTORY_MAX: u32 = 24;

impl Versioned for SecurityPolicy {
    const VERSION: u16 = 1;
}

/// Longest password accepted: bounds hashing cost.
pub const PASSWORD_MAX_LENGTH: usize = 256;

impl SecurityPolicy {
    /// The upload cap in bytes.
    pub fn upload_max_bytes(&self) -> u64 {
        u64::from(self.upload_max_mib) * 1024 * 1024
    }

    pub fn requires_mfa(&self, role: Role) -> bool {
        self.mfa_required_roles.contains(&role)
    }

    /// Checks the values are within sane bounds.
    pub fn validate(&self) -> Result<(), AppError> {
        let in_range = |v: u32, lo: u32, hi: u32, field: &'static str| {
            if (lo..=hi).contains(&v) { Ok(()) } else { Err(AppError::field(ErrorCode::InvalidFormat, field)) }
        };
        in_range(self.session_idle_minutes, 5, 24 * 60, "session_idle_minutes")?;
        in_range(self.session_absolute_hours, 1, 24 * 30, "session_absolute_hours")?;
        in_range(self.password_min_length, 8, 64, "password_min_length")?;
        in_range(self.password_history, 0, PASSWORD_HISTORY_MAX, "password_history")?;
        in_range(self.upload_max_mib, 1, UPLOAD_MAX_MIB, "upload_max_mib")?;
        in_range(self.storage_quota_mib, 1, 1024 * 1024, "storage_quota_mib")?;
        if self.api_allowed_origins.len() > 20 || !self.api_allowed_origins.iter().all(|o| is_origin(o)) {
            return Err(AppError::field(ErrorCode::InvalidFormat, "api_allowed_origins"));
        }
        Ok(())
    }

    /// Whether a browser at `origin` may call the API.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.api_allowed_origins.iter().any(|o| o == origin)
    }
}

/// `https://host[:port]` exactly as browsers send it in `Origin`: no path, no wildcard.
fn is_origin(text: &str) -> bool {
    match url::Url::parse(text) {
        Ok(url) => {
            matches!(url.scheme(), "https" | "http")
                && url.host_str().is_some_and(|h| !h.contains('*'))
                && url.origin().ascii_serialization() == text
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins_are_exact_and_never_wildcards() {
        assert!(super::is_origin("https://app.example.com"));
        assert!(super::is_origin("http://localhost:3000"));
        for bad in [
            "*",
            "https://*.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "null",
            "app.example.com",
        ] {
            assert!(!super::is_origin(bad), "{bad}");
        }
    }
}
