//! Security headers on every response, with a fresh CSP nonce that templates put on scripts.

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::web::extract::CspNonce;

/// What varies between listeners.
#[derive(Debug, Clone, Copy)]
pub struct HeaderPolicy {
    /// Send HSTS (HTTPS, or plain HTTP behind a TLS-terminating proxy).
    pub hsts: bool,
}

/// The CSP for a response with this nonce.
pub fn content_security_policy(nonce: &CspNonce) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}' 'strict-dynamic'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self'; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; \
         base-uri 'none'; object-src 'none'"
    )
}

/// Marks a response carrying a stored file rather than a page: it gets a CSP that runs
/// nothing and loads nothing, even when opened directly.
#[derive(Debug, Clone, Copy)]
pub struct SandboxedFile;

const FILE_CSP: &str = "sandbox; default-src 'none'";

const FIXED: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("cross-origin-embedder-policy", "require-corp"),
    (
        "permissions-policy",
        "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), \
         magnetometer=(), microphone=(), midi=(), payment=(), usb=(), xr-spatial-tracking=()",
    ),
];

/// Handlers may choose their own value for these (e.g. `same-origin` on pages with a secret).
const DEFAULTS: &[(HeaderName, &str)] =
    &[(header::REFERRER_POLICY, "strict-origin-when-cross-origin"), (header::CACHE_CONTROL, "no-store")];

pub async fn apply(State(policy): State<HeaderPolicy>, mut request: Request, next: Next) -> Response {
    let nonce = CspNonce::generate();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let csp = if response.extensions().get::<SandboxedFile>().is_some() {
        Ok(HeaderValue::from_static(FILE_CSP))
    } else {
        HeaderValue::from_str(&content_security_policy(&nonce))
    };
    let headers = response.headers_mut();
    if let Ok(csp) = csp {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    for (name, value) in FIXED {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    for (name, value) in DEFAULTS {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    if policy.hsts {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    }
    headers.remove(header::SERVER);
    headers.remove("x-powered-by");
    response
}
