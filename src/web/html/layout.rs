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
    /// New contacts, companies, deals and tasks (the command palette's "New …" actions).
    pub creates_records: bool,
    /// CSV imports (the command palette's "Import contacts (CSV)").
    pub imports: bool,
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
            creates_records: session.scope.can(Action::CreateRecords),
            imports: session.scope.can(Action::ImportExport),
            client: session.client.is_some(),
            portal_unseen: session.portal_unseen,
            offline_reading: session.offline_reading && session.client.is_none(),
        }
    }
}

/// One page of the settings area, as its sub-navigation links it.
#[derive(Debug, Clone, Copy)]
pub struct SettingsLink {
    pub href: &'static str,
    pub label: &'static str,
}

/// Colours of the initials avatar (each passes AA with white letters).
const AVATAR_COLOURS: usize = 8;

impl NavUser {
    /// The settings pages this user may open, in the sub-navigation's order (the same
    /// permissions the pages themselves check).
    pub fn settings_pages(&self) -> Vec<SettingsLink> {
        let link = |href, label| SettingsLink { href, label };
        let mut pages = Vec::new();
        if self.manages_users {
            pages.push(link("/settings/users", "Users"));
        }
        if self.manages_settings {
            pages.extend([
                link("/settings/security", "Security"),
                link("/settings/email", "Email"),
                link("/settings/backups", "Backups"),
                link("/settings/system", "System"),
                link("/settings/keys", "Encryption keys"),
            ]);
        }
        if self.manages_audit {
            pages.extend([
                link("/settings/audit", "Audit"),
                link("/settings/portal", "Portal"),
                link("/settings/offline", "Offline"),
            ]);
        }
        if self.edits_pipeline {
            pages.push(link("/settings/pipeline", "Pipeline & tags"));
        }
        pages
    }

    /// Where the sidebar's "Settings" leads: the first settings page this user may open (none:
    /// no entry).
    pub fn settings_home(&self) -> Option<&'static str> {
        self.settings_pages().first().map(|page| page.href)
    }

    /// The user menu's avatar.
    pub fn avatar(&self) -> Avatar {
        Avatar::of(&self.name)
    }
}

/// A locally drawn initials avatar: up to two letters in one of eight colours (every one AA
/// against white text), the same for the same name on every page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    pub initials: String,
    /// The colour's class suffix (`avatar c3`).
    pub colour: usize,
}

impl Avatar {
    /// The first letters of the first and last words of `name` ("Olive Owner" → "OO").
    pub fn of(name: &str) -> Self {
        let words: Vec<&str> = name.split_whitespace().collect();
        let first = |word: Option<&&str>| word.and_then(|w| w.chars().next()).map(|c| c.to_uppercase().to_string());
        let initials = match words.len() {
            0 => "?".to_owned(),
            1 => first(words.first()).unwrap_or_default(),
            _ => first(words.first()).unwrap_or_default() + &first(words.last()).unwrap_or_default(),
        };
        let sum = name.bytes().fold(0usize, |acc, b| acc.wrapping_mul(31).wrapping_add(usize::from(b)));
        Self { initials, colour: sum % AVATAR_COLOURS }
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

    /// Whether the page is in the navigation section `href` (the dashboard and the portal's
    /// home only exactly, the others with everything under them).
    pub fn is_at(&self, href: &str) -> bool {
        if href == "/" || href == "/portal" {
            return self.route == href;
        }
        self.route == href || self.route.strip_prefix(href).is_some_and(|rest| rest.starts_with('/'))
    }

    /// A page of the settings area (with the settings sub-navigation).
    pub fn in_settings(&self) -> bool {
        self.is_at("/settings")
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
