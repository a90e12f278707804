//! The plain-HTTP listener: GET/HEAD navigation gets a permanent redirect to HTTPS; anything
//! else is refused rather than silently re-sent (a form posted over HTTP has already leaked).
//! `/health` answers directly so load balancers can probe it.

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// Where to send people: the public URL's origin if configured, else the request's host on the
/// HTTPS port — when the certificate names that host. Any other `Host` header goes to the
/// certificate's first name, so nobody can make us redirect to a site of their choosing.
#[derive(Clone, Debug)]
pub struct RedirectTarget {
    pub public_origin: Option<String>,
    pub https_port: u16,
    /// The certificate in use (its names are read per request: it may be replaced).
    pub certificate: Option<std::sync::Arc<crate::tls::CertManager>>,
}

impl RedirectTarget {
    /// `host` if the certificate covers it, else the certificate's first plain name.
    fn vouched_host(&self, host: Option<&str>) -> String {
        let names = self.certificate.as_ref().map(|c| c.info().names).unwrap_or_default();
        if let Some(host) = host
            && names.iter().any(|name| name_covers(name, host))
        {
            return host.to_owned();
        }
        let first = names.into_iter().find(|name| !name.starts_with('*') && is_plain_host(name));
        first.unwrap_or_else(|| "localhost".to_owned())
    }
}

/// Whether a certificate name (`crm.example.com`, `*.example.com`, an IP) covers `host`.
fn name_covers(name: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match name.strip_prefix("*.") {
        Some(parent) => host.split_once('.').is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(parent)),
        None => name.eq_ignore_ascii_case(host),
    }
}

pub fn router(target: RedirectTarget) -> Router {
    Router::new()
        .route("/health", get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }))
        .route("/.well-known/acme-challenge/{token}", get(acme_challenge))
        .fallback(redirect)
        .with_state(target)
}

/// HTTP-01: the key authorization for a token while the CA validates it (RFC 8555 §8.3).
async fn acme_challenge(State(target): State<RedirectTarget>, Path(token): Path<String>) -> Response {
    match target.certificate.as_ref().and_then(|c| c.challenges().http01(&token)) {
        Some(answer) => ([(header::CONTENT_TYPE, "application/octet-stream")], answer).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn redirect(State(target): State<RedirectTarget>, request: Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = (StatusCode::BAD_REQUEST, "Use HTTPS (E2004)\n").into_response();
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    let origin = target.public_origin.clone().unwrap_or_else(|| {
        let asked = crate::web::extract::request_host(request.uri(), request.headers())
            .map(host_without_port)
            .filter(|h| is_plain_host(h));
        let host = target.vouched_host(asked);
        let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host };
        match target.https_port {
            443 => format!("https://{host}"),
            port => format!("https://{host}:{port}"),
        }
    });
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    Redirect::permanent(&format!("{origin}{path}")).into_response()
}

fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// Letters, digits, dots, dashes and bracketed IPv6: nothing that could bend the URL.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'))
}
