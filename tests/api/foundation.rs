//! The foundation: security headers, CSP nonces, coded errors, the redirect listener, health,
//! static assets and certificate lifecycle.

use reqwest::StatusCode;
use time::Duration;

use crate::helpers::{client_trusting, peer_certificate, spawn_app, spawn_app_in};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("missing {name}"))
}

fn csp_nonce(response: &reqwest::Response) -> String {
    let csp = header(response, "content-security-policy");
    let start = csp.find("'nonce-").expect("nonce in CSP") + 7;
    csp[start..].split('\'').next().unwrap().to_owned()
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let css = app.get("/").await.text().await.unwrap();
    let css_path =
        css.split("href=\"").find(|s| s.starts_with("/static/app.")).unwrap().split('"').next().unwrap().to_owned();
    for path in ["/", "/does-not-exist", "/health", css_path.as_str()] {
        let response = app.get(path).await;
        let csp = header(&response, "content-security-policy");
        for directive in [
            "default-src 'none'",
            "'strict-dynamic'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} missing from {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert_eq!(header(&response, "strict-transport-security"), "max-age=63072000; includeSubDomains");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "referrer-policy"), "strict-origin-when-cross-origin");
        assert_eq!(header(&response, "cross-origin-opener-policy"), "same-origin");
        assert_eq!(header(&response, "cross-origin-resource-policy"), "same-origin");
        assert!(header(&response, "permissions-policy").contains("camera=()"));
        assert_eq!(header(&response, "x-request-id").len(), 16);
        assert!(response.headers().get("access-control-allow-origin").is_none());
    }
}

#[tokio::test]
async fn csp_nonce_is_on_every_script_and_fresh_per_response() {
    let app = spawn_app().await;
    let first = app.get("/").await;
    let nonce = csp_nonce(&first);
    assert!(base64_len_bits(&nonce) >= 128, "nonce {nonce} too short");
    let body = first.text().await.unwrap();
    let scripts: Vec<&str> = body.split("<script").skip(1).collect();
    assert!(!scripts.is_empty());
    for script in scripts {
        assert!(script.starts_with(&format!(" nonce=\"{nonce}\"")), "script without the nonce: {script}");
    }
    let second = app.get("/").await;
    assert_ne!(csp_nonce(&second), nonce);
}

fn base64_len_bits(text: &str) -> usize {
    text.trim_end_matches('=').len() * 6
}

#[tokio::test]
async fn errors_are_coded_pages_with_the_request_id() {
    let app = spawn_app().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, "content-type"), "text/html; charset=utf-8");
    let request_id = header(&response, "x-request-id").to_owned();
    let body = response.text().await.unwrap();
    assert!(body.contains("E3002") && body.contains(&request_id), "{body}");

    let response = app.get("/api/v1/nothing-here").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, "content-type"), "application/problem+json");
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "E3002");

    let token = crate::helpers::csrf_token(&app.get("/login").await.text().await.unwrap());
    let response = app.client.post(app.url("/health")).header("x-csrf-token", &token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(response.text().await.unwrap().contains("E4004"));

    let too_big = vec![b'a'; 2 * 1024 * 1024];
    let response = app.client.post(app.url("/")).body(too_big).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.text().await.unwrap().contains("E4002"));
}

