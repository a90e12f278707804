//! Resolves the session cookie once per request and decides what CSRF tokens bind to: the
//! session when signed in, else a pre-session cookie (set here on first visit).

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::auth::csrf::CsrfBinding;
use crate::app::auth::{SessionStage, SessionToken};
use crate::web::AppState;
use crate::web::cookies;
use crate::web::extract::{CsrfContext, CurrentApiScope, CurrentSession};
use crate::web::html::layout::{NavUser, SignedInNav};

/// Paths that never need a session (and must stay cheap).
fn is_public_asset(path: &str) -> bool {
    path.starts_with("/static/") || path == "/health"
}

fn valid_pre_session(value: &str) -> bool {
    value.len() == 43 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The answer when the session or token can't be looked up: the coded error, as JSON for the
/// API and as a page elsewhere.
fn unavailable(path: &str, error: crate::error::AppError) -> Response {
    tracing::error!(code = %error.code(), detail = error.detail().unwrap_or(""), "session or token lookup failed");
    if path.starts_with("/api/") {
        crate::web::error::ApiError::from(error).into_response()
    } else {
        crate::web::error::HtmlError::from(error).into_response()
    }
}

pub async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if request.method() == axum::http::Method::GET && is_public_asset(request.uri().path()) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let token = cookies::get(headers, cookies::SESSION).and_then(SessionToken::from_cookie);
    let had_cookie = cookies::get(headers, cookies::SESSION).is_some();
    let pre_session = cookies::get(headers, cookies::PRE_SESSION).filter(|v| valid_pre_session(v)).map(str::to_owned);
    // A lookup that fails (the store reopening after a full disk) answers E3001: it never
    // counts as signed out, so no cookie is cleared and no token refused for it.
    let session = match &token {
        Some(token) => match state.app.sessions().resolve(token).await {
            Ok(found) => found,
            Err(e) => return unavailable(request.uri().path(), e),
        },
        None => None,
    };
    let new_pre_session = (session.is_none() && pre_session.is_none()).then(crate::app::auth::csrf::new_pre_session_id);
    let binding = match (&session, pre_session.or_else(|| new_pre_session.clone())) {
        (Some(session), _) => session.csrf_binding(),
        (None, Some(id)) => CsrfBinding::PreSession(id),
        (None, None) => unreachable!("a pre-session id is created when there is none"),
    };
    let stale_cookie = had_cookie && session.is_none();
    if let Some(token) = crate::web::extract::bearer_token(request.headers()).map(str::to_owned) {
        let scope = match state.app.tokens().resolve(&token).await {
            Ok(scope) => scope,
            Err(e) => return unavailable(request.uri().path(), e),
        };
        request.extensions_mut().insert(CurrentApiScope(scope));
    }
    // Kept for an error page's navigation: only for a signed-in user, whose binding is a hash.
    let nav = session.as_ref().filter(|s| s.stage == SessionStage::Full).map(|s| (NavUser::of(s), binding.clone()));
    let keeper = (request.method() == axum::http::Method::GET)
        .then(|| crate::web::offline::keeper(request.uri().path(), session.as_ref()))
        .flatten();
    request.extensions_mut().insert(CurrentSession(session));
    request.extensions_mut().insert(CsrfContext(binding));
    let mut response = next.run(request).await;
    if let Some(user) = keeper {
        crate::web::offline::mark(&mut response, user);
    }
    if let Some((user, binding)) = nav
        && (response.status().is_client_error() || response.status().is_server_error())
    {
        let csrf = state.app.csrf_key().token(&binding);
        response.extensions_mut().insert(SignedInNav { user, csrf });
    }
    let sets_session = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(cookies::SESSION.as_bytes()));
    if let Some(id) = new_pre_session {
        response.headers_mut().append(header::SET_COOKIE, cookies::set(cookies::PRE_SESSION, &id));
    }
    if stale_cookie && !sets_session {
        response.headers_mut().append(header::SET_COOKIE, cookies::clear(cookies::SESSION));
    }
    response
}
