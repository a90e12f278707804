//! Forgot-password and the reset / invitation link page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::forms::FormError;
use super::layout::Layout;
use crate::app::auth::{ApiTokens, LinkPurpose};
use crate::error::ErrorCode;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{AppForm, Client, Page};

#[derive(Template, WebTemplate)]
#[template(path = "password_forgot.html")]
pub struct ForgotPage {
    layout: Layout,
}

pub async fn forgot_form(page: Page) -> ForgotPage {
    ForgotPage { layout: Layout::new("Forgot password", &page) }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgotForm {
    email: String,
}

/// Always the same answer, at the same speed, whether or not the address has an account.
pub async fn forgot_submit(State(state): State<AppState>, AppForm(form): AppForm<ForgotForm>) -> Redirect {
    let origin = state.config.server.public_url.as_ref().map(|u| u.origin().ascii_serialization());
    state.app.links().request_reset(&form.email, origin);
    Redirect::to("/login?notice=reset-requested")
}

#[derive(Template, WebTemplate)]
#[template(path = "password_reset.html")]
struct ResetPage {
    layout: Layout,
    /// The policy's shortest password.
    min_length: u32,
    token: String,
    invite: bool,
    error: Option<FormError>,
}

#[derive(Deserialize)]
pub struct ResetQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetForm {
    token: String,
    password: SecretString,
    /// The checkbox "Also revoke my API tokens" (ticked by default; invitations have none).
    #[serde(default)]
    revoke_api_tokens: Option<String>,
}

pub async fn reset_form(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<ResetQuery>,
) -> Result<Response, HtmlError> {
    let purpose = state.app.links().purpose(&query.token).await?;
    let Some(purpose) = purpose else {
        return Err(HtmlError::while_doing("use this link: it has expired or was already used", ErrorCode::NotFound));
    };
    let page = ResetPage {
        layout: Layout::new("Choose a password", &page),
        min_length: state.app.security_policy().password_min_length,
        token: query.token,
        invite: purpose == LinkPurpose::Invite,
        error: None,
    };
    Ok(super::forms::keep_secret_out_of_referer(page.into_response()))
}

pub async fn reset_submit(
    State(state): State<AppState>,
    page: Page,
    Client(client): Client,
    AppForm(form): AppForm<ResetForm>,
) -> Result<Response, HtmlError> {
    let tokens = ApiTokens::from_checkbox(form.revoke_api_tokens.is_some());
    match state.app.links().complete(&form.token, &form.password, tokens, &client).await {
        Ok(()) => Ok(Redirect::to("/login?notice=password-set").into_response()),
        Err(error) if error.code() == ErrorCode::NotFound => {
            Err(HtmlError::while_doing("use this link: it has expired or was already used", error))
        }
        Err(error) => {
            let invite = state.app.links().purpose(&form.token).await? == Some(LinkPurpose::Invite);
            let page = ResetPage {
                layout: Layout::new("Choose a password", &page),
                min_length: state.app.security_policy().password_min_length,
                token: form.token,
                invite,
                error: Some(FormError::new("set the password", &error)),
            };
            Ok(super::forms::keep_secret_out_of_referer(
                (crate::web::error::status_for(error.code()), page).into_response(),
            ))
        }
    }
}

/// The full URL of a freshly issued link: the configured public URL, else the host the admin
/// is using right now.
pub fn absolute_link(state: &AppState, host: Option<&str>, path: &str) -> String {
    let origin = match &state.config.server.public_url {
        Some(url) => url.origin().ascii_serialization(),
        None => format!("https://{}", host.unwrap_or("localhost")),
    };
    format!("{origin}{path}")
}
