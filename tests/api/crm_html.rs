//! The CRM pages driven like a browser: forms with CSRF tokens, validation re-renders, notes
//! with hostile Markdown, the deal board's move form, roles and the tenancy boundary.

use holdfast::domain::role::Role;
use proptest::prelude::*;
use reqwest::StatusCode;

use crate::helpers::{Browser, TestApp, csrf_token, location, spawn_app};

async fn create_contact(browser: &Browser, fields: &[(&str, &str)]) -> String {
    location(&browser.submit("/contacts/new", "/contacts/new", fields).await)
}

/// Whether the page holds a `<script` other than the layout's own script tag.
fn reflects_script(html: &str) -> bool {
    html.to_lowercase().matches("<script").count() != html.matches("<script nonce=").count()
}

#[tokio::test]
async fn a_contact_made_with_the_form_is_listed_shown_and_edited() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let company = location(&owner.submit("/companies/new", "/companies/new", &[("name", "Initech")]).await);
    let company_id = company.rsplit('/').next().unwrap();
    let path = create_contact(
        &owner,
        &[
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("title", "Analyst"),
            ("email_1", "Ada@Initech.example"),
            ("email_1_kind", "work"),
            ("phone_1", "+44 20 7946 0958"),
            ("company_id", company_id),
            ("status", "prospect"),
            ("tags", "VIP, board"),
        ],
    )
    .await;
    assert!(path.starts_with("/contacts/"), "{path}");

    let list = owner.page("/contacts").await;
    for text in ["Ada Lovelace", "Analyst", "Initech", "ada@initech.example", "prospect", "vip, board", "Olive Owner"] {
        assert!(list.contains(text), "list shows {text}");
    }
    let filtered = owner.page("/contacts?status=lead").await;
    assert!(!filtered.contains("Ada Lovelace"), "the status filter applies");

    let page = owner.page(&path).await;
    assert!(page.contains("Ada Lovelace") && page.contains("Initech") && page.contains("created this"));
    assert!(page.contains(&format!("href=\"{path}/edit\"")), "the owner may edit");
    assert!(owner.page(&company).await.contains("Ada Lovelace"), "the company lists its contacts");

    let edit = owner.page(&format!("{path}/edit")).await;
    assert!(edit.contains("value=\"ada@initech.example\""), "the edit form is prefilled");
    let saved =
        owner.submit(&format!("{path}/edit"), &format!("{path}/edit"), &[("last_name", "King"), ("title", "")]).await;
    assert_eq!(location(&saved), path);
    let page = owner.page(&path).await;
    assert!(page.contains("Ada King") && !page.contains("Analyst"), "edited: renamed, title cleared");
    assert!(page.contains("changed last name, title"), "the timeline names the changed fields");
}

#[tokio::test]
async fn a_refused_form_is_shown_again_with_the_code_and_what_was_typed() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let response = owner
        .submit(
            "/contacts/new",
            "/contacts/new",
            &[("first_name", "Grace"), ("last_name", "Hopper & Co"), ("email_1", "not-an-email")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Unable to save contact (E2003)"), "coded heading");
    assert!(html.contains("value=\"Grace\"") && html.contains("value=\"Hopper &#38; Co\""), "typed values kept");
    assert!(html.contains("name=\"email_1\" value=\"not-an-email\" maxlength=\"254\" aria-invalid=\"true\""));
    assert!(!owner.page("/contacts").await.contains("Grace"), "nothing was saved");
}

#[tokio::test]
async fn notes_render_markdown_but_never_raw_html() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let path = create_contact(&owner, &[("last_name", "Lovelace")]).await;
    let id = path.rsplit('/').next().unwrap();
    let body = "<script>alert(1)</script>\n\nThis is **bold** <img src=x onerror=alert(1)>";
    let response =
        owner.submit(&path, "/notes/new", &[("subject_kind", "contact"), ("subject_id", id), ("body", body)]).await;
    assert_eq!(location(&response), format!("{path}?notice=note-added#notes"));
    let page = owner.page(&path).await;
    assert!(page.contains("<strong>bold</strong>"));
    assert!(!page.contains("<script>alert(1)") && !page.contains("<img src=x"), "raw HTML is never passed through");
    assert!(page.contains("added a note"), "the timeline shows the note");

    let empty =
        owner.submit(&path, "/notes/new", &[("subject_kind", "contact"), ("subject_id", id), ("body", " ")]).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().await.unwrap().contains("Unable to save note (E2001)"));
}

