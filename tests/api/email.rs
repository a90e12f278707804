//! Email: SMTP settings with a sealed password, the test message, emailed reset links.

use holdfast::domain::role::Role;
use reqwest::StatusCode;

use crate::helpers::{Browser, spawn_app, spawn_app_configured};
use crate::smtp_sink::SmtpSink;

async fn configure(owner: &Browser, port: u16, username: &str, password: &str) -> reqwest::Response {
    owner
        .submit(
            "/settings/email",
            "/settings/email",
            &[
                ("host", "127.0.0.1"),
                ("port", &port.to_string()),
                ("security", "none"),
                ("username", username),
                ("password", password),
                ("from", "crm@acme.example"),
            ],
        )
        .await
}

#[tokio::test]
async fn the_smtp_password_is_stored_sealed_and_the_test_message_arrives() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let sink = SmtpSink::start().await;

    let canary = "smtp-canary-7f3a9c1e55";
    assert_eq!(configure(&owner, sink.port, "mailer", canary).await.status(), StatusCode::SEE_OTHER);
    let store = std::fs::read(app.data_dir().join("holdfast.redb")).unwrap();
    assert!(!store.windows(canary.len()).any(|w| w == canary.as_bytes()), "the password is not in the store file");
    assert!(!owner.page("/settings/email").await.contains(canary), "the password is never shown again");

    // Plain SMTP is only for a relay on this machine.
    let remote = owner
        .submit(
            "/settings/email",
            "/settings/email",
            &[
                ("host", "smtp.example.com"),
                ("port", "25"),
                ("security", "none"),
                ("username", ""),
                ("password", ""),
                ("from", "crm@acme.example"),
            ],
        )
        .await;
    assert_eq!(remote.status(), StatusCode::UNPROCESSABLE_ENTITY);

    configure(&owner, sink.port, "", "").await;
    let sent = owner.submit("/settings/email", "/settings/email/test", &[]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let messages = sink.wait_for(1).await;
    assert_eq!(messages[0].to, ["olive@acme.example"]);
    assert!(messages[0].data.contains("Subject: Holdfast test message"));
}

