//! First run: a new firm's dashboard teaches. Its owner sees the onboarding checklist (each step
//! a link, ticked as it is done) and, with no contact yet, what contacts are for with the first
//! steps; "Dismiss" hides the checklist for the workspace, with and without JavaScript.

use anyhow::{Result, ensure};
use serde_json::json;

use super::journeys::set_up_firm;
use super::{Page, in_browser};
use crate::helpers::spawn_app;

/// The checklist's steps as `[label, done]` pairs (empty: no checklist).
async fn checklist(page: &Page) -> Result<Vec<(String, bool)>> {
    let found = page
        .script(
            "return [...document.querySelectorAll('.onboarding .checklist li')].map((li) => [li.querySelector('a').textContent.trim(), li.classList.contains('done')])",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(found)?)
}

fn done(steps: &[(String, bool)], label: &str) -> Option<bool> {
    steps.iter().find(|(l, _)| l == label).map(|(_, d)| *d)
}

async fn first_run(page: &Page, javascript: bool) -> Result<()> {
    if !javascript {
        page.without_javascript().await?;
    }
    page.goto("/").await?;
    let steps = checklist(page).await?;
    let labels: Vec<&str> = steps.iter().map(|(l, _)| l.as_str()).collect();
    ensure!(
        labels
            == [
                "Add your first contact",
                "Import contacts from a CSV",
                "Invite your team",
                "Turn on two-factor sign-in",
                "Set up backups"
            ],
        "the checklist's steps: {steps:?}"
    );
    for label in ["Add your first contact", "Import contacts from a CSV", "Invite your team", "Set up backups"] {
        ensure!(done(&steps, label) == Some(false), "{label} is not done on a new firm: {steps:?}");
    }
    // Setup enrolled the owner's authenticator.
    ensure!(done(&steps, "Turn on two-factor sign-in") == Some(true), "two-factor sign-in is on: {steps:?}");

    // No contact yet: what contacts are for, and the first steps.
    page.expect_text("No contacts yet").await?;
    page.expect_text("Contacts are the people you work with").await?;
    page.press("Import a CSV").await?;
    page.expect_path("/contacts/import").await?;
    page.goto("/").await?;

    // The step's link leads to the form; a contact added ticks it and ends the empty state.
    page.press("Add your first contact").await?;
    page.expect_path("/contacts/new").await?;
    page.fill("first_name", "Ada").await?;
    page.fill("last_name", "Lovelace").await?;
    page.press("Save").await?;
    page.expect_text("Ada Lovelace").await?;
    // The new record's sections teach too.
    page.expect_text("No notes yet. Notes keep what was said and decided").await?;
    page.expect_text("No tasks yet.").await?;
    page.goto("/").await?;
    let steps = checklist(page).await?;
    ensure!(done(&steps, "Add your first contact") == Some(true), "the first step is ticked: {steps:?}");
    ensure!(done(&steps, "Set up backups") == Some(false), "the others are not: {steps:?}");
    page.expect_no_text("No contacts yet").await?;

    // Dismissed: gone, after a reload too.
    page.press("Dismiss").await?;
    page.expect_path("/").await?;
    ensure!(checklist(page).await?.is_empty(), "the checklist is dismissed");
    page.goto("/").await?;
    ensure!(checklist(page).await?.is_empty(), "it stays dismissed");
    let form = page
        .script("return document.querySelectorAll('form[action=\"/onboarding/dismiss\"]').length", vec![json!(null)])
        .await?;
    ensure!(form == 0, "no dismiss form left: {form}");
    Ok(())
}

#[tokio::test]
async fn a_new_firms_owner_sees_the_checklist_ticks_a_step_and_dismisses_it() {
    let app = spawn_app().await;
    in_browser(&app, "first-run-checklist", async |owner| {
        set_up_firm(&app, owner).await?;
        first_run(owner, true).await
    })
    .await;
}

#[tokio::test]
async fn without_javascript_the_checklist_works_and_dismisses() {
    let app = spawn_app().await;
    in_browser(&app, "first-run-nojs", async |owner| {
        set_up_firm(&app, owner).await?;
        first_run(owner, false).await
    })
    .await;
}