#[tokio::test]
async fn plain_http_redirects_navigation_and_refuses_posts() {
    let app = spawn_app().await;
    let http = format!("http://127.0.0.1:{}", app.http_addr.unwrap().port());
    crate::helpers::install_crypto_provider();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = client.get(format!("{http}/contacts?page=2")).header("host", "127.0.0.1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&response, "location"), format!("https://127.0.0.1:{}/contacts?page=2", app.addr.port()));

    // Without a public_url only the certificate's names are trusted: any other Host header
    // goes to the certificate's first name, never to the name the request chose.
    for evil in ["evil.example", "evil.example/@x", "crm.example.com"] {
        let response = client.get(format!("{http}/")).header("host", evil).send().await.unwrap();
        assert_eq!(header(&response, "location"), format!("https://localhost:{}/", app.addr.port()), "{evil}");
    }

    let post = client.post(format!("{http}/login")).body("email=a&password=b").send().await.unwrap();
    assert_eq!(post.status(), StatusCode::BAD_REQUEST);
    assert!(post.headers().get("location").is_none());

    let health = client.get(format!("{http}/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn health_is_public_and_detailed_health_reports_each_check() {
    let app = spawn_app().await;
    let health: serde_json::Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(health["schema"], holdfast::app::schema_version(), "the store schema this build writes");
    assert!(health["uptime_s"].is_u64());

    let detailed: serde_json::Value = app.get("/health/detailed").await.json().await.unwrap();
    assert_eq!(detailed["checks"]["store"]["status"], "ok");
    assert!(detailed["checks"]["disk"]["free_bytes"].as_u64().unwrap() > 0);
    assert!((89..=90).contains(&detailed["checks"]["certificate"]["days_left"].as_i64().unwrap()));
}

#[tokio::test]
async fn static_assets_are_hashed_immutable_and_compressed() {
    let app = spawn_app().await;
    let page = app.get("/").await.text().await.unwrap();
    let css =
        page.split("href=\"").find(|s| s.starts_with("/static/app.")).unwrap().split('"').next().unwrap().to_owned();
    let response = app.client.get(app.url(&css)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(header(&response, "content-type"), "text/css; charset=utf-8");
    assert_eq!(header(&response, "content-encoding"), "gzip");
    assert_eq!(header(&response, "vary"), "accept-encoding");
    let gzip = response.bytes().await.unwrap().len();
    let response = app.client.get(app.url(&css)).header("accept-encoding", "gzip, br").send().await.unwrap();
    assert_eq!(header(&response, "content-encoding"), "br", "brotli when offered, compressed once");
    assert!(response.bytes().await.unwrap().len() < gzip, "brotli at its best beats gzip");
    assert_eq!(app.get("/static/app.000000000000.css").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn first_start_offers_a_setup_url_with_a_private_token_file() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    let url = app.setup_url.clone().expect("setup URL while no user exists");
    let token = std::fs::read_to_string(app.data_dir().join("setup-token")).unwrap();
    assert!(url.ends_with(&format!("/setup?token={token}")));
    let mode = std::fs::metadata(app.data_dir().join("setup-token")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let key_mode = std::fs::metadata(app.data_dir().join("keys/master.key")).unwrap().permissions().mode();
    assert_eq!(key_mode & 0o777, 0o600);
}

#[tokio::test]
async fn certificate_is_renewed_without_restart_and_kept_across_restarts() {
    let app = spawn_app().await;
    let original = peer_certificate(&app.get("/health").await);

    // 59 days on: 31 days left, nothing to do.
    app.clock.advance(Duration::days(59));
    assert!(!app.tls.refresh().unwrap());
    let fresh_client = client_trusting(&app.data_dir().join("tls/cert.pem"), app.addr, app.clock.clone());
    let response = fresh_client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(peer_certificate(&response), original);

    // Two more days: under 30 left, renewed in place; a new connection sees the new one.
    app.clock.advance(Duration::days(2));
    assert!(app.tls.refresh().unwrap());
    let renewed_client = client_trusting(&app.data_dir().join("tls/cert.pem"), app.addr, app.clock.clone());
    let response = renewed_client.get(app.url("/health")).send().await.unwrap();
    let renewed = peer_certificate(&response);
    assert_ne!(renewed, original);
    assert!(app.tls.days_left() >= 89);

    // A restart keeps the (renewed) certificate and key.
    let clock = app.clock.clone();
    let dir = app.stop().await;
    let restarted = spawn_app_in(dir, clock).await;
    assert_eq!(peer_certificate(&restarted.get("/health").await), renewed);
}

/// A certificate for localhost signed by itself, as an operator's ACME client might write.
fn write_cert_files(dir: &std::path::Path) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.join("files-cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("files-key.pem"), key.serialize_pem()).unwrap();
}

#[tokio::test]
async fn certificate_files_are_reloaded_when_they_change_and_a_broken_file_keeps_the_old_one() {
    let files = tempfile::tempdir().unwrap();
    write_cert_files(files.path());
    let (cert, key) = (files.path().join("files-cert.pem"), files.path().join("files-key.pem"));
    let app = crate::helpers::spawn_app_configured(|config| {
        config.tls.mode = holdfast::config::TlsMode::Files;
        config.tls.cert_file = cert.clone();
        config.tls.key_file = key.clone();
    })
    .await;
    let client = || client_trusting(&cert, app.addr, app.clock.clone());
    let first = peer_certificate(&client().get(app.url("/health")).send().await.unwrap());
    assert!(!app.tls.refresh().unwrap(), "unchanged files are not reloaded");

    // Make sure the modification time moves even on coarse-grained file systems.
    let later = std::fs::metadata(&cert).unwrap().modified().unwrap() + std::time::Duration::from_secs(5);
    write_cert_files(files.path());
    for path in [&cert, &key] {
        std::fs::File::options().write(true).open(path).unwrap().set_modified(later).unwrap();
    }
    assert!(app.tls.refresh().unwrap());
    let second = peer_certificate(&client().get(app.url("/health")).send().await.unwrap());
    assert_ne!(first, second);

    let trusted_copy = files.path().join("trusted-copy.pem");
    std::fs::copy(&cert, &trusted_copy).unwrap();
    std::fs::write(&cert, "not a certificate").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&cert)
        .unwrap()
        .set_modified(later + std::time::Duration::from_secs(5))
        .unwrap();
    assert!(app.tls.refresh().is_err());
    let still =
        client_trusting(&trusted_copy, app.addr, app.clock.clone()).get(app.url("/health")).send().await.unwrap();
    assert_eq!(peer_certificate(&still), second, "a broken file keeps the certificate in use");
}
