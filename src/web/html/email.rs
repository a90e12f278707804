//! `/settings/email`: SMTP settings (admins) and a test message to oneself.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::forms::{FormError, NoticeQuery, is_refusal, notice};
use super::layout::Layout;
use crate::app::auth::AuthSession;
use crate::app::auth::permissions::Action;
use crate::app::email::{EmailSettings, EmailSettingsInput};
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{AppForm, Authenticated, Client, Page};

#[derive(Template, WebTemplate)]
#[template(path = "settings_email.html")]
pub struct EmailPage {
    layout: Layout,
    settings: EmailSettings,
    public_url_set: bool,
    notice: Option<&'static str>,
    error: Option<FormError>,
}

fn page_for(state: &AppState, page: &Page, notice: Option<&'static str>, error: Option<FormError>) -> EmailPage {
    EmailPage {
        layout: Layout::new("Email", page),
        settings: state.app.email().settings(),
        public_url_set: state.config.server.public_url.is_some(),
        notice,
        error,
    }
}

fn require_admin(session: &AuthSession) -> Result<(), HtmlError> {
    session
        .scope
        .require(Action::ManageSettings)
        .and_then(|()| session.scope.require_server_operator())
        .map_err(|e| HtmlError::while_doing("open email settings", e))
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Query(query): Query<NoticeQuery>,
) -> Result<EmailPage, HtmlError> {
    require_admin(&session)?;
    Ok(page_for(&state, &page, notice(&query.notice), None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailForm {
    host: String,
    port: String,
    security: String,
    username: String,
    password: SecretString,
    from: String,
}

pub async fn save(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    AppForm(form): AppForm<EmailForm>,
) -> Result<Response, HtmlError> {
    require_admin(&session)?;
    let input = EmailSettingsInput {
        host: form.host,
        port: form.port,
        security: form.security,
        username: form.username,
        password: form.password,
        from: form.from,
    };
    match state.app.email().save_settings(&session.scope, input, &client).await {
        Ok(()) => Ok(Redirect::to("/settings/email?notice=email-saved").into_response()),
        Err(e) if is_refusal(&e) => Err(HtmlError::while_doing("save the email settings", e)),
        Err(e) => {
            let error = FormError::new("save the email settings", &e);
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page_for(&state, &page, None, Some(error)))
                .into_response())
        }
    }
}

pub async fn test(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
) -> Result<Response, HtmlError> {
    require_admin(&session)?;
    match state.app.email().send_test(&session.scope, &session.email).await {
        Ok(()) => Ok(Redirect::to("/settings/email?notice=email-sent").into_response()),
        Err(e) if is_refusal(&e) => Err(HtmlError::while_doing("send a test email", e)),
        Err(e) => {
            let error = FormError::new("send the test email", &e);
            Ok((axum::http::StatusCode::BAD_GATEWAY, page_for(&state, &page, None, Some(error))).into_response())
        }
    }
}
