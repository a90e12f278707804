//! Static files embedded in the binary, served under content-hashed names so browsers may cache
//! them for a year.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub const ROUTE: &str = "/static/{file}";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const FILES: &[Asset] = &[
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", bytes: include_bytes!("../../static/app.css") },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/app.js"),
    },
    Asset { name: "icon.svg", content_type: "image/svg+xml", bytes: include_bytes!("../../static/icon.svg") },
];

struct Hashed {
    url: String,
    file: String,
    asset: &'static Asset,
}

static HASHED: LazyLock<Vec<Hashed>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.bytes);
            let (stem, ext) = asset.name.rsplit_once('.').unwrap_or((asset.name, ""));
            let file = format!("{stem}.{}.{ext}", hex::encode(&digest[..6]));
            Hashed { url: format!("/static/{file}"), file, asset }
        })
        .collect()
});

/// The URL of an embedded file by its plain name (`app.css` → `/static/app.3f2a….css`).
pub fn url(name: &str) -> &'static str {
    HASHED.iter().find(|h| h.asset.name == name).map(|h| h.url.as_str()).unwrap_or("/static/missing")
}

pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(hashed) = HASHED.iter().find(|h| h.file == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(hashed.asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        ],
        hashed.asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_carry_a_content_hash() {
        let css = super::url("app.css");
        assert!(css.starts_with("/static/app.") && css.ends_with(".css") && css.len() == "/static/app..css".len() + 12);
    }
}
