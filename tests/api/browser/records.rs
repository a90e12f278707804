//! A record's page as a person uses it: the header's key facts, and one fact edited in place
//! (script) or on its own small page (no script), the rest of the record untouched; a deleted
//! note put back with Undo.

use anyhow::{Context, Result, ensure};
use serde_json::json;

use super::journeys::set_up_firm;
use super::{Page, in_browser};
use crate::helpers::{Api, OWNER_EMAIL, TestApp, spawn_app};

/// A contact made through the API; answers its page's path.
async fn contact(app: &TestApp) -> Result<String> {
    let token = app.app.tokens().create_for_email(OWNER_EMAIL, "test data").await?;
    let api = Api { client: app.client.clone(), base: app.base.clone(), token };
    let body = json!({"first_name": "Ada", "last_name": "Lovelace", "title": "Analyst", "status": "prospect",
        "emails": [{"address": "ada@example.com", "kind": "work"}]});
    let contact = api.create("/api/v1/contacts", body).await;
    Ok(format!("/contacts/{}", contact["id"].as_str().context("an id")?))
}

async fn edit_status_in_place(page: &Page, path: &str, javascript: bool) -> Result<()> {
    if !javascript {
        page.without_javascript().await?;
    }
    page.goto(path).await?;
    ensure!(page.text_of(".record-head .avatar").await? == "AL", "the initials avatar");
    let header = page.text_of(".record-head .key-facts").await?;
    ensure!(header.contains("ada@example.com") && header.contains("prospect"), "key facts: {header}");

    page.press_enter_on("a[aria-label='Edit status']").await?;
    if javascript {
        // The small form opens where the value was; the page stays.
        ensure!(page.path().await? == path, "still on the record: {}", page.path().await?);
        page.wait_for_text_of("table.facts form.inline-form", |t| t.contains("Status")).await?;
        // Escape puts the value back; opened again, saved.
        page.keys("\u{E00C}").await?;
        ensure!(page.script("return document.querySelectorAll('form.inline-form').length", vec![]).await? == 0);
        page.press_enter_on("a[aria-label='Edit status']").await?;
        page.wait_for_text_of("table.facts form.inline-form", |t| t.contains("Status")).await?;
    } else {
        page.expect_path(&format!("{path}/edit?field=status")).await?;
        page.expect_heading("Edit status").await?;
    }
    page.choose("Status", "customer").await?;
    page.press("Save").await?;
    page.expect_path(path).await?;
    page.expect_text("Saved.").await?;
    let facts = page.text_of("table.facts").await?;
    ensure!(facts.contains("customer") && facts.contains("Analyst"), "status changed, title kept: {facts}");
    ensure!(page.text_of(".record-head .key-facts").await?.contains("customer"), "the header follows");

    // A note deleted by mistake comes back with the flash's Undo.
    page.fill("body", "Prefers calls after 4pm").await?;
    page.press("Add note").await?;
    if javascript {
        page.press_confirming("Delete note").await?;
    } else {
        page.press("Delete note").await?;
    }
    page.expect_text("The note was deleted.").await?;
    ensure!(page.script("return document.querySelectorAll('article.note').length", vec![]).await? == 0);
    page.press("Undo").await?;
    page.expect_text("The note is back.").await?;
    ensure!(page.text_of("article.note").await?.contains("Prefers calls after 4pm"), "the note is back");
    Ok(())
}

#[tokio::test]
async fn a_contacts_status_is_edited_in_place() {
    let app = spawn_app().await;
    in_browser(&app, "record-inline-edit", async |owner| {
        set_up_firm(&app, owner).await?;
        let path = contact(&app).await?;
        edit_status_in_place(owner, &path, true).await
    })
    .await;
}

#[tokio::test]
async fn without_javascript_a_fact_is_edited_on_its_own_page() {
    let app = spawn_app().await;
    in_browser(&app, "record-inline-edit-nojs", async |owner| {
        set_up_firm(&app, owner).await?;
        let path = contact(&app).await?;
        edit_status_in_place(owner, &path, false).await
    })
    .await;
}
