//! Renders error responses: the friendly coded page for browsers, problem+json for the API.
//! Internal detail is logged here, once, inside the request's span (so with its request id).

use askama::Template;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ErrorCode;

use crate::web::error::{ErrorFormat, ErrorReport};
use crate::web::extract::{CspNonce, RequestId};
use crate::web::html::layout::{Layout, SignedInNav};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    heading: String,
    /// What went wrong, when the heading names the action instead (never the same words twice).
    message: Option<&'a str>,
    code: &'a str,
    request_id: &'a str,
}

pub async fn render(request: Request, next: Next) -> Response {
    let nonce = request.extensions().get::<CspNonce>().cloned().unwrap_or_else(CspNonce::generate);
    let request_id = request.extensions().get::<RequestId>().cloned().unwrap_or_else(RequestId::generate);
    let api = request.uri().path().starts_with("/api/");
    let came_from = referer_path(request.headers());
    let response = next.run(request).await;
    let status = response.status();
    let report = match response.extensions().get::<ErrorReport>() {
        Some(report) => report.clone(),
        None if (status.is_client_error() || status.is_server_error()) && !has_rendered_body(&response) => {
            ErrorReport::for_status(status, if api { ErrorFormat::Problem } else { ErrorFormat::Html })
        }
        None => return response,
    };
    let mut report = report;
    if api {
        report.format = ErrorFormat::Problem;
    }
    if report.code == ErrorCode::StepUpRequired && report.format == ErrorFormat::Html {
        // Confirm the second factor, then return to the page the action was started from.
        let next: String = form_urlencoded::byte_serialize(came_from.as_bytes()).collect();
        return Redirect::to(&format!("/account/confirm?next={next}")).into_response();
    }
    log(&report, status.as_u16());
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = match report.format {
        ErrorFormat::Html => {
            let (heading, message) = match report.action {
                Some(action) => (
                    format!("Unable to {action} ({})", report.code),
                    Some(report.hint.as_deref().unwrap_or(report.code.message())),
                ),
                None => (format!("{} ({})", report.code.message().trim_end_matches('.'), report.code), None),
            };
            let page = ErrorPage {
                layout: Layout::bare("Error", &nonce).with_nav(parts.extensions.get::<SignedInNav>()),
                heading,
                message,
                code: report.code.as_str(),
                request_id: request_id.as_str(),
            };
            parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            page.render().unwrap_or_else(|_| format!("{} ({})", report.code.message(), report.code))
        }
        ErrorFormat::Problem => {
            parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
            let mut problem = serde_json::json!({
                "type": "about:blank",
                "title": report.code.message(),
                "status": status.as_u16(),
                "code": report.code.as_str(),
                "field": report.field,
                "request_id": request_id.as_str(),
            });
            if let Some(hint) = &report.hint {
                problem["detail"] = hint.as_str().into();
            }
            problem.to_string()
        }
    };
    Response::from_parts(parts, Body::from(body))
}

/// The path of a same-origin `Referer`, else `/account`.
fn referer_path(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .map(|u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        })
        .map(|p| crate::web::html::safe_next(&p).to_owned())
        .unwrap_or_else(|| "/account".to_owned())
}

/// Our own pages and JSON already explain themselves (e.g. a form re-rendered with 422).
fn has_rendered_body(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        ct.starts_with("text/html") || ct.starts_with("application/json") || ct.starts_with("application/problem+json")
    })
}

fn log(report: &ErrorReport, status: u16) {
    let code = report.code.as_str();
    match (&report.detail, status >= 500) {
        (Some(detail), true) => tracing::error!(code, status, detail = %detail, "request failed"),
        (Some(detail), false) => tracing::warn!(code, status, detail = %detail, "request refused"),
        (None, _) => tracing::info!(code, status, "request refused"),
    }
}
