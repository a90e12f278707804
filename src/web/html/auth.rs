//! First-run setup, sign-in and sign-out pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::forms::{FormError, NextQuery, NoticeQuery, notice};
use super::layout::Layout;
use super::{encode_next, safe_next};
use crate::app::auth::setup::{SetupRequest, SetupState};
use crate::app::auth::{LoginOutcome, SessionToken};
use crate::error::ErrorCode;
use crate::web::AppState;
use crate::web::cookies;
use crate::web::error::HtmlError;
use crate::web::extract::{AnySession, AppForm, Client, Page};

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
pub(super) struct SetupPage {
    pub layout: Layout,
    /// The policy's shortest password.
    pub min_length: u32,
    pub token: String,
    pub workspace_name: String,
    pub name: String,
    pub email: String,
    pub error: Option<FormError>,
    /// The restore form (shown open when it failed).
    pub restore: super::setup_restore::RestoreFields,
    pub restore_error: Option<FormError>,
}

impl SetupPage {
    /// The page as first shown.
    pub fn blank(state: &AppState, page: &Page, token: String) -> SetupPage {
        SetupPage {
            layout: Layout::new("Set up Holdfast", page),
            min_length: state.app.security_policy().password_min_length,
            token,
            workspace_name: String::new(),
            name: String::new(),
            email: String::new(),
            error: None,
            restore: Default::default(),
            restore_error: None,
        }
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupForm {
    token: String,
    workspace_name: String,
    name: String,
    email: String,
    password: SecretString,
}

/// Refuses setup once done (410) or with a wrong token (404), changing nothing; wrong tokens
/// count as failed attempts of the address.
pub(super) async fn setup_gate(
    state: &AppState,
    token: &str,
    client: &crate::app::auth::ClientInfo,
) -> Result<(), Response> {
    setup_refusal(state.app.setup().state(token, client).await).map_or(Ok(()), Err)
}

/// [`setup_gate`]'s refusal, if any, of a setup state already asked for (asking again would
/// count a wrong token twice).
pub(super) fn setup_refusal(setup: Result<SetupState, crate::error::AppError>) -> Option<Response> {
    match setup {
        Ok(SetupState::Open) => None,
        Ok(SetupState::Done) => {
            let mut response = HtmlError::while_doing("set up Holdfast", ErrorCode::NotFound).into_response();
            *response.status_mut() = StatusCode::GONE;
            Some(response)
        }
        Ok(SetupState::WrongToken) => {
            Some(HtmlError::while_doing("set up Holdfast", ErrorCode::NotFound).into_response())
        }
        Ok(SetupState::Throttled) => {
            Some(HtmlError::while_doing("set up Holdfast", ErrorCode::TooManySignInFailures).into_response())
        }
        Err(e) => Some(HtmlError::from(e).into_response()),
    }
}

pub async fn setup_form(
    State(state): State<AppState>,
    page: Page,
    Client(client): Client,
    Query(query): Query<TokenQuery>,
) -> Response {
    if let Err(refused) = setup_gate(&state, &query.token, &client).await {
        return refused;
    }
    let response = SetupPage::blank(&state, &page, query.token).into_response();
    super::forms::keep_secret_out_of_referer(response)
}

pub async fn setup_submit(
    State(state): State<AppState>,
    page: Page,
    Client(client): Client,
    AppForm(form): AppForm<SetupForm>,
) -> Response {
    if let Err(refused) = setup_gate(&state, &form.token, &client).await {
        return refused;
    }
    let request = SetupRequest {
        token: form.token.clone(),
        workspace_name: form.workspace_name.clone(),
        name: form.name.clone(),
        email: form.email.clone(),
        password: form.password,
    };
    match state.app.setup().complete(request, &client).await {
        Ok(token) => signed_in(token, "/account"),
        Err(error) => {
            let page = SetupPage {
                workspace_name: form.workspace_name,
                name: form.name,
                email: form.email,
                error: Some(FormError::new("set up Holdfast", &error)),
                ..SetupPage::blank(&state, &page, form.token)
            };
            (crate::web::error::status_for(error.code()), page).into_response()
        }
    }
}

/// Redirects to `to` after a finished sign-in: the session cookie, and the device cookie that
/// keeps this browser clear of lock-outs others cause (a year).
pub fn completed(done: crate::app::auth::Completed, to: &str) -> Response {
    let mut response = signed_in(done.session, to);
    response.headers_mut().append(header::SET_COOKIE, cookies::set_lasting(cookies::DEVICE, &done.device.0, 365));
    response
}

/// Redirects to `to` with the new session cookie.
fn signed_in(token: SessionToken, to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookies::set(cookies::SESSION, token.expose()));
    response
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    /// Where to go once signed in (a local path).
    next: String,
    notice: Option<&'static str>,
    error: Option<FormError>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginForm {
    email: String,
    password: SecretString,
    #[serde(default)]
    next: String,
}

pub async fn login_form(page: Page, Query(query): Query<NoticeQuery>, Query(wanted): Query<NextQuery>) -> Response {
    let next = safe_next(&wanted.next).to_owned();
    if page.session.is_some() {
        return Redirect::to(&next).into_response();
    }
    LoginPage {
        layout: Layout::new("Sign in", &page),
        email: String::new(),
        next,
        notice: notice(&query.notice),
        error: None,
    }
    .into_response()
}

pub async fn login_submit(
    State(state): State<AppState>,
    page: Page,
    Client(client): Client,
    headers: axum::http::HeaderMap,
    AppForm(form): AppForm<LoginForm>,
) -> Result<Response, HtmlError> {
    let previous = cookies::get(&headers, cookies::SESSION).and_then(SessionToken::from_cookie);
    let next = safe_next(&form.next).to_owned();
    let device = cookies::get(&headers, cookies::DEVICE);
    match state.app.sessions().sign_in(&form.email, &form.password, &client, previous, device).await? {
        LoginOutcome::SignedIn(done) => Ok(completed(done, &next)),
        LoginOutcome::SecondFactorDue(token) => {
            let to =
                if next == "/" { "/login/mfa".to_owned() } else { format!("/login/mfa?next={}", encode_next(&next)) };
            Ok(signed_in(token, &to))
        }
        LoginOutcome::MustEnroll(token) => Ok(signed_in(token, "/account/mfa/setup")),
        LoginOutcome::Throttled(seconds) => {
            let error = crate::error::AppError::new(ErrorCode::TooManySignInFailures);
            let page = LoginPage {
                layout: Layout::new("Sign in", &page),
                email: form.email,
                next: next.clone(),
                notice: None,
                error: Some(FormError::new("sign in", &error)),
            };
            let mut response = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1) as u64));
            Ok(response)
        }
        LoginOutcome::Failed => {
            let error = crate::error::AppError::new(ErrorCode::WrongCredentials);
            let page = LoginPage {
                layout: Layout::new("Sign in", &page),
                email: form.email,
                next: next.clone(),
                notice: None,
                error: Some(FormError::new("sign in", &error)),
            };
            Ok((StatusCode::UNAUTHORIZED, page).into_response())
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    AnySession(session): AnySession,
    Client(client): Client,
) -> Result<Response, HtmlError> {
    state.app.sessions().sign_out(&session, &client).await?;
    let mut response = Redirect::to("/login?notice=signed-out").into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, cookies::clear(cookies::SESSION));
    // Not "cookies": the device cookie stays, so signing out never exposes this browser to
    // lock-outs that others cause. The session cookie is cleared above.
    headers.insert("clear-site-data", HeaderValue::from_static("\"cache\", \"storage\""));
    Ok(response)
}