#[tokio::test]
async fn a_deal_moves_on_the_board_and_the_timeline_says_so() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let fields = [("name", "Big deal"), ("stage", "lead"), ("amount", "12500"), ("currency", "EUR")];
    let path = location(&owner.submit("/deals/new", "/deals/new", &fields).await);
    let id = path.rsplit('/').next().unwrap();
    let board = owner.page("/deals").await;
    assert!(board.contains("Big deal") && board.contains("12,500.00 EUR"), "card and column sum");
    assert!(board.contains(&format!("action=\"/deals/{id}/move\"")), "each card has a move menu");
    assert!(!board.contains("<select"), "no form controls on the cards");

    let moved = owner.submit("/deals", &format!("/deals/{id}/move"), &[("stage", "qualified")]).await;
    assert_eq!(location(&moved), "/deals?notice=deal-moved");
    assert!(owner.page("/deals?notice=deal-moved").await.contains("The deal was moved."), "the flash says so");
    let page = owner.page(&path).await;
    assert!(page.contains("moved the deal — Lead → Qualified"), "timeline line");
    assert!(owner.page("/deals/list?stage=qualified").await.contains("Big deal"), "the list view filters by stage");

    let task = [("title", "Call back"), ("subject_kind", "deal"), ("subject_id", id), ("due", "2020-01-01")];
    assert_eq!(location(&owner.submit(&path, "/tasks/new", &task).await), path);
    let mine = owner.page("/tasks").await;
    assert!(mine.contains("Overdue") && mine.contains("Call back"));
}

#[tokio::test]
async fn a_viewer_sees_no_edit_button_and_may_not_edit() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let path = create_contact(&owner, &[("last_name", "Lovelace")]).await;
    let viewer = app.user_with_role("Acme Ltd", "vic@acme.example", Role::ViewOnly).await;
    let page = viewer.page(&path).await;
    assert!(page.contains("Lovelace") && !page.contains("/edit\"") && !page.contains("/delete\""));
    let response = viewer.submit(&path, &format!("{path}/edit"), &[("last_name", "Vandal")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(viewer.get(&format!("{path}/edit")).await.status(), StatusCode::FORBIDDEN);
    assert!(owner.page(&path).await.contains("Lovelace"));
}

#[tokio::test]
async fn another_workspace_gets_not_found_for_every_page_of_a_record() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let path = create_contact(&owner, &[("last_name", "Lovelace")]).await;
    let deal = location(&owner.submit("/deals/new", "/deals/new", &[("name", "Secret deal")]).await);
    app.app.users().create_workspace("Globex").await.unwrap();
    let gus = app.user_with_role("Globex", "gus@globex.example", Role::Manager).await;
    for page in [path.clone(), format!("{path}/edit"), deal.clone(), format!("{deal}/edit")] {
        assert_eq!(gus.get(&page).await.status(), StatusCode::NOT_FOUND, "GET {page}");
    }
    let edit = gus.submit("/contacts", &format!("{path}/edit"), &[("last_name", "Mine")]).await;
    assert_eq!(edit.status(), StatusCode::NOT_FOUND);
    assert_eq!(gus.submit("/contacts", &format!("{path}/delete"), &[]).await.status(), StatusCode::NOT_FOUND);
    let moved = gus.submit("/deals", &format!("{deal}/move"), &[("stage", "won")]).await;
    assert_eq!(moved.status(), StatusCode::NOT_FOUND);
    let id = path.rsplit('/').next().unwrap();
    let note =
        gus.submit("/contacts", "/notes/new", &[("subject_kind", "contact"), ("subject_id", id), ("body", "x")]).await;
    assert_eq!(note.status(), StatusCode::NOT_FOUND);
    assert!(!gus.page("/contacts").await.contains("Lovelace") && !gus.page("/deals").await.contains("Secret deal"));
    assert!(owner.page(&path).await.contains("Lovelace"), "still there, unchanged");
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,60}",
        Just("<script>alert(1)</script>".to_owned()),
        "<[a-zA-Z]{1,8}[ >/].{0,20}",
        "[\"'<>&=, ]{0,30}",
    ]
}

/// Arbitrary text in every contact text field never makes a 500 and never comes back as markup.
#[test]
fn arbitrary_contact_text_is_refused_or_shown_escaped() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_app, owner, token): (TestApp, Browser, String) = runtime.block_on(async {
        let app = spawn_app().await;
        let owner = app.setup_owner().await;
        let token = csrf_token(&owner.page("/contacts/new").await);
        (app, owner, token)
    });
    let config = ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(first in hostile_text(), last in hostile_text(), title in hostile_text(), tags in hostile_text(), city in hostile_text(), email in hostile_text(), background in hostile_text(), bank in hostile_text())| {
        let fields = [
            ("first_name", first.as_str()), ("last_name", last.as_str()), ("title", title.as_str()),
            ("tags", tags.as_str()), ("city", city.as_str()), ("street", ""), ("email_1", email.as_str()),
            ("background", background.as_str()), ("bank_details", bank.as_str()),
        ];
        let (status, html) = runtime.block_on(async {
            let response = owner.post_with_token("/contacts/new", &token, &fields).await;
            let status = response.status();
            if status == StatusCode::SEE_OTHER {
                let path = location(&response);
                let page = owner.get(&path).await;
                (page.status(), page.text().await.unwrap())
            } else {
                (status, response.text().await.unwrap())
            }
        });
        prop_assert!(status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY, "status {status}");
        prop_assert!(!reflects_script(&html), "a raw <script came back");
    });
}

