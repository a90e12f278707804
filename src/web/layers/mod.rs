//! The one tower stack every HTTPS request passes through, outermost first:
//!
//! 0. metrics: every answer counted and timed by route template (added in `web::router`)
//! 1. compression (gzip/brotli at their fastest level — a profile showed the default level
//!    costing a fifth of a list page's CPU for a few percent of size; bodies above 1 KiB only;
//!    never a stored file)
//! 2. request context: a fresh request id (echoed as `X-Request-Id`), a tracing span, the
//!    access log line (path without query string: tokens never reach the log)
//! 3. security headers: a fresh CSP nonce per response, HSTS, nosniff, referrer, COOP/CORP/COEP,
//!    `Cache-Control: no-store` unless a handler chose otherwise
//! 4. error pages: turns every error response into the coded HTML page or problem+json, and
//!    logs internal detail once
//! 5. catch-panic: a panicking handler becomes a coded 500. It sits *inside* 3 and 4 so even
//!    that page carries the security headers and the request id.
//! 6. timeout (30 s, 15 min for uploads → 408, E4003)
//! 7. body limit (1 MiB; 5 MiB + form overhead for the CSV upload routes; the largest upload cap
//!    + form overhead for attachments → 413, E4002)
//! 8. CORS: only `/api/`, only allow-listed origins, never credentials
//! 9. session: resolves the session cookie (or bearer token) once; binds CSRF tokens
//! 10. rate limit: per user when signed in, else per client address
//! 11. CSRF: every state-changing request needs a bound token
//!
//! (0 and 8–11 need the application state and are added in `web::router`.)

pub mod cors;
pub mod csrf;
mod error_pages;
pub mod metrics;
pub mod rate_limit;
mod request_context;
mod security_headers;
pub mod session;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};

use super::error::{ErrorFormat, ErrorReport};
use crate::error::ErrorCode;

pub use security_headers::{HeaderPolicy, SandboxedFile};

/// Largest request body accepted anywhere but the upload routes.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;
/// Largest body of an upload route: a 5 MiB file plus the multipart form around it.
pub const UPLOAD_BODY_LIMIT_BYTES: usize = 5 * 1024 * 1024 + 64 * 1024;

/// Largest body of a file attachment: the largest cap an owner can set plus the form around it.
pub const FILE_BODY_LIMIT_BYTES: usize = crate::app::policy::UPLOAD_MAX_MIB as usize * 1024 * 1024 + 64 * 1024;

/// The extractor limit of an attachment route: the largest cap an owner can set, plus the form
/// around it (the intake enforces the cap in force).
pub fn file_body_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(FILE_BODY_LIMIT_BYTES)
}

/// How large a body a route that takes a file (multipart) may carry, or `None` for every
/// other route: the CSV imports, attachments (`[/api/v1]/{resource}/{id}/files`), a client's
/// answer to a request and a document shared through the API.
pub fn upload_limit(method: &axum::http::Method, path: &str) -> Option<usize> {
    if method != axum::http::Method::POST {
        return None;
    }
    if matches!(path, "/contacts/import" | "/companies/import") {
        return Some(UPLOAD_BODY_LIMIT_BYTES);
    }
    if path == "/settings/portal/logo" {
        return Some(FILE_BODY_LIMIT_BYTES);
    }
    let parts: Vec<&str> = path.strip_prefix("/api/v1").unwrap_or(path).split('/').collect();
    let attaches = matches!(
        parts.as_slice(),
        ["", "contacts" | "companies" | "deals" | "notes", _, "files"]
            | ["", "portal", "requests", _]
            | ["", "companies", _, "portal", "documents"]
    );
    attaches.then_some(FILE_BODY_LIMIT_BYTES)
}

/// Refuses a declared length over the route's limit at once and caps what is read otherwise.
async fn limit_body(request: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    let (method, path) = (request.method(), request.uri().path());
    let limit = upload_limit(method, path).unwrap_or(BODY_LIMIT_BYTES);
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(axum::extract::Request::from_parts(parts, body)).await
}
/// Longest a request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest an upload may take (a 100 MiB file over a slow office line).
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Answers 408 past the route's time limit: [`REQUEST_TIMEOUT`], or [`UPLOAD_TIMEOUT`] for the
/// routes that take a file.
async fn time_limit(request: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    let limit =
        if upload_limit(request.method(), request.uri().path()).is_some() { UPLOAD_TIMEOUT } else { REQUEST_TIMEOUT };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// Wraps `routes` in the stack above. `Router::layer` wraps outside what is already there, so
/// the calls below go from innermost to outermost.
pub fn apply(routes: Router, policy: HeaderPolicy) -> Router {
    routes
        .layer(middleware::from_fn(limit_body))
        .layer(middleware::from_fn(time_limit))
        .layer(CatchPanicLayer::custom(|_panic: Box<dyn std::any::Any + Send>| panic_response()))
        .layer(middleware::from_fn(error_pages::render))
        .layer(middleware::from_fn_with_state(policy, security_headers::apply))
        .layer(middleware::from_fn(request_context::track))
        .layer(
            CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Fastest)
                // Stored files go out as they are: compressing them would drop their length
                // and ranges (and most are compressed already).
                .compress_when(DefaultPredicate::new().and(SizeAbove::new(1024)).and(
                    |_: axum::http::StatusCode,
                     _: axum::http::Version,
                     _: &axum::http::HeaderMap,
                     extensions: &axum::http::Extensions| {
                        extensions.get::<SandboxedFile>().is_none()
                    },
                )),
        )
}

fn panic_response() -> axum::response::Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    let mut report = ErrorReport::for_status(StatusCode::INTERNAL_SERVER_ERROR, ErrorFormat::Html);
    report.code = ErrorCode::Internal;
    report.detail = Some("a handler panicked (see the panic log line)".into());
    response.extensions_mut().insert(report);
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_coded_page_with_security_headers() {
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let router = apply(Router::new().route("/boom", get(boom)), HeaderPolicy { hsts: true });
        let response = router.oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().contains_key("content-security-policy"));
        assert!(response.headers().contains_key("strict-transport-security"));
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("E3000") && body.contains(&id) && !body.contains("boom"), "{body}");
    }
}
