//! A record's page: its header (avatar, key facts, actions, section links) and single facts
//! edited on their own — the rest of the record untouched, refused to those who may not edit.

use holdfast::domain::role::Role;
use reqwest::StatusCode;

use crate::helpers::{location, spawn_app};

#[tokio::test]
async fn a_record_page_leads_with_its_key_facts_and_section_links() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let company = location(&owner.submit("/companies/new", "/companies/new", &[("name", "Initech")]).await);
    let company_id = company.rsplit('/').next().unwrap();
    let fields = [
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("email_1", "ada@initech.example"),
        ("email_1_kind", "work"),
        ("company_id", company_id),
        ("status", "prospect"),
    ];
    let path = location(&owner.submit("/contacts/new", "/contacts/new", &fields).await);
    let page = owner.page(&path).await;
    let header = &page[page.find("<header class=\"record-head\">").expect("a record header")..];
    let header = &header[..header.find("</header>").unwrap()];
    assert!(header.contains("class=\"avatar large c") && header.contains(">AL</span>"), "initials avatar: {header}");
    for fact in ["<dt>Company</dt>", "Initech", "<dt>Email</dt>", "ada@initech.example (work)", "<dt>Status</dt>"] {
        assert!(header.contains(fact), "the header shows {fact}");
    }
    assert!(!header.contains("<dt>Background</dt>"), "only the key facts, and only those with a value");
    assert!(header.contains("href=\"#notes\">Write a note</a>") && header.contains(">Edit</a>"), "main actions");
    for link in
        ["href=\"#details\">Details", "href=\"#notes\">Notes (0)", "href=\"#tasks\">Tasks (0)", "href=\"#activity\""]
    {
        assert!(page.contains(link), "section link {link}");
    }
    // A task has no avatar, and its header names what it is about.
    let task = [("title", "Call Ada"), ("subject_kind", "contact"), ("subject_id", path.rsplit('/').next().unwrap())];
    owner.submit(&path, "/tasks/new", &task).await;
    let page = owner.page(&path).await;
    let task_path = page.split("<a href=\"/tasks/").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
    let task_page = owner.page(&format!("/tasks/{task_path}")).await;
    assert!(task_page.contains("<dt>About</dt>") && !task_page.contains("avatar large"), "a task's header");
}

#[tokio::test]
async fn one_fact_is_edited_on_its_own_and_the_rest_stays() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let fields = [("first_name", "Ada"), ("last_name", "Lovelace"), ("title", "Analyst"), ("status", "prospect")];
    let path = location(&owner.submit("/contacts/new", "/contacts/new", &fields).await);
    let page = owner.page(&path).await;
    assert!(page.contains(&format!("href=\"{path}/edit?field=status\" data-inline-edit aria-label=\"Edit status\"")));

    // The fact's own form: only its field, marked as an inline edit.
    let form = owner.page(&format!("{path}/edit?field=status")).await;
    assert!(form.contains("<h1>Edit status</h1>") && form.contains("name=\"status\""));
    assert!(!form.contains("name=\"first_name\"") && !form.contains("name=\"title\""), "no other field");
    assert!(form.contains("name=\"inline\" value=\"status\""));
    let saved = owner
        .submit(
            &format!("{path}/edit?field=status"),
            &format!("{path}/edit"),
            &[("status", "customer"), ("inline", "status")],
        )
        .await;
    assert_eq!(location(&saved), path);
    let page = owner.page(&path).await;
    assert!(
        page.contains("customer") && page.contains("Analyst") && page.contains("Ada Lovelace"),
        "only the status changed"
    );
    assert!(page.contains("changed status"), "the timeline names the one field");

    // A bad value: the small form again with the coded error, nothing saved.
    let refused = owner
        .submit(
            &format!("{path}/edit?field=status"),
            &format!("{path}/edit"),
            &[("status", "royalty"), ("inline", "status")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("<h1>Edit status</h1>") && html.contains("(E2") && !html.contains("name=\"first_name\""));

    // An unknown fact is the whole form.
    assert!(owner.page(&format!("{path}/edit?field=nonsense")).await.contains("name=\"first_name\""));
}

#[tokio::test]
async fn a_fact_edited_alone_leaves_the_records_checkboxes_as_they_were() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let path = location(&owner.submit("/deals/new", "/deals/new", &[("name", "Renewal"), ("stage", "lead")]).await);
    let archived = [("name", "Renewal"), ("stage", "lead"), ("archived", "on")];
    owner.submit(&format!("{path}/edit"), &format!("{path}/edit"), &archived).await;
    assert!(owner.page(&path).await.contains("<th scope=\"row\">Archived</th><td><span class=\"pre\">yes"));
    let amount = [("amount", "9000"), ("currency", "EUR"), ("inline", "amount")];
    owner.submit(&format!("{path}/edit?field=amount"), &format!("{path}/edit"), &amount).await;
    let page = owner.page(&path).await;
    assert!(page.contains("9,000.00 EUR"), "the amount changed");
    assert!(page.contains("<th scope=\"row\">Archived</th><td><span class=\"pre\">yes"), "still archived");
}

