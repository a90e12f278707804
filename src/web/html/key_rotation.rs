//! `/settings/keys`: the field-encryption keys and rotation (owners of the home workspace
//! start it with a fresh second factor; it runs in the background, progress shown here).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::forms::{NoticeQuery, notice};
use super::layout::Layout;
use crate::app::auth::AuthSession;
use crate::app::auth::permissions::Action;
use crate::app::key_rotation::KeyStatus;
use crate::domain::role::Role;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client, Page};

#[derive(Template, WebTemplate)]
#[template(path = "settings_keys.html")]
pub struct KeysPage {
    layout: Layout,
    status: KeyStatus,
    may_rotate: bool,
    notice: Option<&'static str>,
}

fn require_operator(session: &AuthSession) -> Result<(), HtmlError> {
    session
        .scope
        .require(Action::ManageSettings)
        .and_then(|()| session.scope.require_server_operator())
        .map_err(|e| HtmlError::while_doing("open the encryption keys", e))
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, HtmlError> {
    require_operator(&session)?;
    let view = KeysPage {
        layout: Layout::new("Encryption keys", &page),
        status: state.app.keys().status().await?,
        may_rotate: session.scope.role() == Role::Owner,
        notice: notice(&query.notice),
    };
    Ok(view.into_response())
}

pub async fn rotate(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
) -> Result<Response, HtmlError> {
    require_operator(&session)?;
    state
        .app
        .keys()
        .begin_rotation(Some(&session.scope), &client)
        .await
        .map_err(|e| HtmlError::while_doing("rotate the encryption key", e))?;
    state.app.keys().spawn_rotation();
    Ok(Redirect::to("/settings/keys?notice=rotation-started").into_response())
}