#[tokio::test]
async fn lists_page_with_the_filters_kept_and_managers_edit_the_pipeline() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    for i in 0..51 {
        let name = format!("Firm {i:02}");
        location(&owner.submit("/companies/new", "/companies/new", &[("name", &name), ("tags", "client")]).await);
    }
    let first = owner.page("/companies?tag=client").await;
    assert!(first.contains("Firm 00") && !first.contains("Firm 50"), "50 rows a page");
    let marker = "href=\"/companies?tag=client&#38;cursor=";
    let start = first.find(marker).expect("a next link keeping the filter") + "href=\"".len();
    let next = first[start..].split('"').next().unwrap().replace("&#38;", "&");
    let second = owner.page(&next).await;
    assert!(second.contains("Firm 50") && !second.contains("Firm 00") && !second.contains("rel=\"next\""));

    let saved = owner.submit("/settings/pipeline", "/settings/pipeline", &[("stages", "Lead\nDemo\nProposal")]).await;
    assert_eq!(location(&saved), "/settings/pipeline?notice=pipeline-saved");
    let board = owner.page("/deals").await;
    assert!(board.contains(">Demo <") && board.contains(">Won <") && !board.contains(">Negotiation <"));
    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    assert!(!staff.page("/contacts").await.contains("/settings/pipeline"), "no pipeline link for staff");
    assert_eq!(staff.get("/settings/pipeline").await.status(), StatusCode::FORBIDDEN);
    let refused = staff.submit("/contacts", "/settings/pipeline", &[("stages", "Mine")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// List pages, dashboards and the deal board are kept between writes: a kept page must never reach another
/// workspace or a role that may not read records, and any write must show on the next view.
#[tokio::test]
async fn a_kept_page_is_never_shown_across_workspaces_roles_or_writes() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    app.app.users().create_workspace("Globex").await.unwrap();
    let gus = app.user_with_role("Globex", "gus@globex.example", Role::Manager).await;
    let client = app.user_with_role("Acme Ltd", "cy@client.example", Role::Client).await;
    let path = create_contact(&owner, &[("last_name", "Lovelace"), ("tags", "vip")]).await;
    location(&owner.submit("/deals/new", "/deals/new", &[("name", "Secret deal")]).await);
    let list = "/contacts?tag=vip&sort=name";
    assert!(owner.page("/deals").await.contains("Secret deal"), "the board");
    assert!(owner.page(list).await.contains("Lovelace"));
    assert!(owner.page(list).await.contains("Lovelace"), "the same page again (kept)");
    assert!(owner.page("/").await.contains("Lovelace"), "the dashboard's recent activity");

    let foreign = gus.page(list).await;
    assert!(!foreign.contains("Lovelace") && foreign.contains("Nothing matches."), "same filter, other workspace");
    assert!(!gus.page("/").await.contains("Lovelace"), "another workspace's dashboard");
    assert!(!gus.page("/deals").await.contains("Secret deal"), "another workspace's board");
    let refused = client.get(list).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND, "a client has no CRM pages");
    assert!(!refused.text().await.unwrap().contains("Lovelace"));

    let saved = owner.submit(&path, &format!("{path}/edit"), &[("last_name", "King"), ("tags", "vip")]).await;
    assert_eq!(location(&saved), path);
    let after = owner.page(list).await;
    assert!(after.contains("King") && !after.contains("Lovelace"), "a write shows on the next view");
    assert!(owner.page("/").await.contains("King"), "and on the dashboard");
    let other = app.user_with_role("Acme Ltd", "vi@acme.example", Role::ViewOnly).await;
    assert!(other.page(list).await.contains("King"), "the kept page serves the workspace's other readers");
    let bad = owner.get("/contacts?owner=nobody").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY, "a filter that doesn't parse: the form again");
    let bad = bad.text().await.unwrap();
    assert!(bad.contains("E2") && bad.contains("name=\"owner\"") && !bad.contains("King"));
}

#[tokio::test]
async fn an_empty_list_teaches_and_a_filter_matching_nothing_says_so() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let empty = owner.page("/contacts").await;
    assert!(empty.contains("No contacts yet") && empty.contains("Import a CSV"), "{empty}");
    assert!(!empty.contains("<table class=\"grid\""), "no empty grid under the teaching");
    let companies = owner.page("/companies").await;
    assert!(companies.contains("No companies yet"), "{companies}");

    owner.submit("/contacts/new", "/contacts/new", &[("first_name", "Ada"), ("last_name", "Lovelace")]).await;
    let list = owner.page("/contacts").await;
    assert!(list.contains("Lovelace") && !list.contains("No contacts yet"));
    let filtered = owner.page("/contacts?q=zzz").await;
    assert!(
        filtered.contains("class=\"muted\">Nothing matches.") && !filtered.contains("No contacts yet"),
        "{filtered}"
    );
}