#[tokio::test]
async fn a_viewer_gets_no_inline_edit_and_may_not_post_one() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let path = location(
        &owner.submit("/contacts/new", "/contacts/new", &[("last_name", "Lovelace"), ("title", "Analyst")]).await,
    );
    let viewer = app.user_with_role("Acme Ltd", "vic@acme.example", Role::ViewOnly).await;
    assert!(!viewer.page(&path).await.contains("data-inline-edit"), "no Edit beside the facts");
    assert_eq!(viewer.get(&format!("{path}/edit?field=title")).await.status(), StatusCode::FORBIDDEN);
    let response = viewer.submit(&path, &format!("{path}/edit"), &[("title", "Vandal"), ("inline", "title")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(owner.page(&path).await.contains("Analyst"), "unchanged");
}

/// The Undo form's action in a page's flash, if any.
fn undo_action(html: &str) -> Option<String> {
    let flash = &html[html.find("class=\"flash ok\"")?..];
    let flash = &flash[..flash.find("</div>")?];
    let action = flash.split("action=\"").nth(1)?;
    Some(action.split('"').next()?.to_owned())
}

#[tokio::test]
async fn a_deleted_note_or_task_comes_back_with_undo_for_its_deleter_only() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let path = location(&owner.submit("/contacts/new", "/contacts/new", &[("last_name", "Lovelace")]).await);
    let id = path.rsplit('/').next().unwrap().to_owned();
    let note = [("subject_kind", "contact"), ("subject_id", id.as_str()), ("body", "Prefers calls after 4pm")];
    owner.submit(&path, "/notes/new", &note).await;
    let page = owner.page(&path).await;
    let note_id = page.split("href=\"/notes/").nth(1).and_then(|rest| rest.split('/').next()).unwrap().to_owned();

    // Deleted: the flash offers Undo; undone, the same note is back, once.
    let deleted = owner.submit(&path, &format!("/notes/{note_id}/delete"), &[]).await;
    let back = deleted.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(back, format!("{path}?notice=note-deleted&undo=notes/{note_id}#notes"));
    let page = owner.page(&back).await;
    assert!(page.contains("The note was deleted."), "the flash");
    // (The timeline keeps its line "added a note — …"; the note itself is gone.)
    assert!(!page.contains("<p>Prefers calls after 4pm</p>"), "the note is gone");
    let undo = undo_action(&page).expect("an Undo button in the flash");
    assert_eq!(undo, format!("/notes/{note_id}/restore"));
    // Someone else — even an owner-level colleague — can't put it back, nor see the offer.
    let manager = app.user_with_role("Acme Ltd", "mia@acme.example", Role::Manager).await;
    assert!(undo_action(&manager.page(&back).await).is_none(), "no Undo for another user");
    assert_eq!(manager.submit(&path, &undo, &[]).await.status(), StatusCode::NOT_FOUND);
    let restored = owner.submit(&back, &undo, &[]).await;
    assert_eq!(location(&restored), format!("{path}?notice=note-restored"));
    let page = owner.page(&format!("{path}?notice=note-restored")).await;
    assert!(page.contains("The note is back.") && page.contains("<p>Prefers calls after 4pm</p>"));
    assert_eq!(owner.submit(&path, &undo, &[]).await.status(), StatusCode::NOT_FOUND, "undone once");
    assert!(page.contains(&format!("action=\"/notes/{note_id}/delete\"")), "the same note, same id");

    // A task: back on the record it was about, with its undo; after ten minutes, gone for good.
    let task = [("title", "Call back"), ("subject_kind", "contact"), ("subject_id", id.as_str())];
    owner.submit(&path, "/tasks/new", &task).await;
    let page = owner.page(&path).await;
    let task_id = page.split("<a href=\"/tasks/").nth(1).and_then(|rest| rest.split('"').next()).unwrap().to_owned();
    let deleted = owner.submit(&format!("/tasks/{task_id}"), &format!("/tasks/{task_id}/delete"), &[]).await;
    let back = location(&deleted);
    assert_eq!(back, format!("{path}?notice=task-deleted&undo=tasks/{task_id}#tasks"), "back on the contact");
    let page = owner.page(&back).await;
    let listed = format!("<a href=\"/tasks/{task_id}\">Call back</a>");
    assert!(page.contains("The task was deleted.") && !page.contains(&listed));
    let undo = undo_action(&page).expect("an Undo button for the task");
    assert_eq!(location(&owner.submit(&path, &undo, &[]).await), format!("{path}?notice=task-restored"));
    assert!(owner.page(&path).await.contains(&listed), "the task is back");

    owner.submit(&format!("/tasks/{task_id}"), &format!("/tasks/{task_id}/delete"), &[]).await;
    app.clock.advance(time::Duration::minutes(11));
    assert_eq!(owner.submit(&path, &undo, &[]).await.status(), StatusCode::NOT_FOUND, "too late");
    assert!(!owner.page(&path).await.contains(&listed));
}
