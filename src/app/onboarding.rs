//! First run: the onboarding checklist an owner or admin sees on a new firm's dashboard until
//! every step is done or someone dismisses it (for the whole workspace, a workspace CRM
//! setting), and the facts the empty states that teach need.

use serde::{Deserialize, Serialize};

use super::audit::{AuditEvent, record};
use super::auth::permissions::Action;
use super::auth::{ClientInfo, TenantScope};
use super::crm::index_terms;
use super::store::Versioned;
use super::users::UserView;
use crate::domain::crm::Kind;
use crate::domain::role::Role;
use crate::error::AppError;

crate::app::service! {
    /// The onboarding checklist of a new workspace.
    Onboarding
}

/// Where the dismissal is kept (a workspace CRM setting).
const SETTING: &str = "onboarding_dismissed";

/// Whether someone dismissed the checklist.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Dismissed(bool);

impl Versioned for Dismissed {
    const VERSION: u16 = 1;
}

/// One step of the checklist: what to do, where, and whether it is done.
#[derive(Debug, Clone)]
pub struct Step {
    pub label: &'static str,
    pub href: &'static str,
    pub done: bool,
}

impl Onboarding<'_> {
    /// The checklist for the viewer: `None` for those who manage no users (staff, clients), once
    /// dismissed, or once every step is done.
    pub async fn checklist(&self, scope: &TenantScope) -> Result<Option<Vec<Step>>, AppError> {
        if !scope.can(Action::ManageUsers) {
            return Ok(None);
        }
        let (dismissed, contacts, imported, users) = self
            .store()
            .workspace(scope)
            .read(|txn| {
                let dismissed = txn.setting::<Dismissed>(SETTING)?.unwrap_or_default().0;
                let contacts = txn.index()?.count(Kind::Contact, index_terms::CREATED, &[], 1)? > 0;
                let imported = txn.recent_imports(50)?.iter().any(|import| import.complete);
                Ok((dismissed, contacts, imported, txn.users()?))
            })
            .await?;
        if dismissed {
            return Ok(None);
        }
        let users: Vec<UserView> = users.into_iter().map(UserView::from).collect();
        let me = *scope.user();
        let team = users.iter().filter(|u| u.role != Role::Client && !u.disabled).count() > 1;
        let mfa = users.iter().any(|u| u.id == me && u.mfa);
        let backups = self.backups().settings().await?.is_configured();
        let steps = vec![
            Step { label: "Add your first contact", href: "/contacts/new", done: contacts },
            Step { label: "Import contacts from a CSV", href: "/contacts/import", done: imported },
            Step { label: "Invite your team", href: "/settings/users", done: team },
            Step { label: "Turn on two-factor sign-in", href: "/account", done: mfa },
            Step { label: "Set up backups", href: "/settings/backups", done: backups },
        ];
        Ok(if steps.iter().all(|s| s.done) { None } else { Some(steps) })
    }

    /// Hides the checklist for the whole workspace (owners and admins; audited).
    pub async fn dismiss(&self, scope: &TenantScope, client: &ClientInfo) -> Result<(), AppError> {
        scope.require(Action::ManageUsers)?;
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                txn.save_setting(SETTING, &Dismissed(true))?;
                let event = AuditEvent::new("settings.onboarding_dismissed", Some(*scope.user())).from_client(&client);
                record(txn, now, event)
            })
            .await
    }

    /// Whether the workspace holds no record of `kind` at all (not "none matches a filter"):
    /// the lists' and sections' empty states that teach.
    pub async fn none_of(&self, scope: &TenantScope, kind: Kind) -> Result<bool, AppError> {
        scope.require(Action::ReadRecords)?;
        let count = self
            .store()
            .workspace(scope)
            .read(move |txn| txn.index()?.count(kind, index_terms::CREATED, &[], 1))
            .await?;
        Ok(count == 0)
    }
}
