//! Server-rendered pages. Handlers stay thin: parse → service → render.

mod account;
mod audit;
mod auth;
mod backups;
mod crm;
mod email;
pub mod empty_state;
pub(crate) mod filters;
pub mod forms;
mod key_rotation;
pub use crm::PageViews;
pub use mfa::{encode_next, safe_next};
pub(crate) use password::absolute_link as password_link;
pub mod layout;
mod mfa;
mod password;
mod portal;
mod portal_settings;
mod security;
mod setup_restore;
mod system;
mod users;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::AppState;
use super::error::HtmlError;
use super::extract::{Authenticated, Page};
use crate::app::auth::permissions::Action;
use crate::error::ErrorCode;
use layout::Layout;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/onboarding/dismiss", post(crm::dashboard::dismiss_onboarding))
        .route("/setup", get(auth::setup_form).post(auth::setup_submit))
        .route("/setup/restore", get(setup_restore::progress).post(setup_restore::start))
        .route("/login", get(auth::login_form).post(auth::login_submit))
        .route("/login/mfa", get(mfa::login_form).post(mfa::login_submit))
        .route("/logout", post(auth::logout))
        .route("/account/mfa/setup", get(mfa::setup_form).post(mfa::setup_submit))
        .route("/account/mfa/backup-codes", post(mfa::regenerate_codes))
        .route("/account/mfa/disable", post(mfa::disable))
        .route("/account/mfa/replace", post(mfa::replace))
        .route("/account/confirm", get(mfa::confirm_form).post(mfa::confirm_submit))
        .route("/settings/users/{id}/reset-mfa", post(mfa::reset_for_user))
        .route("/password/forgot", get(password::forgot_form).post(password::forgot_submit))
        .route("/password/reset", get(password::reset_form).post(password::reset_submit))
        .route("/account", get(account::show))
        .route("/account/password", post(account::change_password))
        .route("/account/sessions/{id}/revoke", post(account::revoke_session))
        .route("/account/tokens", post(account::create_token))
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/settings/users", get(users::list))
        .route("/settings/users/invite", post(users::invite))
        .route("/settings/users/{id}/role", post(users::change_role))
        .route("/settings/users/{id}/disable", post(users::disable))
        .route("/settings/users/{id}/enable", post(users::enable))
        .route("/settings/users/{id}/reset-link", post(users::reset_link))
        .route("/settings/security", get(security::show).post(security::save))
        .route("/settings/security/limits", post(security::save_limits))
        .route("/settings/security/alerts", post(security::save_alerts))
        .route("/settings/security/files", post(security::save_files))
        .route("/settings/users/{id}/unlock", post(users::unlock))
        .route("/settings/email", get(email::show).post(email::save))
        .route("/settings/email/test", post(email::test))
        .route("/settings/backups", get(backups::show).post(backups::save))
        .route("/settings/backups/run", post(backups::run_now))
        .route("/settings/backups/offsite", post(backups::save_offsite))
        .route("/settings/backups/offsite/test", post(backups::test_offsite))
        .route("/settings/backups/download/{name}", post(backups::download))
        .route("/settings/audit", get(audit::show))
        .route("/settings/audit/export.csv", get(audit::export))
        .route("/settings/audit/verify", post(audit::verify))
        .route("/settings/system", get(system::show))
        .route("/settings/portal", get(portal_settings::show))
        .route(
            "/settings/portal/logo",
            get(portal_settings::logo).post(portal_settings::upload_logo).layer(crate::web::layers::file_body_limit()),
        )
        .route("/settings/portal/logo/remove", post(portal_settings::remove_logo))
        .route("/settings/portal/templates", post(portal_settings::add_template))
        .route("/settings/portal/templates/{id}/delete", post(portal_settings::delete_template))
        .route("/settings/keys", get(key_rotation::show))
        .route("/settings/keys/rotate", post(key_rotation::rotate))
        .merge(crm::routes())
        .merge(portal::routes())
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
}

/// Signed in: the dashboard, or the account page for those who can't read records. Before
/// setup: how to find the setup link. Otherwise: sign in.
async fn home(State(state): State<AppState>, page: Page) -> Result<Response, HtmlError> {
    if let Some(session) = &page.session {
        if session.client.is_some() {
            return Ok(Redirect::to("/portal").into_response());
        }
        if session.scope.can(Action::ReadRecords) {
            return crm::dashboard::show(State(state), page.clone(), Authenticated(session.clone())).await;
        }
        return Ok(Redirect::to("/account").into_response());
    }
    if state.app.setup().pending_token().await?.is_none() {
        return Ok(Redirect::to("/login").into_response());
    }
    Ok(HomePage { layout: Layout::new("Welcome", &page) }.into_response())
}

/// Unknown paths: the coded 404 page.
pub async fn not_found() -> HtmlError {
    ErrorCode::NotFound.into()
}
