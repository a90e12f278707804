//! CSV in and out through the pages: upload, column mapping, dry run (with the companies it
//! would create and each rejection explained), commit after confirming the second factor, the
//! error report, export, and an export imported again changing nothing.

use anyhow::{Context, Result, ensure};

use super::journeys::{next_code, set_up_firm};
use super::{Page, in_browser};
use crate::helpers::{TestApp, spawn_app};

/// Fetches a same-origin path from inside the page (as a download link would) and answers
/// `[status, body]`.
const FETCH: &str = r#"
const done = arguments[arguments.length - 1];
fetch(arguments[0], { credentials: "same-origin" })
  .then(async (r) => done([r.status, await r.text()]), (e) => done([0, String(e)]));
"#;

async fn fetch(page: &Page, path: &str) -> Result<(u64, String)> {
    let answer = page.script_async(FETCH, vec![path.into()]).await?;
    let status = answer[0].as_u64().unwrap_or_default();
    Ok((status, answer[1].as_str().unwrap_or_default().to_owned()))
}

/// Uploads `csv` as a contacts import and runs the dry run with the guessed mapping.
async fn upload_and_check(page: &Page, dir: &std::path::Path, name: &str, csv: &str) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, csv)?;
    page.goto("/contacts/import").await?;
    page.attach("file", &path).await?;
    page.press("Upload").await?;
    page.expect_text("Map the columns").await?;
    page.press("Check the import (dry run)").await?;
    page.expect_text("Nothing has been written yet.").await
}

/// Confirms the second factor when an action asks for it (the page returns where it was).
async fn confirm_if_asked(app: &TestApp, page: &Page, secret: &str) -> Result<()> {
    if page.path().await?.starts_with("/account/confirm") {
        page.fill("code", &next_code(app, secret)).await?;
        page.press_within("form[action='/account/confirm']", "Confirm").await?;
    }
    Ok(())
}

#[tokio::test]
async fn contacts_are_imported_and_exported_through_the_pages() {
    let app = spawn_app().await;
    let files = tempfile::tempdir().unwrap();
    in_browser(&app, "csv", async |owner| {
        let secret = set_up_firm(&app, owner).await?;
        let csv = "First name,Last name,Email,Phone,Company,Job title\n\
                   Grace,Hopper,grace@navy.example,+1 555 000 1218,Navy Labs,\"=cmd|' /C calc'!A0\"\n\
                   Alan,Turing,alan@bletchley.example,+44 20 7946 0958,Navy Labs,\n\
                   Bad,Row,not-an-email,,,\n";
        upload_and_check(owner, files.path(), "people.csv", csv).await?;
        owner.expect_text("It would also create 1 company that rows name: Navy Labs.").await?;
        owner.expect_text("Committing would create 2, update 0 and reject 1 rows").await?;
        owner.expect_text("That email address is not valid. (E2003)").await?;

        let dry_run_report = owner.attribute_of("a[href$='errors.csv'], a[href*='errors.csv?']", "href").await?;
        owner.press("Commit the import").await?;
        confirm_if_asked(&app, owner, &secret).await?;
        if owner.path().await?.contains("/check") {
            owner.press("Commit the import").await?;
        }
        owner.expect_path("/imports/").await?;
        owner.expect_text("created 2").await?;
        owner.expect_text("companies created for the rows naming them: 1").await?;
        let report = owner.attribute_of("a[href$='errors.csv']", "href").await?;
        let (status, body) = fetch(owner, &report).await?;
        ensure!(status == 200 && body.contains("E2003"), "the error report after the commit: {status} {body}");
        let (status, body) = fetch(owner, &dry_run_report).await?;
        ensure!(status == 200 && body.contains("E2003"), "the dry run's report link after the commit: {status} {body}");

        owner.goto("/companies").await?;
        owner.expect_text("Navy Labs").await?;

        let (status, exported) = fetch(owner, "/contacts/export.csv").await?;
        ensure!(status == 200, "export answered {status}");
        ensure!(exported.contains("'+1 555 000 1218"), "phone numbers are neutralised for spreadsheets:\n{exported}");
        ensure!(exported.contains("'=cmd|"), "formulas stay neutralised:\n{exported}");
        upload_and_check(owner, files.path(), "export.csv", &exported).await?;
        owner
            .expect_text("Committing would create 0, update 0 and reject 0 rows (2 unchanged)")
            .await
            .context("an export imported again changes nothing")?;
        Ok(())
    })
    .await;
}
