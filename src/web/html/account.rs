//! `/account`: profile, password change, own sessions (revoke) and personal API tokens.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::filters;
use super::forms::{FormError, NoticeQuery, notice};
use super::layout::Layout;
use crate::app::audit::SecurityEvent;
use crate::app::auth::permissions::Action;
use crate::app::auth::{ApiTokenView, ApiTokens, AuthSession, SessionView};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{AppForm, Authenticated, Client, Page};

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    name: String,
    email: String,
    role: &'static str,
    sessions: Vec<SessionView>,
    tokens: Vec<ApiTokenView>,
    can_use_api: bool,
    mfa_enrolled: bool,
    mfa_required: bool,
    backup_codes_left: Option<usize>,
    security_log: Vec<SecurityEvent>,
    notice: Option<&'static str>,
    password_error: Option<FormError>,
    token_error: Option<FormError>,
    new_token: Option<String>,
    /// The policy's shortest password and how many earlier ones can't be reused.
    password_rules: (u32, u32),
}

async fn render(
    state: &AppState,
    page: &Page,
    session: &AuthSession,
    fill: impl FnOnce(&mut AccountPage),
) -> Result<Response, HtmlError> {
    let sessions = state.app.sessions().list(session).await?;
    let tokens = state.app.tokens().list(&session.scope).await?;
    let policy = state.app.security_policy();
    let mut account = AccountPage {
        layout: Layout::new("Account", page),
        name: session.user_name.clone(),
        email: session.email.clone(),
        role: session.scope.role().label(),
        sessions,
        tokens,
        can_use_api: session.scope.can(Action::UseApi),
        mfa_enrolled: session.mfa_enrolled,
        mfa_required: policy.requires_mfa(session.scope.role()),
        backup_codes_left: state.app.mfa().backup_codes_left(session).await?,
        security_log: state.app.audit().security_log(&session.scope).await?,
        notice: None,
        password_error: None,
        token_error: None,
        new_token: None,
        password_rules: (policy.password_min_length, policy.password_history),
    };
    fill(&mut account);
    let status = super::forms::form_status(account.password_error.is_some() || account.token_error.is_some());
    Ok((status, account).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, HtmlError> {
    render(&state, &page, &session, |p| p.notice = notice(&query.notice)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordForm {
    current_password: SecretString,
    new_password: SecretString,
    /// The checkbox "Also revoke my API tokens" (ticked by default).
    #[serde(default)]
    revoke_api_tokens: Option<String>,
}

pub async fn change_password(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    AppForm(form): AppForm<PasswordForm>,
) -> Result<Response, HtmlError> {
    let tokens = ApiTokens::from_checkbox(form.revoke_api_tokens.is_some());
    match state
        .app
        .account()
        .change_password(&session, &form.current_password, &form.new_password, tokens, &client)
        .await
    {
        Ok(()) if tokens == ApiTokens::Revoke => {
            Ok(Redirect::to("/account?notice=password-changed-tokens-revoked").into_response())
        }
        Ok(()) => Ok(Redirect::to("/account?notice=password-changed").into_response()),
        Err(error) => {
            render(&state, &page, &session, |p| p.password_error = Some(FormError::new("change password", &error)))
                .await
        }
    }
}

pub async fn revoke_session(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    state
        .app
        .sessions()
        .revoke(&session, &id, &client)
        .await
        .map_err(|e| HtmlError::while_doing("sign out that session", e))?;
    Ok(Redirect::to("/account?notice=session-revoked").into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenForm {
    label: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    AppForm(form): AppForm<TokenForm>,
) -> Result<Response, HtmlError> {
    match state.app.tokens().create(&session.scope, &form.label, &client).await {
        Ok(created) => render(&state, &page, &session, |p| p.new_token = Some(created.token)).await,
        Err(error) => token_error(&state, &page, &session, &error).await,
    }
}

async fn token_error(
    state: &AppState,
    page: &Page,
    session: &AuthSession,
    error: &AppError,
) -> Result<Response, HtmlError> {
    if super::forms::is_refusal(error) {
        return Err(HtmlError::while_doing("create an API token", error.code()));
    }
    render(state, page, session, |p| p.token_error = Some(FormError::new("create an API token", error))).await
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    state
        .app
        .tokens()
        .revoke(&session.scope, &id, &client)
        .await
        .map_err(|e| HtmlError::while_doing("revoke the token", e))?;
    Ok(Redirect::to("/account?notice=token-revoked").into_response())
}
