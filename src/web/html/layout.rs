//! What the base template needs on every page: title, nonce, asset URLs, the CSRF token for the
//! sign-out form, and the signed-in user's navigation.

use crate::app::auth::permissions::Action;
use crate::web::assets;
use crate::web::extract::{CspNonce, Page};

/// The signed-in user as the navigation shows them.
#[derive(Debug, Clone)]
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
    /// A client of the firm: the portal's navigation instead of the firm's.
    pub client: bool,
    /// Client activity not seen yet (the badge on "Client activity").
    pub portal_unseen: usize,
    /// The browser may keep pages to read offline (a member, the workspace allowing it).
    pub offline_reading: bool,
}

impl NavUser {
    pub fn of(session: &crate::app::auth::AuthSession) -> Self {
        NavUser {
            name: session.user_name.clone(),
            manages_users: session.scope.can(Action::ManageUsers),
            manages_settings: session.scope.is_server_operator(),
            manages_audit: session.scope.can(Action::ManageSettings),
            reads_records: session.scope.can(Action::ReadRecords),
            edits_pipeline: session.scope.can(Action::EditAllRecords),
            client: session.client.is_some(),
            portal_unseen: session.portal_unseen,
            offline_reading: session.offline_reading && session.client.is_none(),
        }
    }
}

/// Left on an error response by the session layer, so the error page (rendered further out)
/// keeps the navigation of a signed-in user, sign-out form included.
#[derive(Debug, Clone)]
pub struct SignedInNav {
    pub user: NavUser,
    pub csrf: String,
}

pub struct Layout {
    pub title: String,
    pub nonce: String,
    pub csrf: String,
    pub css: &'static str,
    pub js: &'static str,
    pub icon: &'static str,
    pub user: Option<NavUser>,
    /// The route's template, for the page-speed report (empty: none is sent).
    pub route: String,
    /// The firm in the header of its client portal (else Holdfast's own).
    pub brand: Option<Brand>,
}

/// The firm on its portal's pages.
#[derive(Debug, Clone)]
pub struct Brand {
    pub name: String,
    /// Whether it has a logo (served at `/portal/logo`).
    pub logo: bool,
}

impl Layout {
    pub fn new(title: impl Into<String>, page: &Page) -> Self {
        let mut layout = Self::bare(title, &page.nonce);
        layout.csrf = page.csrf.clone();
        layout.user = page.session.as_ref().map(NavUser::of);
        layout.route = page.route.clone();
        layout
    }

    /// The same layout with the signed-in navigation (error pages, rendered by a layer).
    pub fn with_nav(self, nav: Option<&SignedInNav>) -> Self {
        match nav {
            Some(nav) => Self { user: Some(nav.user.clone()), csrf: nav.csrf.clone(), ..self },
            None => self,
        }
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
            route: String::new(),
            brand: None,
        }
    }
}
