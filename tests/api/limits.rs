//! Rate limits and abuse defences, each tried the way an attacker (or a busy office) would.

use holdfast::app::rate_limit::RateLimitPolicy;
use holdfast::domain::role::Role;
use reqwest::StatusCode;
use time::Duration;

use crate::helpers::{OWNER_EMAIL, OWNER_PASSWORD, TestApp, USER_PASSWORD, spawn_app, spawn_app_configured};

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

async fn set_limits(app: &TestApp, change: impl FnOnce(&mut RateLimitPolicy)) {
    let mut policy = app.app.rate_limit_policy();
    change(&mut policy);
    app.app.settings().save_rate_limits(None, policy, &Default::default()).await.unwrap();
}

#[tokio::test]
async fn visitors_are_limited_per_address_with_headers_and_a_coded_429() {
    let app = spawn_app().await;
    set_limits(&app, |p| {
        p.unauthenticated_per_minute = 5;
        p.unauthenticated_burst = 5;
    })
    .await;
    for remaining in (0..5).rev() {
        let response = app.get("/login").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "x-ratelimit-limit"), "5");
        assert_eq!(header(&response, "x-ratelimit-remaining"), remaining.to_string());
        assert!(!header(&response, "x-ratelimit-reset").is_empty());
    }
    let refused = app.get("/login").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=13).contains(&retry), "{retry}");
    assert!(refused.text().await.unwrap().contains("E4001"));

    // A client can't pick a fresh bucket by claiming another address.
    let spoofed = app.client.get(app.url("/login")).header("x-forwarded-for", "203.0.113.77").send().await.unwrap();
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
    // Health checks and static files are never limited.
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
    let api = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&api, "content-type"), "application/problem+json");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_bucket() {
    let app = spawn_app_configured(|c| c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    set_limits(&app, |p| {
        p.unauthenticated_per_minute = 3;
        p.unauthenticated_burst = 3;
    })
    .await;
    let from = |ip: &'static str| app.client.get(app.url("/login")).header("x-forwarded-for", ip).send();
    for _ in 0..3 {
        assert_eq!(from("198.51.100.1").await.unwrap().status(), StatusCode::OK);
    }
    assert_eq!(from("198.51.100.1").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(from("198.51.100.2").await.unwrap().status(), StatusCode::OK, "another client behind the proxy");
}

#[tokio::test]
async fn signed_in_users_and_tokens_are_limited_per_user_and_changes_apply_at_once() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let page = owner.submit("/account", "/account/tokens", &[("label", "script")]).await.text().await.unwrap();
    let token = page.split("<code>hf_").nth(1).map(|s| format!("hf_{}", s.split('<').next().unwrap())).unwrap();

    // The owner lowers the limit on the settings page; the next request already uses it.
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let saved = owner
        .submit(
            "/settings/security",
            "/settings/security/limits",
            &[
                ("enabled", "on"),
                ("unauthenticated_per_minute", "100"),
                ("unauthenticated_burst", "120"),
                ("authenticated_per_minute", "3"),
                ("authenticated_burst", "3"),
                ("authenticated_per_hour", "5000"),
                ("sign_in_failures_per_hour", "20"),
                ("admin_changes_per_hour", "30"),
                ("uploads_per_hour", "50"),
                ("exports_per_hour", "10"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let api = app.new_browser().client;
    let me = || api.get(owner.url("/api/v1/me")).bearer_auth(&token).send();
    for _ in 0..3 {
        assert_eq!(me().await.unwrap().status(), StatusCode::OK);
    }
    let refused = me().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(!header(&refused, "retry-after").is_empty());
    // Another user is not affected, even from the same address.
    set_limits(&app, |p| p.authenticated_per_minute = 3).await;
}

#[tokio::test]
async fn an_office_behind_one_address_is_not_locked_out_by_legitimate_use() {
    let app = spawn_app().await;
    app.setup_owner().await;
    app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    // Forty successful sign-ins from one address: successes never count.
    for n in 0..20 {
        for (email, password) in [(OWNER_EMAIL, OWNER_PASSWORD), ("sam@acme.example", USER_PASSWORD)] {
            let response = app.new_browser().sign_in(email, password).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email} #{n}");
        }
    }
    // Sam mistypes five times: Sam waits, the owner at the next desk does not.
    for _ in 0..5 {
        app.new_browser().sign_in("sam@acme.example", "wrong wrong wrong wrong").await;
    }
    let sam = app.new_browser().sign_in("sam@acme.example", USER_PASSWORD).await;
    assert_eq!(sam.status(), StatusCode::TOO_MANY_REQUESTS, "progressive delay after five failures");
    assert!(sam.text().await.unwrap().contains("E1007"));
    assert_eq!(app.new_browser().sign_in(OWNER_EMAIL, OWNER_PASSWORD).await.status(), StatusCode::SEE_OTHER);
    app.clock.advance(Duration::seconds(31));
    assert_eq!(app.new_browser().sign_in("sam@acme.example", USER_PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

/// A hundred wrong passwords for `email` from fresh browsers, sixteen minutes apart (the
/// address limits raised, so only the account's count decides).
async fn a_hundred_wrong_passwords(app: &crate::helpers::TestApp, email: &str) {
    set_limits(app, |p| {
        p.sign_in_failures_per_hour = 1000;
        p.unauthenticated_per_minute = 1000;
        p.unauthenticated_burst = 1000;
    })
    .await;
    for _ in 0..100 {
        app.clock.advance(Duration::minutes(16));
        let response = app.new_browser().sign_in(email, "guess guess guess guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn a_stranger_cannot_lock_a_user_out_of_a_browser_they_signed_in_with() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let sam = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    // Sam signs out and in again: the completed sign-in leaves a device cookie.
    let token = crate::helpers::csrf_token(&sam.page("/account").await);
    sam.post_with_token("/logout", &token, &[]).await;
    sam.sign_in_fully("sam@acme.example", USER_PASSWORD).await;
    let token = crate::helpers::csrf_token(&sam.page("/account").await);
    sam.post_with_token("/logout", &token, &[]).await;

    // A stranger tries Sam's account five times: the account now waits for unknown browsers…
    for _ in 0..5 {
        app.new_browser().sign_in("sam@acme.example", "wrong wrong wrong wrong").await;
    }
    let stranger = app.new_browser().sign_in("sam@acme.example", USER_PASSWORD).await;
    assert_eq!(stranger.status(), StatusCode::TOO_MANY_REQUESTS, "unknown browsers wait");
    // …but not for Sam's own browser, even with the right password typed at once.
    assert_eq!(sam.sign_in("sam@acme.example", USER_PASSWORD).await.status(), StatusCode::SEE_OTHER);

    // Even the hard lock after a hundred failures holds back strangers only.
    a_hundred_wrong_passwords(&app, "sam@acme.example").await;
    app.clock.advance(Duration::hours(2));
    let stranger = app.new_browser().sign_in("sam@acme.example", USER_PASSWORD).await;
    assert_eq!(stranger.status(), StatusCode::TOO_MANY_REQUESTS, "locked for strangers");
    assert_eq!(sam.sign_in("sam@acme.example", USER_PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn password_spraying_from_one_address_is_stopped_after_twenty_failures() {
    let app = spawn_app().await;
    app.setup_owner().await;
    for n in 0..20 {
        let response = app.new_browser().sign_in(&format!("user{n}@acme.example"), "summer2026 password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let blocked = app.new_browser().sign_in(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS, "the address is blocked, whatever the account");
    assert!(!header(&blocked, "retry-after").is_empty());
    app.clock.advance(Duration::hours(1));
    assert_eq!(app.new_browser().sign_in(OWNER_EMAIL, OWNER_PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_hundred_failures_lock_the_account_until_an_admin_unlocks_it() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    a_hundred_wrong_passwords(&app, "sam@acme.example").await;
    app.clock.advance(Duration::hours(2));
    let locked = app.new_browser().sign_in("sam@acme.example", USER_PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "locked even with the right password");

    owner.sign_in_fully(OWNER_EMAIL, OWNER_PASSWORD).await;
    let users = owner.page("/settings/users").await;
    assert!(users.contains("Locked"));
    let start = users.find("sam@acme.example").unwrap();
    let sam_id = users[start..].split("/settings/users/").nth(1).unwrap()[..32].to_owned();
    let unlocked = owner.submit("/settings/users", &format!("/settings/users/{sam_id}/unlock"), &[]).await;
    assert_eq!(unlocked.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.new_browser().sign_in("sam@acme.example", USER_PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let alerts = owner.page("/settings/security").await;
    assert!(alerts.contains("auth.locked"), "the lock-out is an alert on the security page");
}

#[tokio::test]
async fn turning_limits_off_is_loud() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    set_limits(&app, |p| {
        p.enabled = false;
        p.unauthenticated_per_minute = 1;
        p.unauthenticated_burst = 1;
    })
    .await;
    for _ in 0..5 {
        assert_eq!(app.new_browser().get("/login").await.status(), StatusCode::OK);
    }
    assert!(owner.page("/settings/security").await.contains("Rate limiting is OFF"));
}

#[tokio::test]
async fn alerts_reach_the_webhook_signed_with_the_shared_secret() {
    use std::sync::{Arc, Mutex};
    type Deliveries = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let received: Deliveries = Arc::default();
    let arrived = Arc::new(tokio::sync::Notify::new());
    let (store, notify) = (received.clone(), arrived.clone());
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let (store, notify) = (store.clone(), notify.clone());
            async move {
                let signature =
                    headers.get("x-holdfast-signature").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                store.lock().unwrap().push((signature, body.to_vec()));
                notify.notify_one();
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let secret = "a shared secret of some length";
    let hook = format!("http://127.0.0.1:{port}/hook");
    let plain_http = owner
        .submit(
            "/settings/security",
            "/settings/security/alerts",
            &[("webhook_url", "http://hooks.example.com/x"), ("secret", secret)],
        )
        .await;
    assert_eq!(plain_http.status(), StatusCode::UNPROCESSABLE_ENTITY, "only https leaves the machine");
    let saved = owner
        .submit("/settings/security", "/settings/security/alerts", &[("webhook_url", &hook), ("secret", secret)])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    for n in 0..20 {
        app.new_browser().sign_in(&format!("nobody{n}@acme.example"), "guessing guessing").await;
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(90);
    let (signature, body) = loop {
        let notified = arrived.notified();
        let burst = received
            .lock()
            .unwrap()
            .iter()
            .find(|(_, body)| {
                serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|a| a["event"] == "security.sign_in_burst")
            })
            .cloned();
        if let Some(found) = burst {
            break found;
        }
        tokio::time::timeout_at(deadline, notified).await.expect("webhook called with the burst alert");
    };
    assert_eq!(signature, holdfast::app::webhook::signature(secret.as_bytes(), &body));
    assert!(owner.page("/settings/security").await.contains("security.sign_in_burst"), "recorded before it is sent");
}

#[tokio::test]
async fn the_api_is_closed_to_other_origins_unless_allow_listed_and_never_with_credentials() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let closed = preflight("https://app.example.com").await.unwrap();
    assert!(closed.headers().get("access-control-allow-origin").is_none(), "closed by default");

    let mut policy = app.app.security_policy();
    policy.api_allowed_origins = vec!["https://app.example.com".into()];
    app.app.settings().save_security_policy(None, policy, &Default::default()).await.unwrap();
    let open = preflight("https://app.example.com").await.unwrap();
    assert_eq!(open.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&open, "access-control-allow-origin"), "https://app.example.com");
    assert!(open.headers().get("access-control-allow-credentials").is_none());
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let page =
        owner.client.get(owner.url("/account")).header("origin", "https://app.example.com").send().await.unwrap();
    assert!(page.headers().get("access-control-allow-origin").is_none(), "pages never get CORS");
}
