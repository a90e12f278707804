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

/// 250 seeded companies plus "Zzyzx Labs", last by name: beyond the 200 a form carries.
async fn many_companies(app: &TestApp) -> Result<()> {
    let plan = holdfast::app::crm::seed::SeedPlan { contacts: 0, companies: 250, deals: 0, seed: 7 };
    app.app.records().seed("Acme Ltd", plan, |_, _| {}).await?;
    let token = app.app.tokens().create_for_email(OWNER_EMAIL, "test data").await?;
    let api = Api { client: app.client.clone(), base: app.base.clone(), token };
    api.create("/api/v1/companies", json!({"name": "Zzyzx Labs"})).await;
    api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
    Ok(())
}

#[tokio::test]
async fn pickers_find_a_company_beyond_the_first_200_and_a_deals_contacts_by_keyboard() {
    let app = spawn_app().await;
    in_browser(&app, "record-pickers", async |owner| {
        set_up_firm(&app, owner).await?;
        many_companies(&app).await?;
        // The search index catches up in the background.
        for _ in 0..50 {
            owner.goto("/search?q=Zzyzx").await?;
            if owner.text().await?.contains("Zzyzx Labs") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }

        owner.goto("/contacts/new").await?;
        ensure!(owner.script("return document.querySelector('select[name=company_id]').hidden", vec![]).await? == true);
        ensure!(
            owner.script("return [...document.querySelector('select[name=company_id]').options].some((o) => o.text === 'Zzyzx Labs')", vec![]).await? == false,
            "the form carries only the first 200 companies"
        );
        owner.fill("first_name", "Grace").await?;
        owner.fill("last_name", "Hopper").await?;
        owner.choose("Company", "Zzyzx Labs").await?;
        owner.press("Save").await?;
        owner.expect_text("Grace Hopper").await?;
        ensure!(owner.text_of(".record-head .key-facts").await?.contains("Zzyzx Labs"), "the company was picked");

        // A deal's contacts: typed, chosen with the arrow keys and Enter, shown as a removable chip.
        owner.goto("/deals/new").await?;
        owner.fill("name", "Renewal").await?;
        owner.fill("Contacts", "Lovel").await?;
        owner.wait_for_text_of("ul.picker-list:not([hidden])", |t| t.contains("Ada Lovelace")).await?;
        owner.keys("\u{E015}").await?;
        owner.keys("\u{E007}").await?;
        owner.wait_for_text_of(".picker-chips", |t| t.contains("Ada Lovelace")).await?;
        owner.press("Save").await?;
        owner.expect_text("Renewal").await?;
        owner.expect_text("Ada Lovelace").await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn without_javascript_the_pickers_are_plain_selects() {
    let app = spawn_app().await;
    in_browser(&app, "record-pickers-nojs", async |owner| {
        set_up_firm(&app, owner).await?;
        owner.without_javascript().await?;
        let token = app.app.tokens().create_for_email(OWNER_EMAIL, "test data").await?;
        let api = Api { client: app.client.clone(), base: app.base.clone(), token };
        api.create("/api/v1/companies", json!({"name": "Zenith Labs"})).await;
        owner.goto("/contacts/new").await?;
        ensure!(owner.script("return document.querySelectorAll('.picker').length", vec![]).await? == 0, "no picker");
        owner.fill("last_name", "Hopper").await?;
        owner.choose("Company", "Zenith Labs").await?;
        owner.press("Save").await?;
        ensure!(owner.text_of(".record-head .key-facts").await?.contains("Zenith Labs"), "the company was chosen");
        Ok(())
    })
    .await;
}
