//! Offline reading in the browser: the service worker's script (`/sw.js`), the page it shows for
//! a page it did not keep (`/offline`), the headers that let it keep a page, and the
//! workspace's setting (`/settings/offline`). The worker itself is `static/sw.js`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::app::auth::permissions::Action;
use crate::app::auth::{AuthSession, SessionStage};
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{AppForm, Authenticated, Client, Page};
use crate::web::html::forms::{NoticeQuery, notice};
use crate::web::html::layout::Layout;

/// The worker's script, from its own origin and scope (`worker-src 'self'`).
pub async fn worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        include_str!("../../static/sw.js"),
    )
        .into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "offline.html")]
struct OfflinePage {
    layout: Layout,
}

/// What the worker shows, offline, for a page it did not keep (it fetches this page while
/// online, so its styles, script and policy are the server's).
pub async fn page(page: Page) -> Response {
    OfflinePage { layout: Layout::bare("Offline", &page.nonce) }.into_response()
}

/// Whose keepable page a GET of `path` would be: the hash of a member's user id (the worker
/// drops another user's pages before keeping this one's), when the page may be kept at all —
/// a reading page, of a fully signed-in member, in a workspace with offline reading on.
pub fn keeper(path: &str, session: Option<&AuthSession>) -> Option<HeaderValue> {
    let session = session.filter(|s| s.stage == SessionStage::Full && s.client.is_none() && s.offline_reading)?;
    if !crate::app::offline::keepable(path) {
        return None;
    }
    HeaderValue::from_str(&hex::encode(&Sha256::digest(session.scope.user().as_bytes())[..16])).ok()
}

/// Marks a successful HTML answer so the worker keeps an encrypted copy of it:
/// `x-holdfast-offline: 1` and `x-holdfast-user` (from [`keeper`]).
pub fn mark(response: &mut Response, user: HeaderValue) {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html || !response.status().is_success() {
        return;
    }
    let headers = response.headers_mut();
    headers.insert("x-holdfast-offline", HeaderValue::from_static("1"));
    headers.insert("x-holdfast-user", user);
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_offline.html")]
struct SettingsPage {
    layout: Layout,
    enabled: bool,
    notice: Option<&'static str>,
}

pub async fn settings(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, HtmlError> {
    session.scope.require(Action::ManageSettings)?;
    let enabled = state.app.offline().enabled(&session.scope)?;
    Ok(SettingsPage { layout: Layout::new("Offline reading", &page), enabled, notice: notice(&query.notice) }
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsForm {
    #[serde(default)]
    offline_reading: Option<String>,
}

pub async fn save(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    AppForm(form): AppForm<SettingsForm>,
) -> Result<Response, HtmlError> {
    let on = form.offline_reading.is_some();
    state
        .app
        .offline()
        .set(&session.scope, on, &client)
        .await
        .map_err(|e| HtmlError::while_doing("save the offline setting", e))?;
    Ok(Redirect::to("/settings/offline?notice=offline-saved").into_response())
}
