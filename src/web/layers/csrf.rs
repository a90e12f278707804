//! CSRF defence for every state-changing request (every method but GET/HEAD/OPTIONS):
//! refuse cross-site fetch metadata and foreign origins, then require a token bound to the
//! session (or pre-session) in `X-CSRF-Token` or the form field `csrf_token` (urlencoded or,
//! on upload routes, multipart). A urlencoded form's field is removed before the handler sees
//! it. Bearer-token API calls are exempt.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::error::ErrorCode;
use crate::web::AppState;
use crate::web::error::{ApiError, HtmlError};
use crate::web::extract::{CsrfContext, request_host};
use crate::web::layers::BODY_LIMIT_BYTES;

/// The form field and header that carry the token.
pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

fn refuse(api: bool, why: &str) -> Response {
    tracing::warn!(reason = why, "CSRF check refused a request");
    if api {
        ApiError::from(ErrorCode::FormExpired).into_response()
    } else {
        HtmlError::from(ErrorCode::FormExpired).into_response()
    }
}

/// The browser's own word on where a request came from, checked before any token (the table
/// in docs/security.md, "Cross-site request forgery"):
/// - `Sec-Fetch-Site` other than `same-origin` or `none` (user-initiated) is refused;
/// - an `Origin` naming another site is refused, whatever else is sent;
/// - `Origin: null` (an opaque origin: sandboxed frames, `data:` pages, and privacy referrer
///   policies) passes only when fetch metadata vouches for it with `same-origin`;
/// - a browser that sends neither header goes on to the token check alone.
fn origin_is_ours(headers: &HeaderMap, host: Option<&str>, state: &AppState) -> Result<(), &'static str> {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|site| !matches!(site, "same-origin" | "none")) {
        return Err("cross-site fetch metadata");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    if origin == "null" {
        return if site == Some("same-origin") {
            Ok(())
        } else {
            Err("opaque origin without same-origin fetch metadata")
        };
    }
    let public = state.config.server.public_url.as_ref().map(|url| url.origin().ascii_serialization());
    let addressed = host.map(|host| format!("https://{host}"));
    if Some(origin) == public.as_deref() || Some(origin) == addressed.as_deref() {
        Ok(())
    } else {
        Err("foreign origin")
    }
}

pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let api = request.uri().path().starts_with("/api/");
    match check_headers(&request, &state) {
        Verdict::Exempt | Verdict::Valid => return next.run(request).await,
        Verdict::Refused(why) => return refuse(api, why),
        Verdict::NeedsFormToken => {}
        Verdict::NeedsMultipartToken => return protect_multipart(&state, request, next).await,
    }
    let Some(CsrfContext(binding)) = request.extensions().get::<CsrfContext>().cloned() else {
        return refuse(api, "no CSRF context");
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT_BYTES).await else {
        return HtmlError::from(ErrorCode::RequestTooLarge).into_response();
    };
    let (token, rest) = take_token(&bytes);
    match token {
        Some(token) if state.app.csrf_key().verify(&binding, &token) => {
            next.run(Request::from_parts(parts, Body::from(rest))).await
        }
        _ => refuse(api, "bad form token"),
    }
}

enum Verdict {
    /// A bearer-token API call: the API authenticates by that header alone (never by a
    /// cookie), and a cross-site page can't send it without passing CORS.
    Exempt,
    /// A valid `X-CSRF-Token` header.
    Valid,
    /// The token must come from the urlencoded body.
    NeedsFormToken,
    /// The token must come from a multipart body (upload routes only).
    NeedsMultipartToken,
    Refused(&'static str),
}

fn check_headers(request: &Request, state: &AppState) -> Verdict {
    let headers = request.headers();
    if crate::web::extract::bearer_token(headers).is_some() && request.uri().path().starts_with("/api/") {
        return Verdict::Exempt;
    }
    if let Err(why) = origin_is_ours(headers, request_host(request.uri(), headers), state) {
        return Verdict::Refused(why);
    }
    let Some(CsrfContext(binding)) = request.extensions().get::<CsrfContext>() else {
        return Verdict::Refused("no CSRF context");
    };
    if let Some(token) = headers.get(HEADER).and_then(|v| v.to_str().ok()) {
        return if state.app.csrf_key().verify(binding, token) {
            Verdict::Valid
        } else {
            Verdict::Refused("bad header token")
        };
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    if is_form {
        Verdict::NeedsFormToken
    } else if is_multipart && crate::web::layers::upload_limit(request.method(), request.uri().path()).is_some() {
        Verdict::NeedsMultipartToken
    } else {
        Verdict::Refused("no token")
    }
}

/// Where a form's hidden token must sit in an upload: first, within this many bytes (forms put
/// it before the file).
const TOKEN_PART_BYTES: usize = 64 * 1024;

/// Reads an upload only as far as its first part, which must be a valid `csrf_token`, then
/// passes the body on whole (the bytes read, then the rest as it arrives): a file is checked
/// before any of it is taken, and never held in memory here.
async fn protect_multipart(state: &AppState, request: Request, next: Next) -> Response {
    let Some(CsrfContext(binding)) = request.extensions().get::<CsrfContext>().cloned() else {
        return refuse(false, "no CSRF context");
    };
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok());
    let Some(boundary) = boundary.filter(|b| b.len() <= 200) else {
        return refuse(false, "multipart without a usable boundary");
    };
    let closing = format!("\r\n--{boundary}");
    let (parts, mut body) = request.into_parts();
    let mut read = Vec::new();
    // Read until the first part's end has arrived, looking only at the new bytes each time (a
    // body sent a byte at a time costs no more than one sent whole), at most 64 KiB.
    let complete = loop {
        match body.frame().await {
            Some(Ok(frame)) if read.len() < TOKEN_PART_BYTES => {
                let Ok(data) = frame.into_data() else { continue };
                let searched = read.len().saturating_sub(closing.len() - 1);
                read.extend_from_slice(&data);
                if read[searched..].windows(closing.len()).any(|w| w == closing.as_bytes()) {
                    break true;
                }
            }
            _ => break false,
        }
    };
    let read = axum::body::Bytes::from(read);
    let token = if complete { first_part_token(read.clone(), &boundary).await } else { None };
    match token {
        Some(token) if state.app.csrf_key().verify(&binding, &token) => {
            let body = Body::new(Replayed { read: Some(read), rest: body });
            next.run(Request::from_parts(parts, body)).await
        }
        _ => refuse(false, "bad form token"),
    }
}

/// The value of the first part of a multipart body (wholly in `read`), if it is the
/// `csrf_token` field.
async fn first_part_token(read: axum::body::Bytes, boundary: &str) -> Option<String> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(read) });
    let mut form = multer::Multipart::new(stream, boundary);
    let field = form.next_field().await.ok()??;
    if field.name() != Some(FIELD) {
        return Some(String::new());
    }
    field.text().await.ok()
}

/// A body whose first bytes were already read: those, then the rest.
struct Replayed {
    read: Option<axum::body::Bytes>,
    rest: Body,
}

impl hyper::body::Body for Replayed {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        match self.read.take() {
            Some(read) => std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(read)))),
            None => std::pin::Pin::new(&mut self.rest).poll_frame(cx),
        }
    }
}

/// Splits the `csrf_token` field off a urlencoded body.
fn take_token(body: &[u8]) -> (Option<String>, String) {
    let mut token = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(body) {
        if name == FIELD {
            token.get_or_insert_with(|| value.into_owned());
        } else {
            rest.append_pair(&name, &value);
        }
    }
    (token, rest.finish())
}
