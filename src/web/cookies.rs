//! Cookie names and attributes. Every cookie is `__Host-` prefixed: Secure, `Path=/`, no
//! `Domain`, so no sibling host can set or read it.

use axum::http::{HeaderMap, HeaderValue, header};

/// The session cookie of CONTRACT.md.
pub const SESSION: &str = "__Host-holdfast_session";
/// Binds CSRF tokens of forms shown before sign-in (login, setup, password reset).
pub const PRE_SESSION: &str = "__Host-holdfast_pre";

/// The value of cookie `name` in the request, if any.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

/// Every cookie we set: HTTPS only, out of scripts' reach, not sent on cross-site subrequests.
fn cookie(name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let max_age = max_age.map(|seconds| format!("; Max-Age={seconds}")).unwrap_or_default();
    HeaderValue::from_str(&format!("{name}={value}; Secure; HttpOnly; SameSite=Lax; Path=/{max_age}"))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A session-lifetime cookie (no `Max-Age`: the server decides when it ends).
pub fn set(name: &str, value: &str) -> HeaderValue {
    cookie(name, value, None)
}

/// The cookie a browser keeps after signing in, vouching for that account on this device.
pub const DEVICE: &str = "__Host-holdfast_device";

/// A cookie kept across browser restarts for `days`.
pub fn set_lasting(name: &str, value: &str, days: u32) -> HeaderValue {
    cookie(name, value, Some(u64::from(days) * 86_400))
}

/// Deletes a cookie in the browser.
pub fn clear(name: &str) -> HeaderValue {
    cookie(name, "", Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; __Host-holdfast_session=xyz; b=2"));
        assert_eq!(get(&headers, SESSION), Some("xyz"));
        assert_eq!(get(&headers, "c"), None);
        assert_eq!(
            set(SESSION, "v").to_str().unwrap(),
            "__Host-holdfast_session=v; Secure; HttpOnly; SameSite=Lax; Path=/"
        );
    }
}
