//! The command palette: Ctrl K opens a dialog listing actions (filtered as one types) and the
//! records the search suggestions find; arrow keys and Enter choose, Escape closes and gives the
//! focus back. Staff see no settings in it; without script its top-bar hint leads to /search.

use anyhow::{Context, Result, bail, ensure};
use serde_json::json;

use super::journeys::{next_code, set_up_firm};
use super::{Page, finish, in_browser};
use crate::helpers::{Api, OWNER_EMAIL, TestApp, USER_PASSWORD, spawn_app};

const CTRL_K: &str = "\u{E009}k\u{E000}";
const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";

async fn owner_api(app: &TestApp) -> Api {
    let token = app.app.tokens().create_for_email(OWNER_EMAIL, "test data").await.expect("token");
    Api { client: app.client.clone(), base: app.base.clone(), token }
}

async fn palette_open(page: &Page) -> Result<bool> {
    Ok(page.script("return document.getElementById('palette').open", vec![]).await? == true)
}

/// The text of the palette's chosen option, once it contains `text` (waits for suggestions).
async fn wait_for_active(page: &Page, text: &str) -> Result<()> {
    for _ in 0..40 {
        let active = page
            .script(
                "const id = document.querySelector('#palette input').getAttribute('aria-activedescendant'); \
                 return id ? document.getElementById(id).textContent : ''",
                vec![],
            )
            .await?;
        if active.as_str().is_some_and(|t| t.contains(text)) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bail!("the palette never chose {text:?}")
}

/// The texts of the palette's options.
async fn options(page: &Page) -> Result<Vec<String>> {
    let found = page
        .script(
            "return [...document.querySelectorAll('#palette [role=option]')].map((o) => o.textContent.trim())",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(found)?)
}

#[tokio::test]
async fn ctrl_k_opens_the_palette_which_runs_actions_and_finds_records() {
    let app = spawn_app().await;
    let Some(owner) = Page::open(&app, "palette-owner").await else { return };
    let mut pages = Vec::new();
    let journey = async {
        set_up_firm(&app, &owner).await?;
        let api = owner_api(&app).await;
        let contact = api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
        let contact_path = format!("/contacts/{}", contact["id"].as_str().context("an id")?);

        // Ctrl K, "new con", Enter: the new-contact form.
        owner.goto("/contacts").await?;
        ensure!(!palette_open(&owner).await?, "the palette starts closed");
        owner.keys(CTRL_K).await?;
        ensure!(palette_open(&owner).await?, "Ctrl K opens the palette");
        let focused = owner.script("return document.activeElement.getAttribute('role')", vec![]).await?;
        ensure!(focused == "combobox", "the palette's field has the focus: {focused}");
        let all = options(&owner).await?;
        ensure!(all.contains(&"Settings → Users".to_owned()), "the owner may open the users' settings: {all:?}");
        owner.keys("new con").await?;
        let shown = owner
            .script(
                "return [...document.querySelectorAll('#palette [role=option]')].filter((o) => !o.hidden).map((o) => o.textContent)",
                vec![],
            )
            .await?;
        ensure!(shown == json!(["New contact"]), "filtered as one types: {shown}");
        wait_for_active(&owner, "New contact").await?;
        owner.keys(ENTER).await?;
        owner.expect_path("/contacts/new").await?;

        // A contact's name: the suggestions find it; arrow keys move, Enter opens it.
        owner.goto("/contacts").await?;
        owner.keys(CTRL_K).await?;
        owner.keys("Lovelace").await?;
        wait_for_active(&owner, "Ada Lovelace").await?;
        owner.keys("\u{E015}\u{E013}").await?; // Down, then Up: back on the record.
        wait_for_active(&owner, "Ada Lovelace").await?;
        owner.keys(ENTER).await?;
        owner.expect_path(&contact_path).await?;

        // The top bar's hint opens it too; Escape closes it and the focus goes back.
        owner.goto("/deals").await?;
        owner.script("document.querySelector('[data-palette-open]').focus()", vec![]).await?;
        owner.keys(ENTER).await?;
        ensure!(palette_open(&owner).await?, "the hint opens the palette");
        owner.keys(ESCAPE).await?;
        ensure!(!palette_open(&owner).await?, "Escape closes the palette");
        let back = owner.script("return document.activeElement.hasAttribute('data-palette-open')", vec![]).await?;
        ensure!(back == true, "the focus returns to the hint");
        owner.expect_path("/deals").await?;

        // A member of staff: actions, but no settings.
        let password = secrecy::SecretString::from(USER_PASSWORD.to_owned());
        app.app
            .users()
            .create("Acme Ltd", "sam@acme.example", "Sam Staff", holdfast::domain::role::Role::Staff, None, &password)
            .await?;
        let Some(staff) = Page::open(&app, "palette-staff").await else { return Ok(()) };
        pages.push(staff);
        let staff = &pages[0];
        staff.goto("/login").await?;
        staff.fill("email", "sam@acme.example").await?;
        staff.fill("password", USER_PASSWORD).await?;
        staff.press("Sign in").await?;
        let key = staff.text_of("li code").await?;
        staff.fill("code", &next_code(&app, &key)).await?;
        staff.press("Turn on").await?;
        staff.press("I have saved them").await?;
        staff.expect_path("/").await?;
        staff.keys(CTRL_K).await?;
        ensure!(palette_open(staff).await?, "staff have the palette");
        let theirs = options(staff).await?;
        ensure!(theirs.contains(&"Go to contacts".to_owned()), "staff go to contacts: {theirs:?}");
        ensure!(!theirs.iter().any(|o| o.starts_with("Settings")), "no settings for staff: {theirs:?}");
        Ok(())
    };
    let result = journey.await;
    pages.insert(0, owner);
    finish(result, pages).await;
}

#[tokio::test]
async fn without_javascript_the_palette_hint_leads_to_search() {
    let app = spawn_app().await;
    in_browser(&app, "palette-nojs", async |owner| {
        set_up_firm(&app, owner).await?;
        owner.without_javascript().await?;
        owner.goto("/contacts").await?;
        owner.press("Jump to Ctrl K").await?;
        owner.expect_path("/search").await?;
        Ok(())
    })
    .await;
}
