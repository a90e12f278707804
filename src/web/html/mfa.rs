//! Second-factor pages: the sign-in step, enrolment with QR code and backup codes, step-up
//! confirmation, and turning MFA off or resetting it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::forms::{FormError, NextQuery};
use super::layout::Layout;
use crate::app::auth::SessionStage;
use crate::app::auth::mfa::{Enrollment, SecondFactorAnswer};
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::error::{HtmlError, status_for};
use crate::web::extract::{AnySession, AppForm, Authenticated, Client, Page};

/// The form of every second-factor prompt: a TOTP code or a backup code.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    backup_code: String,
    #[serde(default)]
    next: String,
}

impl AnswerForm {
    fn answer(&self) -> SecondFactorAnswer {
        if self.backup_code.trim().is_empty() {
            SecondFactorAnswer::Code(self.code.clone())
        } else {
            SecondFactorAnswer::BackupCode(self.backup_code.clone())
        }
    }
}

/// Only a local path: one leading `/`, never `//` or `/\\`, printable ASCII (no open redirect).
pub fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 512
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if local { next } else { "/" }
}

/// `next` as a query value (percent-encoded).
pub fn encode_next(next: &str) -> String {
    form_urlencoded::byte_serialize(next.as_bytes()).collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "login_mfa.html")]
struct SecondFactorPage {
    layout: Layout,
    /// Where to go once signed in (a local path).
    next: String,
    error: Option<FormError>,
}

pub async fn login_form(page: Page, AnySession(session): AnySession, Query(query): Query<NextQuery>) -> Response {
    let next = safe_next(&query.next).to_owned();
    if session.stage != SessionStage::PendingMfa {
        return Redirect::to(&next).into_response();
    }
    SecondFactorPage { layout: Layout::new("Two-step sign-in", &page), next, error: None }.into_response()
}

pub async fn login_submit(
    State(state): State<AppState>,
    page: Page,
    AnySession(session): AnySession,
    Client(client): Client,
    AppForm(form): AppForm<AnswerForm>,
) -> Result<Response, HtmlError> {
    match state.app.mfa().complete_sign_in(&session, form.answer(), &client).await {
        Ok(done) => Ok(super::auth::completed(done, safe_next(&form.next))),
        Err(e) if e.code() == ErrorCode::SessionExpired => Ok(Redirect::to("/login").into_response()),
        Err(e) => {
            let page = SecondFactorPage {
                layout: Layout::new("Two-step sign-in", &page),
                next: safe_next(&form.next).to_owned(),
                error: Some(FormError::new("sign in", &e)),
            };
            Ok((status_for(e.code()), page).into_response())
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "mfa_setup.html")]
struct SetupPage {
    layout: Layout,
    enrollment: Enrollment,
    required: bool,
    error: Option<FormError>,
}

#[derive(Template, WebTemplate)]
#[template(path = "backup_codes.html")]
struct BackupCodesPage {
    layout: Layout,
    codes: Vec<String>,
}

/// Where the signed-in user's account page is: the portal's for a client.
fn account_path(session: &crate::app::auth::AuthSession) -> &'static str {
    if session.client.is_some() { "/portal/account" } else { "/account" }
}

/// The page's layout: the navigation appears only once the session is complete.
fn enrolment_layout(page: &Page) -> Layout {
    Layout::new("Set up two-step sign-in", page)
}

async fn setup_page(
    state: &AppState,
    page: &Page,
    session: &crate::app::auth::AuthSession,
    error: Option<FormError>,
) -> Result<Response, HtmlError> {
    let enrollment = state.app.mfa().enrollment(session).await?;
    let required = session.stage == SessionStage::MustEnroll;
    let status = super::forms::form_status(error.is_some());
    Ok((status, SetupPage { layout: enrolment_layout(page), enrollment, required, error }).into_response())
}

