//! The client portal in a real Chromium: the firm invites a client, who accepts from the
//! emailed link, sets a password, enrols an authenticator, answers a request with a photo; the
//! firm sees it, shares a document, the client acknowledges it and the audit log keeps the
//! receipt.

use anyhow::ensure;
use base64::Engine;
use serde_json::json;

use super::journeys::{next_code, set_up_firm};
use super::people::{configure_email, link_in, message};
use super::{Page, finish};
use crate::helpers::spawn_app_configured;
use crate::smtp_sink::SmtpSink;

const CARLA: &str = "carla@alder.example";
/// A real 1×1 PNG.
const PHOTO: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

#[tokio::test]
async fn a_client_is_invited_answers_with_a_photo_and_acknowledges_a_document() {
    // Emailed links use the configured public address.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_app_configured(|config| {
        config.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
        config.server.public_url = Some(format!("https://localhost:{port}").parse().unwrap());
    })
    .await;
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("passport.png");
    let letter = dir.path().join("engagement letter.png");
    let bytes = base64::engine::general_purpose::STANDARD.decode(PHOTO).unwrap();
    std::fs::write(&photo, &bytes).unwrap();
    std::fs::write(&letter, &bytes).unwrap();
    let Some(owner) = Page::open(&app, "portal-owner").await else { return };
    let Some(client) = Page::open(&app, "portal-client").await else { return };
    let journey = async {
        set_up_firm(&app, &owner).await?;
        configure_email(&owner, &sink).await?;
        owner.goto("/companies/new").await?;
        owner.fill("name", "Alder Ltd").await?;
        owner.press("Save").await?;
        owner.expect_text("Saved.").await?;
        let company = owner.path().await?.split('?').next().unwrap_or_default().to_owned();

        // The firm invites Carla and asks for a photo of her passport.
        owner.press("Client portal").await?;
        owner.expect_heading("Alder Ltd · client portal").await?;
        owner.fill("Name", "Carla Client").await?;
        owner.fill("Email", CARLA).await?;
        owner.press("Invite to the portal").await?;
        owner.expect_text(&format!("Invitation for {CARLA}")).await?;
        owner.fill("title", "Know your client").await?;
        owner
            .script("document.querySelector('input[name=due]').value = arguments[0]", vec![json!("2099-01-31")])
            .await?;
        owner.fill("items", "A photo of your passport").await?;
        owner.press("Send request").await?;
        owner.expect_text("The request was sent to the company's clients.").await?;

        // Carla opens the emailed link, chooses a password and sets up her authenticator.
        let invitation = message(&sink, "Acme Ltd invites you to its client portal").await?;
        ensure!(invitation.to == [CARLA], "the invitation goes to Carla: {:?}", invitation.to);
        client.goto_url(&link_in(&invitation)?).await?;
        client.fill("password", "copper meadow lantern ninety").await?;
        client.press("Set password").await?;
        client.expect_text("Your password is set").await?;
        client.fill("email", CARLA).await?;
        client.fill("password", "copper meadow lantern ninety").await?;
        client.press("Sign in").await?;
        client.expect_path("/account/mfa/setup").await?;
        let key = client.text_of("li code").await?;
        client.fill("code", &next_code(&app, &key)).await?;
        client.press("Turn on").await?;
        client.press("I have saved them").await?;
        client.expect_path("/portal").await?;
        client.expect_text("Welcome, Alder Ltd").await?;

        // She sees the request and answers it with a photo.
        client.press("Know your client").await?;
        client.expect_text("A photo of your passport").await?;
        client.attach("file", &photo).await?;
        client.press("Send answer").await?;
        client.expect_text("Your answer was sent to the firm.").await?;
        client.expect_text("passport.png").await?;

        // The firm is told: an email to the company's owner, the badge, the activity page, the
        // company's timeline.
        let told = message(&sink, "Client portal: Alder Ltd").await?;
        ensure!(told.data.contains("Carla Client uploaded a file for"), "the owner's email says what happened");
        owner.goto("/contacts").await?;
        let badge = owner.text_of(".nav-count").await?;
        ensure!(badge.trim() == "1", "one new client action, the badge says {badge:?}");
        owner.press("Client activity 1").await?;
        owner.expect_text("Carla Client uploaded a file for").await?;
        owner.goto(&company).await?;
        owner.expect_text("Client portal — Carla Client uploaded a file for").await?;

        // The firm shares its engagement letter; Carla acknowledges it.
        owner.attach("file", &letter).await?;
        owner.press("Attach").await?;
        owner.expect_text("The file was attached.").await?;
        owner.press("Client portal").await?;
        owner.choose("file_id", "engagement letter.png").await?;
        owner.press("Share with the client").await?;
        owner.expect_text("The document is shared with the company's clients.").await?;
        client.goto("/portal/documents").await?;
        client.press("engagement letter.png").await?;
        client.press("I have read this document").await?;
        client.expect_text("Thank you: your acknowledgement was recorded.").await?;
        client.expect_text("You acknowledged this document").await?;

        // The audit log keeps the receipt.
        owner.goto("/settings/audit?event=portal.document_acknowledged").await?;
        owner.expect_text("sha256=").await?;
        owner.expect_text("Carla Client").await?;
        Ok(())
    };
    finish(journey.await, vec![owner, client]).await;
}
