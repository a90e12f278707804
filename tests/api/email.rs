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
