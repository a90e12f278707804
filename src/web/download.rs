//! `GET /files/{id}/download?expires=…&sig=…`: a signed link's file, for the user it was
//! signed for (session or bearer token), with `Range` support for audio players. The bytes
//! asked for are authenticated before the answer starts, so a damaged file answers a coded
//! error; the response can't be rendered as a page (`sandbox` CSP, `nosniff`).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::app::files::Download;
use crate::error::ErrorCode;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::{Caller, Client};
use crate::web::layers::SandboxedFile;

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    pub expires: i64,
    pub sig: String,
}

/// What a `Range` header asks of a file of `size` bytes (RFC 9110 §14): a header we don't
/// serve (several ranges, another unit, nonsense) is ignored and the whole file sent; only a
/// well-formed range wholly past the end is unsatisfiable.
#[derive(Debug, PartialEq)]
enum Asked {
    Whole,
    Part(std::ops::Range<u64>),
    Unsatisfiable,
}

fn asked(header: Option<&str>, size: u64) -> Asked {
    let Some(spec) = header.and_then(|h| h.strip_prefix("bytes=")).filter(|s| !s.contains(',')) else {
        return Asked::Whole;
    };
    let Some((start, end)) = spec.split_once('-') else { return Asked::Whole };
    let (start, end) = (start.trim(), end.trim());
    let range = match (start.parse::<u64>(), end.parse::<u64>()) {
        (Err(_), Ok(last)) if start.is_empty() => size.saturating_sub(last)..size,
        (Ok(first), Err(_)) if end.is_empty() => first..size,
        (Ok(first), Ok(last)) if first <= last => first..last.saturating_add(1).min(size),
        _ => return Asked::Whole,
    };
    if range.start < range.end { Asked::Part(range) } else { Asked::Unsatisfiable }
}

/// A name for `Content-Disposition`: ASCII, no quotes or separators (the RFC 5987 form
/// carries the real name).
fn ascii_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "._- ".contains(c) { c } else { '_' }).collect()
}

pub async fn download(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Client(client): Client,
    Path(id): Path<String>,
    Query(link): Query<LinkQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = id.parse().map_err(|_| ApiError::from(ErrorCode::NotFound))?;
    let file = state.app.files().open(&scope, id, link.expires, &link.sig, &client).await?;
    serve(file, &headers).await
}

/// Sends a file whose access was checked: whole or the asked range, sandboxed, never cached.
pub async fn serve(file: Download, headers: &HeaderMap) -> Result<Response, ApiError> {
    let size = file.row.size;
    let (status, range) = match asked(headers.get(header::RANGE).and_then(|v| v.to_str().ok()), size) {
        Asked::Whole => (StatusCode::OK, 0..size),
        Asked::Part(range) => (StatusCode::PARTIAL_CONTENT, range),
        Asked::Unsatisfiable => {
            let mut refused = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            refused.headers_mut().insert(header::CONTENT_RANGE, header_value(&format!("bytes */{size}")));
            return Ok(refused);
        }
    };
    file.verify(range.clone()).await?;
    let (name, content_type) = (file.row.name.clone(), file.row.content_type.clone());
    let (mut writer, reader) = tokio::io::duplex(256 * 1024);
    let sent = range.clone();
    tokio::spawn(async move {
        if let Err(e) = file.copy(sent, &mut writer).await {
            tracing::error!(code = %e.code(), detail = e.detail().unwrap_or(""), "file download cut off");
        }
        let _ = writer.shutdown().await;
    });
    let mut response = Response::new(Body::from_stream(tokio_util::io::ReaderStream::new(reader)));
    response.extensions_mut().insert(SandboxedFile);
    *response.status_mut() = status;
    // Images may show in place; anything else is saved.
    let disposition = if content_type.starts_with("image/") { "inline" } else { "attachment" };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header_value(&content_type));
    headers.insert(header::CONTENT_LENGTH, header_value(&(range.end - range.start).to_string()));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        header_value(&format!(
            "{disposition}; filename=\"{}\"; filename*=UTF-8''{}",
            ascii_name(&name),
            form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>().replace('+', "%20")
        )),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if status == StatusCode::PARTIAL_CONTENT {
        headers.insert(
            header::CONTENT_RANGE,
            header_value(&format!("bytes {}-{}/{size}", range.start, range.end.saturating_sub(1))),
        );
    }
    Ok(response)
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("file"))
}

#[cfg(test)]
mod tests {
    use super::{Asked, asked};

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(asked(None, 100), Asked::Whole);
        assert_eq!(asked(Some("bytes=10-19"), 100), Asked::Part(10..20));
        assert_eq!(asked(Some("bytes=90-"), 100), Asked::Part(90..100));
        assert_eq!(asked(Some("bytes=-5"), 100), Asked::Part(95..100));
        assert_eq!(asked(Some("bytes=90-500"), 100), Asked::Part(90..100));
        assert_eq!(asked(Some("bytes=100-"), 100), Asked::Unsatisfiable);
        for ignored in ["bytes=5-3", "bytes=0-1,5-6", "items=0-1", "bytes=x-y", "bytes=-"] {
            assert_eq!(asked(Some(ignored), 100), Asked::Whole, "{ignored}");
        }
    }
}
