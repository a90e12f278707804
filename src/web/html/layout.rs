//! What the base template needs on every page: title, nonce, asset URLs, the CSRF token for the
//! sign-out form, and the signed-in user's navigation.

use crate::app::auth::permissions::Action;
use crate::web::assets;
use crate::web::extract::{CspNonce, Page};

/// The signed-in user as the navigation shows them.
pub struct NavUser {
    pub name: String,
    pub manages_users: bool,
    /// Server-wide settings (home workspace's owners and admins).
    pub manages_settings: bool,
    /// This workspace's audit log.
    pub manages_audit: bool,
    /// The CRM pages (contacts, companies, deals, tasks) and the search box.
    pub reads_records: bool,
    /// The deal pipeline settings (managers and up).
    pub edits_pipeline: bool,
}

pub struct Layout {
    pub title: String,
    pub nonce: String,
    pub csrf: String,
    pub css: &'static str,
    pub js: &'static str,
    pub icon: &'static str,
    pub user: Option<NavUser>,
}

impl Layout {
    pub fn new(title: impl Into<String>, page: &Page) -> Self {
        let mut layout = Self::bare(title, &page.nonce);
        layout.csrf = page.csrf.clone();
        layout.user = page.session.as_ref().map(|s| NavUser {
            name: s.user_name.clone(),
            manages_users: s.scope.can(Action::ManageUsers),
            manages_settings: s.scope.is_server_operator(),
            manages_audit: s.scope.can(Action::ManageSettings),
            reads_records: s.scope.can(Action::ReadRecords),
            edits_pipeline: s.scope.can(Action::EditAllRecords),
        });
        layout
    }

    /// A layout without session details (error pages rendered by the layer).
    pub fn bare(title: impl Into<String>, nonce: &CspNonce) -> Self {
        Self {
            title: title.into(),
            nonce: nonce.as_str().to_owned(),
            csrf: String::new(),
            css: assets::url("app.css"),
            js: assets::url("app.js"),
            icon: assets::url("icon.svg"),
            user: None,
        }
    }
}

/// Unix seconds as `2026-11-23 15:40 UTC`.
pub fn format_time(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix).ok().and_then(|t| t.format(&format).ok()).unwrap_or_default()
}