pub async fn setup_form(
    State(state): State<AppState>,
    page: Page,
    AnySession(session): AnySession,
) -> Result<Response, HtmlError> {
    match session.stage {
        SessionStage::PendingMfa => return Ok(Redirect::to("/login/mfa").into_response()),
        SessionStage::Full if session.mfa_enrolled => return Ok(Redirect::to(account_path(&session)).into_response()),
        SessionStage::Full | SessionStage::MustEnroll => {}
    }
    let response = setup_page(&state, &page, &session, None).await?;
    Ok(super::forms::keep_secret_out_of_referer(response))
}

pub async fn setup_submit(
    State(state): State<AppState>,
    page: Page,
    AnySession(session): AnySession,
    Client(client): Client,
    AppForm(form): AppForm<AnswerForm>,
) -> Result<Response, HtmlError> {
    if session.stage == SessionStage::PendingMfa || session.mfa_enrolled {
        return Ok(Redirect::to(account_path(&session)).into_response());
    }
    match state.app.mfa().confirm_enrollment(&session, &form.code, &client).await {
        Ok(codes) => Ok(BackupCodesPage { layout: Layout::new("Your backup codes", &page), codes }.into_response()),
        Err(e) => setup_page(&state, &page, &session, Some(FormError::new("turn on two-step sign-in", &e))).await,
    }
}

pub async fn regenerate_codes(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
) -> Result<Response, HtmlError> {
    let codes = state
        .app
        .mfa()
        .regenerate_backup_codes(&session, &client)
        .await
        .map_err(|e| HtmlError::while_doing("create new backup codes", e))?;
    Ok(BackupCodesPage { layout: Layout::new("Your backup codes", &page), codes }.into_response())
}

pub async fn replace(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
) -> Result<Response, HtmlError> {
    state
        .app
        .mfa()
        .replace_own(&session, &client)
        .await
        .map_err(|e| HtmlError::while_doing("replace your authenticator", e))?;
    Ok(Redirect::to("/account/mfa/setup").into_response())
}

pub async fn disable(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
) -> Result<Response, HtmlError> {
    state
        .app
        .mfa()
        .disable_own(&session, &client)
        .await
        .map_err(|e| HtmlError::while_doing("turn off two-step sign-in", e))?;
    Ok(Redirect::to("/account?notice=mfa-disabled").into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    layout: Layout,
    next: String,
    error: Option<FormError>,
}

pub async fn confirm_form(
    page: Page,
    Authenticated(_session): Authenticated,
    Query(query): Query<NextQuery>,
) -> ConfirmPage {
    ConfirmPage { layout: Layout::new("Confirm it's you", &page), next: safe_next(&query.next).to_owned(), error: None }
}

pub async fn confirm_submit(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    AppForm(form): AppForm<AnswerForm>,
) -> Result<Response, HtmlError> {
    let next = safe_next(&form.next).to_owned();
    match state.app.mfa().step_up(&session, form.answer(), &client).await {
        Ok(()) => Ok(Redirect::to(&next).into_response()),
        Err(e) => {
            let page = ConfirmPage {
                layout: Layout::new("Confirm it's you", &page),
                next,
                error: Some(FormError::new("confirm", &e)),
            };
            Ok((status_for(e.code()), page).into_response())
        }
    }
}

pub async fn reset_for_user(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let user = id.parse().map_err(|_| HtmlError::from(ErrorCode::NotFound))?;
    state
        .app
        .mfa()
        .reset(&session.scope, user, &client)
        .await
        .map_err(|e: AppError| HtmlError::while_doing("reset two-step sign-in", e))?;
    Ok(Redirect::to("/settings/users?notice=mfa-reset").into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_always_a_local_path() {
        assert_eq!(safe_next("/settings/users"), "/settings/users");
        assert_eq!(safe_next("/settings/users?notice=x"), "/settings/users?notice=x");
        for evil in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "https:evil",
            "",
            "evil",
            "/a b",
            "/\tevil",
            "/x\nLocation: y",
            "/\\evil",
        ] {
            assert_eq!(safe_next(evil), "/", "{evil:?}");
        }
    }
}
