//! The CRM through its forms: companies, contacts and deals created, edited and deleted; a
//! deal dragged across the board; notes and tasks; search as you type.

use anyhow::Result;

use super::journeys::set_up_firm;
use super::{Page, in_browser};
use crate::helpers::spawn_app;

/// Drags the card titled `deal` onto the board's column number `column` (0-based) with the
/// same drag events a mouse makes (WebDriver can't replay an HTML drag and drop in Chromium).
const DRAG: &str = r#"
const [deal, column] = arguments;
const card = [...document.querySelectorAll("[data-deal]")].find((c) => c.textContent.includes(deal));
const target = document.querySelectorAll("[data-stage]")[column];
const data = new DataTransfer();
card.dispatchEvent(new DragEvent("dragstart", { bubbles: true, dataTransfer: data }));
target.dispatchEvent(new DragEvent("dragover", { bubbles: true, cancelable: true, dataTransfer: data }));
target.dispatchEvent(new DragEvent("drop", { bubbles: true, cancelable: true, dataTransfer: data }));
card.dispatchEvent(new DragEvent("dragend", { bubbles: true, dataTransfer: data }));
return target.dataset.stage;
"#;

#[tokio::test]
async fn records_are_created_edited_and_deleted_through_the_forms() {
    let app = spawn_app().await;
    in_browser(&app, "crm-forms", async |owner| {
        set_up_firm(&app, owner).await?;

        owner.goto("/companies/new").await?;
        owner.fill("name", "Northwind Traders").await?;
        owner.fill("website", "northwind.example").await?;
        owner.press("Save").await?;
        owner.expect_text("Northwind Traders").await?;
        owner.press("Edit").await?;
        owner.fill("name", "Northwind Trading").await?;
        owner.press("Save").await?;
        owner.expect_text("Northwind Trading").await?;
        owner.expect_text("Saved").await?;

        owner.goto("/contacts/new").await?;
        owner.fill("first_name", "Ada").await?;
        owner.fill("last_name", "Lovelace").await?;
        owner.fill("email_1", "ada@northwind.example").await?;
        owner.choose("company_id", "Northwind Trading").await?;
        owner.press("Save").await?;
        owner.expect_text("Ada Lovelace").await?;
        owner.press("Edit").await?;
        owner.fill("title", "Chief analyst").await?;
        owner.press("Save").await?;
        owner.expect_text("Saved.").await?;
        owner.expect_text("Chief analyst").await?;

        owner.fill("body", "**Call summary**: renewal in spring").await?;
        owner.press("Add note").await?;
        owner.expect_text("Call summary: renewal in spring").await?;
        owner.expect_no_text("**Call summary**").await?;

        owner.open_details("Add a task").await?;
        owner.fill("title", "Send the renewal quote").await?;
        owner.press("Add task").await?;
        owner.expect_text("Send the renewal quote").await?;
        owner.press("Done").await?;
        owner.expect_text("Task marked done").await?;

        owner.goto("/deals/new").await?;
        owner.fill("name", "Northwind renewal").await?;
        owner.fill("amount", "12000").await?;
        owner.press("Save").await?;
        owner.expect_text("Northwind renewal").await?;

        owner.goto("/deals").await?;
        let first = owner.text_of("[data-stage] h2").await?;
        anyhow::ensure!(first.ends_with("(1)"), "the new deal is in the first column: {first}");
        let stage = owner.script(DRAG, vec!["Northwind renewal".into(), 1.into()]).await?;
        let stage = stage.as_str().unwrap_or_default().to_owned();
        // The columns' counts follow the card at once, without a reload.
        owner.wait_for_text_of("[data-stage] h2", |t| t.ends_with("(0)")).await?;
        owner.goto("/deals").await?;
        let moved = owner.text_of(&format!("[data-stage=\"{stage}\"]")).await?;
        anyhow::ensure!(moved.contains("Northwind renewal"), "after a reload the card stays in {stage}: {moved}");

        owner.press("Northwind renewal").await?;
        owner.press("Edit").await?;
        owner.fill("amount", "15000").await?;
        owner.press("Save").await?;
        owner.expect_text("15,000").await?;
        owner.press_confirming("Delete").await?;
        owner.expect_path("/deals").await?;
        owner.expect_text("The record was deleted.").await?;

        search_as_you_type(owner).await?;

        owner.goto("/contacts").await?;
        owner.press("Ada Lovelace").await?;
        owner.press_confirming("Delete").await?;
        owner.expect_path("/contacts").await?;
        owner.expect_no_text("Ada Lovelace").await?;

        owner.goto("/companies").await?;
        owner.press("Northwind Trading").await?;
        owner.press_confirming("Delete").await?;
        owner.expect_text("The record was deleted.").await?;
        owner.expect_no_text("Northwind Trading").await?;
        Ok(())
    })
    .await;
}

