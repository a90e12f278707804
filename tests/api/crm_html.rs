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

/// The record ids of a list page's rows, in order (the bulk checkboxes).
fn row_ids(html: &str) -> Vec<String> {
    html.split("name=\"ids\" value=\"").skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect()
}

/// The first link of a page with `rel` ("next", "prev"), decoded.
fn rel_link(html: &str, rel: &str) -> Option<String> {
    let at = html.find(&format!("\" rel=\"{rel}\""))?;
    let start = html[..at].rfind("href=\"")? + "href=\"".len();
    Some(html[start..at].replace("&#38;", "&"))
}

/// Every row id of a list, page after page by its next links, and the first page.
async fn every_row(browser: &Browser, path: &str) -> (Vec<String>, String) {
    let first = browser.page(path).await;
    let (mut ids, mut page) = (row_ids(&first), first.clone());
    while let Some(next) = rel_link(&page, "next") {
        page = browser.page(&next).await;
        ids.extend(row_ids(&page));
    }
    (ids, first)
}

async fn seed_contacts(app: &TestApp, contacts: usize) {
    let plan = holdfast::app::crm::seed::SeedPlan { contacts, companies: 0, deals: 0, seed: 20 };
    app.app.records().seed("Acme Ltd", plan, |_, _| {}).await.expect("seeded");
}

#[tokio::test]
async fn a_list_says_where_a_page_is_pages_both_ways_and_jumps() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    seed_contacts(&app, 120).await;
    let first = owner.page("/contacts").await;
    assert!(first.contains("1–50 of 120") && rel_link(&first, "prev").is_none(), "{first}");
    let second = owner.page(&rel_link(&first, "next").expect("a next page")).await;
    assert!(second.contains("51–100 of 120"));
    let third = owner.page(&rel_link(&second, "next").unwrap()).await;
    assert!(third.contains("101–120 of 120") && rel_link(&third, "next").is_none());
    let back = owner.page(&rel_link(&third, "prev").expect("a previous page")).await;
    assert!(back.contains("51–100 of 120"));
    assert_eq!(row_ids(&back), row_ids(&second), "previous shows the rows next showed");
    let home = owner.page(&rel_link(&back, "prev").unwrap()).await;
    assert_eq!(row_ids(&home), row_ids(&first));
    let every: std::collections::HashSet<String> =
        [&first, &second, &third].into_iter().flat_map(|page| row_ids(page)).collect();
    assert_eq!(every.len(), 120, "each contact once");

    let jumped = owner.page("/contacts?page=3").await;
    assert!(jumped.contains("101–120 of 120"));
    assert_eq!(row_ids(&jumped), row_ids(&third), "jumping lands where paging did");
    assert!(first.contains("name=\"page\"") && first.contains("max=\"3\""), "the jump form knows the last page");
    assert_eq!(row_ids(&owner.page("/contacts?page=99").await), row_ids(&third), "past the end: the last page");
    assert_eq!(owner.get("/contacts?page=abc").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let huge = format!("/contacts?page={}", usize::MAX);
    assert_eq!(row_ids(&owner.page(&huge).await), row_ids(&third), "any page number: the last page");
    let next = rel_link(&first, "next").unwrap().replace("page=2", &format!("page={}", usize::MAX));
    assert!(owner.get(&next).await.status().is_success(), "a page number with a cursor only labels the page");

    let newest = owner.page("/contacts?sort=newest&page=2").await;
    assert!(newest.contains("51–100 of 120"));
    let newest_first = owner.page(&rel_link(&newest, "prev").unwrap()).await;
    assert_eq!(row_ids(&newest_first), row_ids(&owner.page("/contacts?sort=newest").await));

    // Filtered totals are exact: the rows paged through, each once (contacts sit twice in the
    // name-forms index a search scans).
    for filter in ["/contacts?tag=vip", "/contacts?q=a", "/contacts?q=be"] {
        let (ids, first) = every_row(&owner, filter).await;
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "{filter}: no row twice");
        let shown = ids.len().min(50);
        let position = if ids.is_empty() { "No records".to_owned() } else { format!("1–{shown} of {}", ids.len()) };
        assert!(first.contains(&position), "{filter}: {position}");
    }

    let api = app.api_user("Acme Ltd", "mo@acme.example", Role::Manager).await;
    let gone = &row_ids(&first)[0];
    assert!(api.delete(&format!("/api/v1/contacts/{gone}")).await.status().is_success());
    assert!(owner.page("/contacts").await.contains("1–50 of 119"), "a delete is counted");
    api.create("/api/v1/contacts", serde_json::json!({"first_name": "Zed", "last_name": "New"})).await;
    assert!(owner.page("/contacts").await.contains("1–50 of 120"), "and a create");
}

