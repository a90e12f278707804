//! Drafts of long forms: a note typed and not sent is offered back after a reload (Restore /
//! Discard), cleared once sent, and every draft is wiped at sign-out.

use anyhow::{Context, Result, ensure};
use serde_json::json;

use super::journeys::set_up_firm;
use super::{Page, in_browser};
use crate::helpers::{Api, OWNER_EMAIL, spawn_app};

/// The number of drafts this browser keeps.
async fn drafts(page: &Page) -> Result<u64> {
    let count =
        page.script("return Object.keys(localStorage).filter((k) => k.startsWith('hf-draft:')).length", vec![]).await?;
    count.as_u64().context("a count")
}

async fn body(page: &Page) -> Result<String> {
    let value = page.script("return document.querySelector('textarea[name=body]').value", vec![]).await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_note_typed_then_reloaded_is_offered_back_and_sign_out_clears_it() {
    let app = spawn_app().await;
    in_browser(&app, "drafts", async |owner| {
        set_up_firm(&app, owner).await?;
        let token = app.app.tokens().create_for_email(OWNER_EMAIL, "test data").await?;
        let api = Api { client: app.client.clone(), base: app.base.clone(), token };
        let contact = api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
        let path = format!("/contacts/{}", contact["id"].as_str().context("an id")?);

        owner.goto(&path).await?;
        owner.expect_no_text("Restore your unsaved draft").await?;
        owner.fill("body", "Called Ada about the renewal").await?;
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        ensure!(drafts(owner).await? == 1, "the draft is kept while typing");

        // A reload: offered; Discard forgets it, Restore fills the field.
        owner.goto(&path).await?;
        owner.expect_text("Restore your unsaved draft").await?;
        ensure!(body(owner).await?.is_empty(), "not restored unasked");
        owner.press("Restore").await?;
        ensure!(body(owner).await? == "Called Ada about the renewal", "restored: {:?}", body(owner).await?);
        owner.expect_no_text("Restore your unsaved draft").await?;

        // Sent: the draft is gone.
        owner.press("Add note").await?;
        owner.expect_text("Called Ada about the renewal").await?;
        ensure!(drafts(owner).await? == 0, "a note sent leaves no draft");
        owner.expect_no_text("Restore your unsaved draft").await?;

        // Typed again, then signing out: wiped.
        owner.fill("body", "A second thought").await?;
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        ensure!(drafts(owner).await? == 1, "the second draft is kept");
        owner.press("Sign out").await?;
        owner.expect_path("/login").await?;
        ensure!(drafts(owner).await? == 0, "signing out clears every draft");
        Ok(())
    })
    .await;
}