/// The board's cards carry no form controls: each has a "Move…" menu that a keyboard reaches
/// and that moves the card, with script and without; the columns' counts follow.
#[tokio::test]
async fn a_deal_moves_from_its_cards_menu_by_keyboard_with_and_without_javascript() {
    let app = spawn_app().await;
    in_browser(&app, "board-menu", async |owner| {
        set_up_firm(&app, owner).await?;
        for name in ["Northwind renewal", "Contoso pilot"] {
            owner.goto("/deals/new").await?;
            owner.fill("name", name).await?;
            owner.press("Save").await?;
        }
        owner.goto("/deals").await?;
        let controls =
            "return document.querySelectorAll('[data-board] select, [data-board] input:not([type=hidden])').length";
        let found = owner.script(controls, vec![]).await?;
        anyhow::ensure!(found == 0, "form controls on the board: {found}");
        let counts = "return [...document.querySelectorAll('[data-stage] h2')].map((h) => h.textContent.trim())";
        let before = owner.script(counts, vec![]).await?;
        anyhow::ensure!(before[0].as_str().unwrap_or_default().ends_with("(2)"), "{before}");

        // Keyboard only: Enter on the card's menu, Enter on the second stage.
        owner.press_enter_on("[data-deal] details.move-menu > summary").await?;
        owner.press_enter_on("[data-deal] details.move-menu[open] button[name=stage]:not([disabled])").await?;
        owner.expect_path("/deals").await?;
        owner.expect_text("The deal was moved.").await?;
        let after = owner.script(counts, vec![]).await?;
        anyhow::ensure!(after[0].as_str().unwrap_or_default().ends_with("(1)"), "{after}");
        anyhow::ensure!(after[1].as_str().unwrap_or_default().ends_with("(1)"), "{after}");

        // Without script the menu is a plain form.
        owner.without_javascript().await?;
        owner.goto("/deals").await?;
        owner.open_details("Move…").await?;
        owner.press("Won").await?;
        owner.expect_path("/deals").await?;
        let won = owner.text_of("[data-stage=won]").await?;
        anyhow::ensure!(won.contains("(1)"), "the card went to Won without script: {won}");
        Ok(())
    })
    .await;
}

/// A note's time reads relative ("just now") with the exact time on hover; without script the
/// exact time shows.
#[tokio::test]
async fn activity_times_read_relative_with_the_exact_time_on_hover() {
    let app = spawn_app().await;
    in_browser(&app, "relative-times", async |owner| {
        set_up_firm(&app, owner).await?;
        owner.goto("/contacts/new").await?;
        owner.fill("first_name", "Ada").await?;
        owner.fill("last_name", "Lovelace").await?;
        owner.press("Save").await?;
        owner.fill("body", "Called about the renewal").await?;
        owner.press("Add note").await?;
        let contact = owner.path().await?;
        let shown = owner.text_of(".note time[data-ago]").await?;
        let exact = owner.attribute_of(".note time[data-ago]", "title").await?;
        anyhow::ensure!(shown == "just now", "relative: {shown:?}");
        anyhow::ensure!(exact.ends_with(" UTC") && exact.starts_with("20"), "exact on hover: {exact:?}");

        owner.without_javascript().await?;
        owner.goto(&contact).await?;
        let plain = owner.text_of(".note time[data-ago]").await?;
        anyhow::ensure!(plain == exact, "without script the exact time: {plain:?}");
        Ok(())
    })
    .await;
}

/// The header's search box suggests records while typing; a suggestion opens the record.
async fn search_as_you_type(page: &Page) -> Result<()> {
    page.goto("/").await?;
    page.type_slowly("q", "Lovel").await?;
    page.wait_for_text_of("#search-suggestions", |t| t.contains("Ada Lovelace")).await?;
    page.press("Ada Lovelace").await?;
    page.expect_path("/contacts/").await
}
