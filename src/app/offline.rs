//! Offline reading: whether a workspace lets its members' browsers keep encrypted copies of the
//! pages they read (on unless an owner or admin turns it off), and which pages may be kept.

use serde::{Deserialize, Serialize};

use super::audit::{AuditEvent, record};
use super::auth::permissions::Action;
use super::auth::{ClientInfo, TenantScope};
use super::store::{Txn, Versioned, WorkspaceTx};
use crate::error::AppError;

crate::app::service! {
    /// The workspace's offline-reading setting.
    Offline
}

/// Where the setting is kept (a workspace CRM setting).
const SETTING: &str = "offline_reading";

/// Whether members' browsers may keep pages to read offline.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct OfflineReading(bool);

impl Default for OfflineReading {
    /// On, as the seed requirements ask.
    fn default() -> Self {
        OfflineReading(true)
    }
}

impl Versioned for OfflineReading {
    const VERSION: u16 = 1;
}

/// The CRM pages a browser may keep (reading ones only): the dashboard, lists, records and
/// search. Settings, the account, exports, imports, files, the audit log and the portal never.
pub fn keepable(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    let module = matches!(first, "" | "contacts" | "companies" | "deals" | "tasks" | "search");
    let never = ["/new", "/edit", "/import", "/export", ".csv", ".vcf", ".json", "/vcard", "/files", "/portal"];
    module && !never.iter().any(|part| path.contains(part))
}

/// Whether the transaction's workspace has offline reading on.
pub(crate) fn enabled_in(txn: &WorkspaceTx<'_, impl Txn>) -> Result<bool, AppError> {
    Ok(txn.setting::<OfflineReading>(SETTING)?.unwrap_or_default().0)
}

impl Offline<'_> {
    /// Whether the workspace has offline reading on.
    pub fn enabled(&self, scope: &TenantScope) -> Result<bool, AppError> {
        self.store().workspace(scope).read_now(enabled_in)
    }

    /// Turns offline reading on or off (owners and admins; audited).
    pub async fn set(&self, scope: &TenantScope, on: bool, client: &ClientInfo) -> Result<(), AppError> {
        scope.require(Action::ManageSettings)?;
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                txn.save_setting(SETTING, &OfflineReading(on))?;
                let event = AuditEvent::new("settings.offline_reading", Some(*scope.user()))
                    .fields(&[if on { "on" } else { "off" }])
                    .from_client(&client);
                record(txn, now, event)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::keepable;

    #[test]
    fn only_reading_pages_are_kept() {
        for path in ["/", "/contacts", "/contacts/abc", "/companies?tag=vip", "/deals", "/tasks", "/search?q=ada"] {
            assert!(keepable(path), "{path}");
        }
        for path in [
            "/settings/security",
            "/account",
            "/contacts/new",
            "/contacts/abc/edit",
            "/contacts/export.csv",
            "/contacts/abc/vcard",
            "/contacts/abc/privacy-export.json",
            "/files/abc",
            "/companies/abc/portal",
            "/portal",
            "/client-activity",
            "/login",
        ] {
            assert!(!keepable(path), "{path}");
        }
    }
}
