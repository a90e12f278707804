//! Extractors: values the layers put on the request (nonce, request id, client address).

mod auth;
mod client_ip;
mod request_values;

pub use auth::{
    AnySession, ApiScope, AppForm, Authenticated, Caller, Client, CsrfContext, CurrentApiScope, CurrentSession, Page,
    PortalClient, SignInRedirect,
};
pub use client_ip::{ClientIp, PeerAddr};
pub use request_values::{CspNonce, RequestId};

/// The token of an `Authorization: Bearer …` header, trimmed (the API's only credential).
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::trim)
}

/// The host the client addressed: the HTTP/2 `:authority` or the HTTP/1.1 `Host` header.
pub fn request_host<'a>(uri: &'a axum::http::Uri, headers: &'a axum::http::HeaderMap) -> Option<&'a str> {
    uri.authority().map(|a| a.as_str()).or_else(|| headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()))
}