#[tokio::test]
async fn headers_sort_the_list_and_chips_remove_one_filter() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    create_contact(&owner, &[("first_name", "Ada"), ("last_name", "Lovelace"), ("tags", "vip")]).await;
    let page = owner.page("/contacts?q=Lov&tag=vip").await;
    let name =
        "<th scope=\"col\" aria-sort=\"ascending\"><a href=\"/contacts?q=Lov&#38;tag=vip&#38;sort=name\">Name</a></th>";
    assert!(page.contains(name), "the name header sorts, keeping the filters: {page}");
    assert!(page.contains("<th scope=\"col\">Title</th>"), "no index gives that order: plain text");
    let newest = owner.page("/contacts?tag=vip&sort=newest").await;
    assert!(!newest.contains("aria-sort"), "newest first: no column is the order");
    location(&owner.submit("/tasks/new", "/tasks/new", &[("title", "Call Ada")]).await);
    let tasks = owner.page("/tasks/list").await;
    assert!(tasks.contains("aria-sort=\"ascending\"><a href=\"/tasks/list?sort=due\">Due</a>"), "{tasks}");
    assert!(tasks.contains("<a href=\"/tasks/list?sort=name\">Title</a>"));

    assert!(page.contains("<span class=\"visually-hidden\">Remove filter </span>Tag: vip"), "{page}");
    let chip =
        "<a class=\"chip\" href=\"/contacts?q=Lov\"><span class=\"visually-hidden\">Remove filter </span>Tag: vip";
    assert!(page.contains(chip), "the chip leads to the list without it");
    let without = owner.page("/contacts?q=Lov").await;
    assert!(!without.contains("Tag: vip") && without.contains("Name starts with: Lov") && without.contains("Lovelace"));

    let columns = owner.page("/contacts?cols=name&cols=email").await;
    assert!(columns.contains("<th scope=\"col\">Email</th>") && !columns.contains("<th scope=\"col\">Title</th>"));
    let sorted = "<a href=\"/contacts?cols=name&#38;cols=email&#38;sort=name\">Name</a>";
    assert!(columns.contains(sorted), "sorting keeps the columns");
    let unknown = owner.get("/contacts?cols=password").await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY, "an unknown column is a coded error");
    assert!(unknown.text().await.unwrap().contains("E2004"));
}

/// The delete action of a saved view named `name` on a list page.
fn view_delete(html: &str, name: &str) -> String {
    let tab = html.find(&format!(">{name}</a>")).expect("the view's tab");
    let start = html[tab..].find("action=\"").expect("its delete form") + tab + "action=\"".len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn saved_views_stay_with_their_author_or_workspace() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    create_contact(&owner, &[("last_name", "Lovelace"), ("tags", "vip")]).await;
    let saved = owner
        .submit(
            "/contacts",
            "/contacts/views",
            &[("name", "My VIPs"), ("query", "tag=vip&cols=name&cols=email&cursor=x")],
        )
        .await;
    assert_eq!(location(&saved), "/contacts?tag=vip&cols=name&cols=email", "opens the view, at its first page");
    let list = owner.page("/contacts?tag=vip&cols=name&cols=email").await;
    assert!(list.contains("aria-current=\"page\">My VIPs</a>"), "the open view's tab is current");
    let mine = view_delete(&list, "My VIPs");

    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    assert!(!staff.page("/contacts").await.contains("My VIPs"), "a personal view is its author's");
    let refused = staff.submit("/contacts", &mine, &[]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND, "nor may another delete it");
    let shared =
        staff.submit("/contacts", "/contacts/views", &[("name", "Ours"), ("query", ""), ("shared", "on")]).await;
    assert_eq!(shared.status(), StatusCode::FORBIDDEN, "staff share nothing");

    owner.submit("/contacts", "/contacts/views", &[("name", "Team"), ("query", "sort=newest"), ("shared", "on")]).await;
    let team_page = staff.page("/contacts").await;
    assert!(team_page.contains(">Team</a>") && !team_page.contains("Delete view Team"), "shared: seen, not deletable");
    let team = view_delete(&owner.page("/contacts").await, "Team");
    assert_eq!(staff.submit("/contacts", &team, &[]).await.status(), StatusCode::FORBIDDEN);

    app.app.users().create_workspace("Globex").await.unwrap();
    let gus = app.user_with_role("Globex", "gus@globex.example", Role::Owner).await;
    let foreign = gus.page("/contacts").await;
    assert!(!foreign.contains("My VIPs") && !foreign.contains(">Team</a>"), "another workspace sees none");
    assert_eq!(gus.submit("/contacts", &team, &[]).await.status(), StatusCode::NOT_FOUND);
    assert!(!owner.page("/companies").await.contains(">Team</a>"), "a view belongs to one kind's list");

    for (fields, code) in [
        (vec![("name", "x".repeat(61)), ("query", String::new())], "E2002"),
        (vec![("name", String::new()), ("query", String::new())], "E2001"),
        (vec![("name", "Cols".into()), ("query", "cols=password".into())], "E2004"),
        (vec![("name", "Bad".into()), ("query", "owner=nobody".into())], "E2004"),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let refused = owner.submit("/contacts", "/contacts/views", &fields).await;
        assert!(refused.status().is_client_error(), "{fields:?}: {}", refused.status());
        assert!(refused.text().await.unwrap().contains(code), "{fields:?}: {code}");
    }
    for n in 0..18 {
        owner.submit("/contacts", "/contacts/views", &[("name", &format!("View {n}")), ("query", "")]).await;
    }
    let one_too_many = owner.submit("/contacts", "/contacts/views", &[("name", "21st"), ("query", "")]).await;
    assert!(one_too_many.status().is_client_error() && one_too_many.text().await.unwrap().contains("E2004"));

    let deleted = owner.submit("/contacts", &mine, &[]).await;
    assert_eq!(location(&deleted), "/contacts?notice=view-deleted");
    assert!(!owner.page("/contacts").await.contains("My VIPs"));
}
