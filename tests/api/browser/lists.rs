//! The list pages in a real browser, with script and without: remove a filter chip, sort by a
//! header, jump to a page and step back, choose columns, check rows (with script the bar
//! counts them and sticks to the window's bottom), save a view and open it.

use anyhow::{Result, ensure};

use super::journeys::set_up_firm;
use super::{Page, in_browser};
use crate::helpers::{TestApp, spawn_app};

async fn seed_contacts(app: &TestApp) {
    let plan = holdfast::app::crm::seed::SeedPlan { contacts: 120, companies: 0, deals: 0, seed: 20 };
    app.app.records().seed("Acme Ltd", plan, |_, _| {}).await.expect("seeded");
}

/// A chip, a header, the jump form, the previous link and the column chooser: the same steps
/// and the same pages with script or without.
async fn browse(page: &Page) -> Result<()> {
    page.goto("/contacts?tag=vip&sort=newest").await?;
    page.press("Remove filter Tag: vip ✕").await?;
    page.expect_path("/contacts?sort=newest").await?;
    page.expect_text("1–50 of 120").await?;
    page.expect_no_text("Tag: vip").await?;
    let sorted = page.script("return document.querySelectorAll('th[aria-sort]').length", vec![]).await?;
    ensure!(sorted == 0, "newest first is no column's order");

    page.press("Name").await?;
    page.expect_path("/contacts?sort=name").await?;
    ensure!(page.text_of("th[aria-sort=ascending]").await? == "Name", "the name column is the order");

    page.fill("page", "3").await?;
    page.press("Go").await?;
    page.expect_text("101–120 of 120").await?;
    page.press("Previous page").await?;
    page.expect_text("51–100 of 120").await?;

    page.open_details("Columns").await?;
    page.script("document.querySelector('input[name=cols][value=title]').click()", vec![]).await?;
    page.press("Show columns").await?;
    let headers =
        page.script("return [...document.querySelectorAll('thead th')].map((h) => h.textContent)", vec![]).await?;
    ensure!(!headers.to_string().contains("Title") && headers.to_string().contains("Email"), "{headers}");
    page.expect_text("1–50 of 120").await?;
    Ok(())
}

/// Checks the first two rows as a person clicks them.
async fn check_two_rows(page: &Page) -> Result<()> {
    let click = "const boxes = document.querySelectorAll('tbody input[name=ids]'); boxes[0].click(); boxes[1].click();";
    page.script(click, vec![]).await?;
    Ok(())
}

/// Tags the checked rows from the bulk bar and sees it done.
async fn tag_checked(page: &Page) -> Result<()> {
    page.choose("action", "Add tag").await?;
    page.script("document.querySelector('.bulk-bar input[name=tag]').value = 'picked'", vec![]).await?;
    page.press("Apply to selected").await?;
    page.expect_text("The selected records were changed.").await
}

/// Saves the list filtered by `tag` as `name`, then opens it from its tab.
async fn save_and_open_view(page: &Page, tag: &str, name: &str) -> Result<()> {
    page.goto(&format!("/contacts?tag={tag}")).await?;
    page.open_details("Save view").await?;
    page.fill("View name", name).await?;
    page.press("Save view").await?;
    page.goto("/contacts").await?;
    page.press(name).await?;
    page.expect_path(&format!("/contacts?tag={tag}")).await?;
    page.expect_text(&format!("Tag: {tag}")).await
}

const BAR_POSITION: &str = "return getComputedStyle(document.querySelector('.bulk-bar')).position";

#[tokio::test]
async fn lists_sort_page_filter_and_choose_columns_with_and_without_javascript() {
    let app = spawn_app().await;
    in_browser(&app, "lists-browse", async |owner| {
        set_up_firm(&app, owner).await?;
        seed_contacts(&app).await;
        browse(owner).await?;
        owner.without_javascript().await?;
        browse(owner).await
    })
    .await;
}

#[tokio::test]
async fn checked_rows_are_counted_and_views_saved_with_and_without_javascript() {
    let app = spawn_app().await;
    in_browser(&app, "lists-select", async |owner| {
        set_up_firm(&app, owner).await?;
        seed_contacts(&app).await;
        owner.viewport(1280, 700).await?;
        owner.goto("/contacts").await?;
        check_two_rows(owner).await?;
        owner.wait_for_text_of(".bulk-count", |t| t == "2 selected").await?;
        ensure!(owner.script(BAR_POSITION, vec![]).await? == "sticky", "the bar sticks to the window's bottom");
        owner.script("document.querySelector('input.select-all').click()", vec![]).await?;
        owner.wait_for_text_of(".bulk-count", |t| t == "50 selected").await?;
        owner.script("document.querySelector('input.select-all').click()", vec![]).await?;
        check_two_rows(owner).await?;
        tag_checked(owner).await?;
        save_and_open_view(owner, "picked", "Picked").await?;
        owner.expect_text("1–2 of 2").await?;

        owner.without_javascript().await?;
        owner.goto("/contacts").await?;
        let hidden =
            "return [document.querySelector('.bulk-count').hidden, document.querySelector('input.select-all').hidden]";
        ensure!(
            owner.script(hidden, vec![]).await? == serde_json::json!([true, true]),
            "nothing that needs script shows"
        );
        check_two_rows(owner).await?;
        ensure!(owner.script(BAR_POSITION, vec![]).await? != "sticky", "the bar stays under the list");
        tag_checked(owner).await?;
        save_and_open_view(owner, "vip", "VIPs").await
    })
    .await;
}
