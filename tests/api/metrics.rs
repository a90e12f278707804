//! `/metrics`: counters and latency histograms by route template after known traffic, the
//! scrape refused to anyone but an owner/admin token or a loopback caller, and the text and
//! the shipped alert rules accepted by Prometheus' own checker (`promtool`).

use std::process::{Command, Stdio};

use holdfast::app::ops_alerts::OpsAlert;
use holdfast::domain::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app_configured;

/// A caller from elsewhere, as a trusted proxy on loopback reports it.
const REMOTE: &str = "203.0.113.9";

/// Runs `promtool` with `args` on `stdin`, or says it is missing (an error under `CI=true`).
fn promtool(args: &[&str], stdin: &str) -> Option<String> {
    use std::io::Write;
    let Ok(mut child) =
        Command::new("promtool").args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()
    else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "promtool is missing: .ci/run installs prometheus");
        eprintln!("\n!!! PROMTOOL CHECKS SKIPPED: apt-get install prometheus\n");
        return None;
    };
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "promtool {args:?}: {said}");
    Some(said)
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_only_operators_or_loopback_may_scrape() {
    let app = spawn_app_configured(|c| c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let _owner = app.setup_owner().await;
    let admin = app.api_user("Acme Ltd", "admin@acme.example", Role::Admin).await;
    let staff = app.api_user("Acme Ltd", "staff@acme.example", Role::Staff).await;
    for _ in 0..3 {
        assert_eq!(admin.get("/api/v1/contacts").await.status(), StatusCode::OK);
    }
    admin.create("/api/v1/contacts", json!({"first_name": "Ada"})).await;
    assert_eq!(admin.get("/api/v1/contacts/0123").await.status(), StatusCode::NOT_FOUND);

    let scrape = |token: Option<&str>| {
        let mut request = app.client.get(app.url("/metrics")).header("x-forwarded-for", REMOTE);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(scrape(None).await.unwrap().status(), StatusCode::NOT_FOUND, "anonymous, from elsewhere");
    assert_eq!(scrape(Some(&staff.token)).await.unwrap().status(), StatusCode::NOT_FOUND, "a staff token");
    let loopback = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(loopback.status(), StatusCode::OK, "a Prometheus on the host");
    let scraped = scrape(Some(&admin.token)).await.unwrap();
    assert_eq!(scraped.status(), StatusCode::OK, "an admin token");
    assert!(scraped.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = scraped.text().await.unwrap();
    for line in [
        r#"holdfast_http_requests_total{route="/api/v1/contacts",method="GET",status="200"} 3"#,
        r#"holdfast_http_requests_total{route="/api/v1/contacts",method="POST",status="201"} 1"#,
        r#"holdfast_http_requests_total{route="/api/v1/contacts/{id}",method="GET",status="404"} 1"#,
        r#"holdfast_http_request_duration_seconds_count{route="/api/v1/contacts",method="GET"} 3"#,
        "# TYPE holdfast_http_request_duration_seconds histogram",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    for gauge in ["holdfast_search_backlog", "holdfast_certificate_expiry_seconds", "holdfast_disk_free_bytes"] {
        assert!(text.lines().any(|l| l.starts_with(gauge)), "{gauge} in:\n{text}");
    }
    assert!(!text.contains("0123"), "paths never become labels");

    promtool(&["check", "metrics"], &text);
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/prometheus-alerts.yml");
    if let Some(said) = promtool(&["check", "rules", rules], "") {
        assert!(said.contains("SUCCESS: 7 rules found"), "{said}");
    }
}

#[tokio::test]
async fn an_error_rate_over_five_percent_is_alerted_once_and_listed() {
    // A scanner that is never there: every upload answers 503 (E3003).
    let app = spawn_app_configured(|c| c.scan.clamd = "unix:/nonexistent/holdfast/clamd.sock".to_owned()).await;
    let owner = app.setup_owner().await;
    let admin = app.api_user("Acme Ltd", "admin@acme.example", Role::Admin).await;
    let contact = admin.create("/api/v1/contacts", json!({"first_name": "Ada"})).await;
    let record = format!("contacts/{}", contact["id"].as_str().unwrap());
    let firing = app.app.ops_alerts().evaluate(None).await.unwrap();
    assert!(firing.is_empty(), "nothing wrong yet: {firing:?}");
    for i in 0..20 {
        let (status, _) = crate::files::upload(&admin, &record, "a.png", crate::files::png(&format!("{i}"))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
    for _ in 0..2 {
        let firing = app.app.ops_alerts().evaluate(None).await.unwrap();
        let alerts: Vec<OpsAlert> = firing.iter().map(|f| f.alert).collect();
        assert_eq!(alerts, [OpsAlert::ErrorRate], "{firing:?}");
    }
    let system = owner.page("/settings/system").await;
    assert!(system.contains("More than 5 % of requests failed"), "listed on the system page");
    assert!(system.contains("20 of "), "with what was measured");
    let started = std::time::Instant::now();
    loop {
        let security = owner.page("/settings/security").await;
        if security.contains("ops.error_rate") {
            assert_eq!(security.matches("ops.error_rate").count(), 1, "raised once while it keeps firing");
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "the alert is recorded");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn speed_reports_need_the_page_token_and_sane_values() {
    let app = spawn_app_configured(|_| {}).await;
    let owner = app.setup_owner().await;
    let token = crate::helpers::csrf_token(&owner.page("/contacts").await);
    let report = |route: &'static str, lcp: &'static str| {
        vec![("route", route), ("lcp_ms", lcp), ("inp_ms", "0"), ("cls", "0.02")]
    };
    let forged = owner.post_with_token("/rum", "forged", &report("/contacts", "800")).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "a beacon from another site");
    for (route, lcp) in
        [("https://evil.example/", "800"), ("/contacts", "-1"), ("/contacts", "9e9"), ("/contacts", "x")]
    {
        let refused = owner.post_with_token("/rum", &token, &report(route, lcp)).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{route} {lcp}");
    }
    let taken = owner.post_with_token("/rum", &token, &report("/contacts/{id}", "800")).await;
    assert_eq!(taken.status(), StatusCode::NO_CONTENT);
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"holdfast_web_vitals_lcp_seconds_sum{route="/contacts/{id}"} 0.8"#), "{text}");
    assert!(
        !text.contains("holdfast_web_vitals_inp_seconds_count{route=\"/contacts/{id}\"}"),
        "no interaction, no INP"
    );
}
