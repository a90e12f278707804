//! `/settings/users`: invite, change role, disable/enable, issue reset links (admins).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::forms::{FormError, NoticeQuery, notice};
use super::layout::Layout;
use super::password::absolute_link;
use crate::app::auth::AuthSession;
use crate::app::auth::permissions::Action;
use crate::app::users::UserView;
use crate::domain::ids::UserId;
use crate::domain::role::Role;
use crate::error::ErrorCode;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{AppForm, Authenticated, Client, Page, request_host};

#[derive(Template, WebTemplate)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserView>,
    roles: [Role; 6],
    me: UserId,
    notice: Option<&'static str>,
    error: Option<FormError>,
    issued: Option<(String, String)>,
}

async fn render(
    state: &AppState,
    page: &Page,
    session: &AuthSession,
    fill: impl FnOnce(&mut UsersPage),
) -> Result<Response, HtmlError> {
    let users = state.app.users().list(&session.scope).await.map_err(|e| HtmlError::while_doing("list users", e))?;
    let mut view = UsersPage {
        layout: Layout::new("Users", page),
        users,
        roles: Role::ALL,
        me: *session.scope.user(),
        notice: None,
        error: None,
        issued: None,
    };
    fill(&mut view);
    let status = super::forms::form_status(view.error.is_some());
    Ok((status, view).into_response())
}

pub async fn list(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, HtmlError> {
    render(&state, &page, &session, |p| p.notice = notice(&query.notice)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteForm {
    email: String,
    name: String,
    role: String,
}

pub async fn invite(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    uri: Uri,
    headers: HeaderMap,
    AppForm(form): AppForm<InviteForm>,
) -> Result<Response, HtmlError> {
    session.scope.require(Action::ManageUsers).map_err(|e| HtmlError::while_doing("invite a user", e))?;
    let result = match Role::parse(&form.role) {
        Ok(role) => state.app.users().invite(&session.scope, &form.email, &form.name, role, &client).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(link) => {
            let url = absolute_link(&state, request_host(&uri, &headers), &link.path);
            send_invitation(&state, &form.email, &session.user_name, &link.path);
            let label = format!("Invitation for {} (valid 72 hours)", form.email.trim());
            render(&state, &page, &session, |p| p.issued = Some((label, url))).await
        }
        Err(e) if super::forms::is_refusal(&e) => Err(HtmlError::while_doing("invite a user", e)),
        Err(e) => render(&state, &page, &session, |p| p.error = Some(FormError::new("invite the user", &e))).await,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleForm {
    role: String,
}

fn parse_id(id: &str) -> Result<UserId, HtmlError> {
    id.parse().map_err(|_| HtmlError::from(ErrorCode::NotFound))
}

pub async fn change_role(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
    AppForm(form): AppForm<RoleForm>,
) -> Result<Response, HtmlError> {
    let role = Role::parse(&form.role).map_err(|e| HtmlError::while_doing("change the role", e))?;
    state
        .app
        .users()
        .change_role(&session.scope, parse_id(&id)?, role, &client)
        .await
        .map_err(|e| HtmlError::while_doing("change the role", e))?;
    Ok(Redirect::to("/settings/users?notice=role-changed").into_response())
}

pub async fn disable(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    set_disabled(state, session, client, id, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    set_disabled(state, session, client, id, false).await
}

async fn set_disabled(
    state: AppState,
    session: AuthSession,
    client: crate::app::auth::ClientInfo,
    id: String,
    disabled: bool,
) -> Result<Response, HtmlError> {
    let action = if disabled { "disable the user" } else { "enable the user" };
    state
        .app
        .users()
        .set_disabled(&session.scope, parse_id(&id)?, disabled, &client)
        .await
        .map_err(|e| HtmlError::while_doing(action, e))?;
    let notice = if disabled { "user-disabled" } else { "user-enabled" };
    Ok(Redirect::to(&format!("/settings/users?notice={notice}")).into_response())
}

pub async fn reset_link(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let link = state
        .app
        .users()
        .issue_reset_link(&session.scope, parse_id(&id)?, &client)
        .await
        .map_err(|e| HtmlError::while_doing("issue a reset link", e))?;
    let url = absolute_link(&state, request_host(&uri, &headers), &link.path);
    render(&state, &page, &session, |p| p.issued = Some(("Password reset link (valid 1 hour, single use)".into(), url)))
        .await
}

/// Emails the invitation too, when email and the public URL are configured.
fn send_invitation(state: &AppState, to: &str, inviter: &str, path: &str) {
    let (Some(url), Ok(to)) = (&state.config.server.public_url, crate::domain::email::EmailAddress::parse(to)) else {
        return;
    };
    let body = format!(
        "{inviter} invited you to Holdfast.\n\nTo choose your password and sign in, open this link within 72 hours:\n{}{path}\n",
        url.origin().ascii_serialization()
    );
    state.app.email().send_in_background(to, "You are invited to Holdfast", body);
}

pub async fn unlock(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    state
        .app
        .throttle()
        .unlock(&session.scope, parse_id(&id)?, &client)
        .await
        .map_err(|e| HtmlError::while_doing("unlock the user", e))?;
    Ok(Redirect::to("/settings/users?notice=user-unlocked").into_response())
}
