//! People: a colleague invited by email accepts in a browser of their own; a forgotten password
//! is reset through the emailed link; a session is signed out from the account page.

use anyhow::{Context, Result};

use super::journeys::{next_code, set_up_firm, sign_in};
use super::{Page, finish};
use crate::helpers::{OWNER_EMAIL, OWNER_PASSWORD, TestApp, spawn_app_configured};
use crate::smtp_sink::{Received, SmtpSink};

const SAM: &str = "sam@acme.example";

/// The first `https://…` link of a message (quoted-printable soft breaks undone).
pub(super) fn link_in(message: &Received) -> Result<String> {
    let body = message.data.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let start = body.find("https://").with_context(|| format!("no link in the message:\n{body}"))?;
    Ok(body[start..].split_whitespace().next().unwrap_or_default().to_owned())
}

/// Waits (up to 10 s) for the newest message whose subject is `subject`.
pub(super) async fn message(sink: &SmtpSink, subject: &str) -> Result<Received> {
    let started = std::time::Instant::now();
    loop {
        let all = sink.wait_for(sink.count().max(1)).await;
        if let Some(found) = all.iter().rev().find(|m| m.data.contains(&format!("Subject: {subject}"))) {
            return Ok(found.clone());
        }
        anyhow::ensure!(started.elapsed().as_secs() < 10, "no message {subject:?} arrived");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Points outgoing email at the test's SMTP sink through the settings page.
pub(super) async fn configure_email(owner: &Page, sink: &SmtpSink) -> Result<()> {
    owner.goto("/settings/email").await?;
    owner.fill("host", "127.0.0.1").await?;
    owner.fill("port", &sink.port.to_string()).await?;
    owner.choose("security", "None (only a relay on this machine)").await?;
    owner.fill("from", "crm@acme.example").await?;
    owner.press("Save").await?;
    owner.expect_text("The email settings were saved.").await
}

/// Completes a password form reached from an emailed link, then signs in with it (with the
/// authenticator in `secret`, enrolling one first if the role asks for it) and lands on the
/// dashboard.
async fn choose_password_and_sign_in(
    app: &TestApp,
    page: &Page,
    link: &str,
    password: &str,
    secret: &mut Option<String>,
) -> Result<()> {
    page.goto_url(link).await?;
    page.fill("password", password).await?;
    page.press("Set password").await?;
    page.expect_text("Your password is set").await?;
    page.fill("email", SAM).await?;
    page.fill("password", password).await?;
    page.press("Sign in").await?;
    let path = page.path().await?;
    if path.starts_with("/account/mfa/setup") {
        let key = page.text_of("li code").await?;
        page.fill("code", &next_code(app, &key)).await?;
        page.press("Turn on").await?;
        page.press("I have saved them").await?;
        *secret = Some(key);
    } else if path.starts_with("/login/mfa") {
        page.fill("code", &next_code(app, secret.as_deref().context("an authenticator")?)).await?;
        page.press("Continue").await?;
    }
    page.expect_text("Dashboard").await
}

#[tokio::test]
async fn a_colleague_is_invited_resets_a_password_and_a_session_is_revoked() {
    // Emailed links use the configured public address (never the request's Host header).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_app_configured(|config| {
        config.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
        config.server.public_url = Some(format!("https://localhost:{port}").parse().unwrap());
    })
    .await;
    let sink = SmtpSink::start().await;
    let Some(owner) = Page::open(&app, "people-owner").await else { return };
    let Some(colleague) = Page::open(&app, "people-colleague").await else { return };
    let journey = async {
        let secret = set_up_firm(&app, &owner).await?;
        configure_email(&owner, &sink).await?;

        owner.goto("/settings/users").await?;
        owner.fill("name", "Sam Staff").await?;
        owner.fill("email", SAM).await?;
        owner.press("Create invitation link").await?;
        owner.expect_text(&format!("Invitation for {SAM}")).await?;
        let invitation = message(&sink, "You are invited to Holdfast").await?;
        anyhow::ensure!(invitation.to == [SAM], "the invitation goes to Sam: {:?}", invitation.to);
        let link = link_in(&invitation)?;
        colleague.goto_url(&link).await?;
        colleague.expect_text("Welcome: choose your password").await?;
        let mut sams_authenticator = None;
        choose_password_and_sign_in(&app, &colleague, &link, "copper meadow lantern ninety", &mut sams_authenticator)
            .await?;

        colleague.press("Sign out").await?;
        colleague.goto("/password/forgot").await?;
        colleague.fill("email", SAM).await?;
        colleague.press("Send reset link").await?;
        let link = link_in(&message(&sink, "Reset your Holdfast password").await?)?;
        choose_password_and_sign_in(&app, &colleague, &link, "saffron glacier tunnel wombat", &mut sams_authenticator)
            .await?;

        // The owner signs in on the colleague's computer too, then signs that session out from
        // their own browser's account page.
        colleague.press("Sign out").await?;
        colleague.goto("/login").await?;
        sign_in(&app, &colleague, OWNER_EMAIL, OWNER_PASSWORD, &secret).await?;
        colleague.expect_text("Dashboard").await?;
        owner.goto("/account").await?;
        owner.press_within("form[action^='/account/sessions/']", "Sign out").await?;
        owner.expect_text("The session was signed out.").await?;
        colleague.goto("/account").await?;
        colleague.expect_path("/login").await?;
        Ok(())
    };
    finish(journey.await, vec![owner, colleague]).await;
}
