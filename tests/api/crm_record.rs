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
    assert!(header.contains("href=\"#notes\">Add note</a>") && header.contains(">Edit</a>"), "main actions");
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
