//! Request limits: per user (session or API token) when signed in, else per client address;
//! settings changes have their own hourly budget. Limited responses carry `X-RateLimit-*`
//! headers; a refusal is 429 with `Retry-After` and E4001. Static files and health checks are
//! never limited.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::auth::SessionStage;
use crate::app::rate_limit::{LimitKey, LimitState};
use crate::error::ErrorCode;
use crate::web::AppState;
use crate::web::error::{ApiError, HtmlError};
use crate::web::extract::{ClientIp, CurrentApiScope, CurrentSession, PeerAddr};

fn is_exempt(path: &str) -> bool {
    path.starts_with("/static/") || path == "/health" || path == "/health/detailed"
}

fn set_headers(headers: &mut HeaderMap, state: &LimitState) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(state.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(state.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(state.reset_seconds));
}

fn refuse(state: &LimitState, api: bool) -> Response {
    let mut response = if api {
        ApiError::from(ErrorCode::TooManyRequests).into_response()
    } else {
        HtmlError::from(ErrorCode::TooManyRequests).into_response()
    };
    set_headers(response.headers_mut(), state);
    response.headers_mut().insert("retry-after", HeaderValue::from(state.reset_seconds.max(1)));
    response
}

pub async fn limit(State(app_state): State<AppState>, request: Request, next: Next) -> Response {
    let limiters = app_state.app.limiters();
    let path = request.uri().path();
    if !limiters.policy.enabled || is_exempt(path) {
        return next.run(request).await;
    }
    let api = path.starts_with("/api/");
    let settings_change = request.method() == Method::POST && path.starts_with("/settings/");
    let user = match (request.extensions().get::<CurrentSession>(), request.extensions().get::<CurrentApiScope>()) {
        (Some(CurrentSession(Some(session))), _) if session.stage == SessionStage::Full => Some(*session.scope.user()),
        (_, Some(CurrentApiScope(Some(scope)))) => Some(*scope.user()),
        _ => None,
    };
    let address = {
        let peer = request.extensions().get::<PeerAddr>().map_or(std::net::IpAddr::from([0, 0, 0, 0]), |p| p.0.ip());
        let server = &app_state.config.server;
        ClientIp::resolve(peer, request.headers(), &server.trusted_proxies, server.forwarded_header).0
    };
    // A portal client is counted by address too: many client accounts on one address (a
    // script trying ids) share one budget.
    let portal_client =
        matches!(request.extensions().get::<CurrentSession>(), Some(CurrentSession(Some(s))) if s.client.is_some());
    let counted = match user {
        Some(user) => {
            let minute = limiters.per_minute.check(LimitKey::User(user));
            let hour = if minute.allowed { limiters.per_hour.check(LimitKey::User(user)) } else { minute };
            let admin =
                if hour.allowed && settings_change { limiters.admin_changes.check(LimitKey::User(user)) } else { hour };
            let by_address = if admin.allowed && portal_client {
                limiters.per_minute.check(LimitKey::Address(address))
            } else {
                admin
            };
            [minute, hour, admin, by_address].into_iter().find(|s| !s.allowed).unwrap_or(minute)
        }
        None => limiters.unauthenticated.check(LimitKey::Address(address)),
    };
    if !counted.allowed {
        app_state.app.alerts().note_rate_limited();
        app_state.app.metrics().count("holdfast_rate_limited_total", &[]);
        return refuse(&counted, api);
    }
    let mut response = next.run(request).await;
    set_headers(response.headers_mut(), &counted);
    response
}
