//! Static files embedded in the binary, served under content-hashed names so browsers may cache
//! them for a year, compressed once at the best brotli and gzip levels (the response layer
//! compresses pages at its fastest level, which would leave the assets a third bigger).

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
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

/// An asset's bytes as brotli and as gzip (computed on the first request for assets).
struct Compressed {
    brotli: Vec<u8>,
    gzip: Vec<u8>,
}

static COMPRESSED: LazyLock<Vec<Compressed>> =
    LazyLock::new(|| FILES.iter().map(|asset| compress(asset.bytes)).collect());

fn compress(bytes: &[u8]) -> Compressed {
    use std::io::Write;
    let mut brotli = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    // Writing into memory cannot fail.
    let _ = brotli::BrotliCompress(&mut &bytes[..], &mut brotli, &params);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = gzip.write_all(bytes);
    Compressed { brotli, gzip: gzip.finish().unwrap_or_default() }
}

/// The encoding to send: brotli, gzip or none, by the request's `Accept-Encoding`.
fn chosen_encoding(headers: &HeaderMap) -> Option<&'static str> {
    let accepted = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let offers = |name: &str| {
        accepted.split(',').any(|part| {
            let mut fields = part.split(';').map(str::trim);
            fields.next() == Some(name) && fields.all(|p| p.replace(' ', "") != "q=0")
        })
    };
    ["br", "gzip"].into_iter().find(|name| offers(name))
}

/// The URL of an embedded file by its plain name (`app.css` → `/static/app.3f2a….css`).
pub fn url(name: &str) -> &'static str {
    HASHED.iter().find(|h| h.asset.name == name).map(|h| h.url.as_str()).unwrap_or("/static/missing")
}

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((index, hashed)) = HASHED.iter().enumerate().find(|(_, h)| h.file == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (encoding, body): (Option<&'static str>, &'static [u8]) = match chosen_encoding(&headers) {
        Some("br") => (Some("br"), &COMPRESSED[index].brotli),
        Some(_) => (Some("gzip"), &COMPRESSED[index].gzip),
        None => (None, hashed.asset.bytes),
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(hashed.asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
            (header::VARY, HeaderValue::from_static("accept-encoding")),
        ],
        body,
    )
        .into_response();
    if let Some(encoding) = encoding {
        response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn assets_are_compressed_at_their_best_and_decompress_to_themselves() {
        use std::io::Read;
        let bytes = include_bytes!("../../static/app.js");
        let compressed = super::compress(bytes);
        let (mut from_brotli, mut from_gzip) = (Vec::new(), Vec::new());
        brotli::BrotliDecompress(&mut &compressed.brotli[..], &mut from_brotli).unwrap();
        flate2::read::GzDecoder::new(&compressed.gzip[..]).read_to_end(&mut from_gzip).unwrap();
        assert_eq!((from_brotli.as_slice(), from_gzip.as_slice()), (&bytes[..], &bytes[..]));
        assert!(compressed.brotli.len() < compressed.gzip.len() && compressed.gzip.len() < bytes.len() / 3);
    }

    #[test]
    fn the_encoding_follows_accept_encoding() {
        let with = |value: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(axum::http::header::ACCEPT_ENCODING, value.parse().unwrap());
            super::chosen_encoding(&headers)
        };
        assert_eq!(with("gzip, deflate, br, zstd"), Some("br"));
        assert_eq!(with("gzip"), Some("gzip"));
        assert_eq!(with("br;q=0, gzip"), Some("gzip"));
        assert_eq!(with("identity"), None);
        assert_eq!(super::chosen_encoding(&axum::http::HeaderMap::new()), None);
    }

    #[test]
    fn urls_carry_a_content_hash() {
        let css = super::url("app.css");
        assert!(css.starts_with("/static/app.") && css.ends_with(".css") && css.len() == "/static/app..css".len() + 12);
    }
}
