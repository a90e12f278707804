//! `/settings/portal`: the firm's logo on its client portal, and the request templates staff
//! send from a company's portal page (owners and admins change them).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::forms::{FormError, NoticeQuery, form_status, notice};
use super::layout::Layout;
use crate::app::auth::AuthSession;
use crate::app::auth::permissions::Action;
use crate::app::portal::RequestTemplate;
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::download::serve;
use crate::web::error::{ApiError, HtmlError};
use crate::web::extract::{AppForm, Authenticated, Client, Page};

#[derive(Template, WebTemplate)]
#[template(path = "settings_portal.html")]
struct PortalSettingsPage {
    layout: Layout,
    logo: bool,
    templates: Vec<RequestTemplate>,
    notice: Option<&'static str>,
    error: Option<FormError>,
}

async fn render(
    state: &AppState,
    page: &Page,
    session: &AuthSession,
    notice: Option<&'static str>,
    error: Option<FormError>,
) -> Result<Response, HtmlError> {
    session.scope.require(Action::ManageSettings)?;
    let page = PortalSettingsPage {
        layout: Layout::new("Client portal", page),
        logo: state.app.portal().has_logo(&session.scope)?,
        templates: state.app.portal().templates(&session.scope).await?,
        notice,
        error,
    };
    let status = form_status(page.error.is_some());
    Ok((status, page).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, HtmlError> {
    render(&state, &page, &session, notice(&query.notice), None).await
}

/// Back to the page with a notice, or the page again with the refusal.
async fn settle(
    state: &AppState,
    page: &Page,
    session: &AuthSession,
    action: &'static str,
    result: Result<&'static str, AppError>,
) -> Result<Response, HtmlError> {
    match result {
        Ok(key) => Ok(Redirect::to(&format!("/settings/portal?notice={key}")).into_response()),
        Err(e) if super::forms::is_refusal(&e) => Err(HtmlError::while_doing(action, e)),
        Err(e) => render(state, page, session, None, Some(FormError::new(action, &e))).await,
    }
}

/// Takes the form's `file` part into the logo pipeline.
async fn take_logo(
    state: &AppState,
    session: &AuthSession,
    info: &crate::app::auth::ClientInfo,
    mut form: Multipart,
) -> Result<(), AppError> {
    while let Some(mut field) = form.next_field().await.map_err(crate::web::upload::unreadable)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = match field.file_name() {
            Some("") | None => break,
            Some(name) => name.to_owned(),
        };
        let mut intake = state.app.portal().logo_intake(&session.scope, &name).await?;
        while let Some(chunk) = field.chunk().await.map_err(crate::web::upload::unreadable)? {
            intake.push(&chunk).await?;
        }
        return intake.commit(info).await.map(|_| ());
    }
    Err(AppError::field(ErrorCode::Required, "file"))
}

pub async fn upload_logo(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(info): Client,
    form: Multipart,
) -> Result<Response, HtmlError> {
    let result = take_logo(&state, &session, &info, form).await;
    settle(&state, &page, &session, "set the logo", result.map(|()| "logo-saved")).await
}

pub async fn remove_logo(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(info): Client,
) -> Result<Response, HtmlError> {
    let result = state.app.portal().remove_logo(&session.scope, &info).await;
    settle(&state, &page, &session, "remove the logo", result.map(|()| "logo-removed")).await
}

/// The logo as the firm sees it (the settings page's preview).
pub async fn logo(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(state.app.portal().logo(&session.scope)?, &headers).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateForm {
    name: String,
    /// One item a line.
    items: String,
}

pub async fn add_template(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(info): Client,
    AppForm(form): AppForm<TemplateForm>,
) -> Result<Response, HtmlError> {
    let lines: Vec<String> = form.items.lines().map(str::to_owned).collect();
    let result = state.app.portal().add_template(&session.scope, &form.name, &lines, &info).await;
    settle(&state, &page, &session, "save the template", result.map(|()| "template-saved")).await
}

pub async fn delete_template(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(info): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let id = id.parse().map_err(|_| HtmlError::from(ErrorCode::NotFound))?;
    let result = state.app.portal().delete_template(&session.scope, id, &info).await;
    settle(&state, &page, &session, "delete the template", result.map(|()| "template-deleted")).await
}