#[tokio::test]
async fn forgot_password_emails_a_link_built_from_the_public_url_only() {
    let app =
        spawn_app_configured(|config| config.server.public_url = Some("https://crm.example.com".parse().unwrap()))
            .await;
    let owner = app.setup_owner().await;
    app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    let sink = SmtpSink::start().await;
    configure(&owner, sink.port, "", "").await;

    let visitor = app.new_browser();
    let unknown = visitor.submit("/password/forgot", "/password/forgot", &[("email", "nobody@acme.example")]).await;
    let known = visitor
        .client
        .post(visitor.url("/password/forgot"))
        .header("host", "evil.example")
        .form(&[
            ("csrf_token", crate::helpers::csrf_token(&visitor.page("/password/forgot").await).as_str()),
            ("email", "sam@acme.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), known.status(), "the same answer for known and unknown addresses");
    assert_eq!(unknown.headers().get("location"), known.headers().get("location"));

    let messages = sink.wait_for(1).await;
    assert_eq!(messages[0].to, ["sam@acme.example"]);
    let body = messages[0].data.replace("=\n", "").replace("=3D", "=");
    let start =
        body.find("https://crm.example.com/password/reset?token=").expect("link from public_url, not the Host header");
    let path = body[start + "https://crm.example.com".len()..].split_whitespace().next().unwrap().to_owned();
    let token = path.split("token=").nth(1).unwrap();
    let done = visitor
        .submit(&path, "/password/reset", &[("token", token), ("password", "harbor violet seventy clock")])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.new_browser().sign_in("sam@acme.example", "harbor violet seventy clock").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(sink.count(), 1, "no email for the unknown address");
}

#[tokio::test]
async fn alerts_are_emailed_to_the_owners_and_admins_once_an_hour() {
    let sink = SmtpSink::start().await;
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    assert_eq!(configure(&owner, sink.port, "", "").await.status(), StatusCode::SEE_OTHER);
    app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;

    // The certificate has a day left: the operational alert fires.
    app.app.ops_alerts().evaluate(Some(86_400)).await.unwrap();
    let subject = "Subject: Holdfast alert: ops.certificate_expiring";
    let mut waited = 0;
    let alert = loop {
        let mail = sink.wait_for(1).await;
        if let Some(found) = mail.into_iter().find(|m| m.data.contains(subject)) {
            break found;
        }
        waited += 1;
        assert!(waited < 100, "the alert was not emailed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(alert.to, [crate::helpers::OWNER_EMAIL], "to the owner (not to staff)");
    assert!(alert.data.contains("Holdfast raised an alert: ops.certificate_expiring"));

    // Resolved and firing again within the hour: recorded and sent to the webhook, not emailed.
    let cleared = app.app.ops_alerts().evaluate(Some(90 * 86_400)).await.unwrap();
    assert!(cleared.iter().all(|f| f.alert.event() != "ops.certificate_expiring"), "resolved");
    let again = app.app.ops_alerts().evaluate(Some(86_400)).await.unwrap();
    assert!(again.iter().any(|f| f.alert.event() == "ops.certificate_expiring"), "raised again");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let again = sink.wait_for(0).await.iter().filter(|m| m.data.contains("ops.certificate_expiring")).count();
    assert_eq!(again, 1, "one email an hour per alert");
}

#[tokio::test]
async fn a_weekly_performance_report_is_emailed_to_the_owners_and_admins() {
    let sink = SmtpSink::start().await;
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    assert_eq!(configure(&owner, sink.port, "", "").await.status(), StatusCode::SEE_OTHER);
    assert!(!app.app.perf_report().send_if_due().await.unwrap(), "the first week starts now");

    // A week of use: pages report their speed as browsers do, and a script calls the API.
    let token = crate::helpers::csrf_token(&owner.page("/contacts").await);
    for (lcp, inp) in [("600", "80"), ("900", "120"), ("3500", "700")] {
        let fields = [("route", "/contacts/{id}"), ("lcp_ms", lcp), ("inp_ms", inp), ("cls", "0.01")];
        assert_eq!(owner.post_with_token("/rum", &token, &fields).await.status(), StatusCode::NO_CONTENT);
    }
    let api = app.api_user("Acme Ltd", "script@acme.example", Role::Admin).await;
    for _ in 0..5 {
        assert_eq!(api.get("/api/v1/contacts").await.status(), StatusCode::OK);
    }
    app.clock.advance(time::Duration::days(6));
    assert!(!app.app.perf_report().send_if_due().await.unwrap(), "not before a week");
    app.clock.advance(time::Duration::days(1));
    assert!(app.app.perf_report().send_if_due().await.unwrap(), "a week on");
    assert!(!app.app.perf_report().send_if_due().await.unwrap(), "once");

    let mut waited = 0;
    let reports = loop {
        let mail = sink.wait_for(1).await;
        let reports: Vec<_> = mail.into_iter().filter(|m| m.data.contains("weekly performance report")).collect();
        if reports.len() == 2 {
            break reports;
        }
        waited += 1;
        assert!(waited < 100, "the reports were not emailed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let mut to: Vec<_> = reports.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["olive@acme.example", "script@acme.example"], "to the owner and the admin");
    let report = &reports[0];
    let body = report.data.replace("=\r\n", "").replace("=\n", "");
    // 0.6, 0.9 and 3.5 s fall in the ≤ 1 s, ≤ 1 s and ≤ 10 s buckets.
    assert!(body.contains("/contacts/{id}: p50 1.0 s, p95 10.0 s (3 measured)"), "{body}");
    assert!(body.contains("page load (target: p95 under 2.0 s)"), "{body}");
    assert!(body.contains("OVER TARGET"), "a 3.5 s load puts the page's p95 over 2 s: {body}");
    assert!(body.contains("/api/v1/contacts: p50"), "the API's answers: {body}");
}
