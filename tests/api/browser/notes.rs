//! Notes are edited and deleted where they are shown; a duplicate is merged by finding it by
//! name, not by typing its id.

use super::in_browser;
use super::journeys::set_up_firm;
use crate::helpers::spawn_app;

#[tokio::test]
async fn notes_are_edited_and_deleted_and_duplicates_are_found_to_merge() {
    let app = spawn_app().await;
    in_browser(&app, "notes", async |owner| {
        set_up_firm(&app, owner).await?;
        for (first, last, email) in
            [("Grace", "Hopper", "grace@navy.example"), ("Grace", "Hopper", "ghopper@home.example")]
        {
            owner.goto("/contacts/new").await?;
            owner.fill("first_name", first).await?;
            owner.fill("last_name", last).await?;
            owner.fill("email_1", email).await?;
            owner.press("Save").await?;
            owner.expect_text("Saved.").await?;
        }

        owner.fill("body", "First *draft* of the call notes").await?;
        owner.press("Add note").await?;
        owner.expect_text("First draft of the call notes").await?;
        owner.press("Edit note").await?;
        owner.expect_heading("Edit note").await?;
        owner.fill("body", "Final call notes: **renewal agreed**").await?;
        owner.press("Save").await?;
        owner.expect_text("Final call notes: renewal agreed").await?;
        let notes = owner.text_of("article.note").await?;
        anyhow::ensure!(!notes.contains("First draft"), "the note was replaced: {notes}");
        owner.press_confirming("Delete note").await?;
        owner.expect_text("The note was deleted.").await?;
        let left = owner.script("return document.querySelectorAll('article.note').length", vec![]).await?;
        anyhow::ensure!(left == 0, "no note left, {left} shown");

        owner.open_details("Merge a duplicate into this contact").await?;
        owner.fill("merge_q", "grace").await?;
        owner.press("Find").await?;
        owner.expect_text("Grace Hopper").await?;
        owner.press_confirming("Merge into this").await?;
        owner.expect_text("ghopper@home.example").await?;
        owner.expect_text("grace@navy.example").await?;
        owner.goto("/contacts?q=grace").await?;
        let rows = owner.script("return document.querySelectorAll('table tbody tr').length", vec![]).await?;
        anyhow::ensure!(rows == 1, "one Grace Hopper after the merge, {rows} rows");
        Ok(())
    })
    .await;
}
