//! Full-text search over real HTTPS: changes become searchable, tenants never see each other
//! (whatever they type), fuzzy, prefix, accent and phone matching, escaped snippets, roles,
//! rebuild equals incremental, and a restart replays what the outbox still holds.

use std::time::{Duration, Instant};

use holdfast::domain::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, spawn_app, spawn_app_in};

/// Polls for at most 5 s.
const PATIENCE: Duration = Duration::from_secs(5);

async fn search(api: &Api, q: &str) -> Value {
    let url = format!("/api/v1/search?q={}", urlencode(q));
    let response = api.get(&url).await;
    assert_eq!(response.status(), StatusCode::OK, "search {q:?}");
    response.json().await.unwrap()
}

fn urlencode(q: &str) -> String {
    form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

fn ids(results: &Value) -> Vec<String> {
    results["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

/// Searches until `done` holds for the answer (at most 5 s); answers the last answer.
async fn eventually(api: &Api, q: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let results = search(api, q).await;
        if done(&results) {
            return results;
        }
        assert!(started.elapsed() < PATIENCE, "search {q:?} never satisfied the test: {results}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn finds(api: &Api, q: &str, id: &str) -> Value {
    eventually(api, q, |r| ids(r).iter().any(|i| i == id)).await
}

async fn two_workspaces() -> (TestApp, Api, Api) {
    let app = spawn_app().await;
    app.app.users().create_workspace("Acme Ltd").await.unwrap();
    app.app.users().create_workspace("Globex").await.unwrap();
    let acme = app.api_user("Acme Ltd", "mia@acme.example", Role::Manager).await;
    let globex = app.api_user("Globex", "gus@globex.example", Role::Manager).await;
    (app, acme, globex)
}

async fn contact(api: &Api, first: &str, last: &str) -> String {
    let body = json!({"first_name": first, "last_name": last});
    api.create("/api/v1/contacts", body).await["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn records_are_found_by_name_email_company_phone_and_fuzzy_or_partial_words() {
    let (_app, api, _) = two_workspaces().await;
    let company = api.create("/api/v1/companies", json!({"name": "Initech", "website": "initech.example"})).await;
    let company_id = company["id"].as_str().unwrap();
    let body = json!({
        "first_name": "Ada", "last_name": "Lovelace", "company_id": company_id,
        "emails": [{"address": "countess@analytical.example", "kind": "work"}],
        "phones": [{"number": "+44 20 7946 0958", "kind": "mobile"}],
        "tax_id": "GB999999973", "date_of_birth": "1815-12-10",
    });
    let id = api.create("/api/v1/contacts", body).await["id"].as_str().unwrap().to_owned();
    let hit = finds(&api, "lovelace", &id).await;
    assert_eq!(hit["items"][0]["title"], "Ada Lovelace");
    assert_eq!(hit["items"][0]["kind"], "contact");
    assert!(hit["items"][0]["snippet"].as_str().unwrap().contains("<mark>Lovelace</mark>"), "{hit}");
    for q in ["Lovelase", "Lov", "ada lov", "countess", "analytical.example", "442079460958", "+44 20 7946 0958"] {
        finds(&api, q, &id).await;
    }
    // Phone numbers are encrypted: found by their whole number through the keyed blind index,
    // never by a part of it.
    assert_eq!(search(&api, "0958").await["total"], 0);
    let by_company = finds(&api, "initech", &id).await;
    assert!(ids(&by_company).iter().any(|i| i == company_id), "{by_company}");
    let only_companies: Value = api.get("/api/v1/search?q=initech&kind=company").await.json().await.unwrap();
    assert!(ids(&only_companies).iter().all(|i| i == company_id));
    // The tax id is found by its exact value only (keyed blind index; never in the index as text).
    finds(&api, "GB999999973", &id).await;
    let partial = search(&api, "GB99999").await;
    assert_eq!(partial["total"], 0, "{partial}");
    assert_eq!(search(&api, "1815").await["total"], 0, "nor the date of birth");
}

#[tokio::test]
async fn updates_replace_old_words_and_deletes_disappear() {
    let (_app, api, _) = two_workspaces().await;
    let id = contact(&api, "Grace", "Hopper").await;
    finds(&api, "hopper", &id).await;
    let path = format!("/api/v1/contacts/{id}");
    assert_eq!(api.patch(&path, json!({"last_name": "Murray"})).await.status(), StatusCode::OK);
    finds(&api, "murray", &id).await;
    eventually(&api, "hopper", |r| r["total"] == 0).await;
    assert_eq!(api.delete(&path).await.status(), StatusCode::NO_CONTENT);
    eventually(&api, "murray", |r| r["total"] == 0 && ids(r).is_empty()).await;

    let company = api.create("/api/v1/companies", json!({"name": "Vandelay Industries"})).await;
    let company_path = format!("/api/v1/companies/{}", company["id"].as_str().unwrap());
    let body = json!({"first_name": "Art", "last_name": "Buyer", "company_id": company["id"]});
    let art = api.create("/api/v1/contacts", body).await["id"].as_str().unwrap().to_owned();
    finds(&api, "vandelay buyer", &art).await;
    assert_eq!(api.patch(&company_path, json!({"name": "Kramerica"})).await.status(), StatusCode::OK);
    finds(&api, "kramerica buyer", &art).await;
    eventually(&api, "vandelay", |r| r["total"] == 0).await;
}

#[tokio::test]
async fn accents_and_case_are_ignored() {
    let (_app, api, _) = two_workspaces().await;
    let id = contact(&api, "Zoë", "Ångström").await;
    for q in ["Zoe", "zoë", "ANGSTROM", "ångström"] {
        finds(&api, q, &id).await;
    }
}

#[tokio::test]
async fn a_workspace_never_sees_another_whatever_it_types() {
    let (_app, acme, globex) = two_workspaces().await;
    let mine = contact(&acme, "Ada", "Lovelace").await;
    let theirs = contact(&globex, "Ada", "Lovelace").await;
    finds(&acme, "lovelace", &mine).await;
    finds(&globex, "lovelace", &theirs).await;
    let me: Value = globex.get("/api/v1/me").await.json().await.unwrap();
    let globex_ws = me["workspace_id"].as_str().unwrap();
    let crafted = [
        "lovelace".to_owned(),
        format!("workspace:{globex_ws}"),
        format!("workspace_id:{globex_ws} lovelace"),
        format!("lovelace OR workspace:{globex_ws}"),
        theirs.clone(),
        "*".to_owned(),
        "\" OR 1".to_owned(),
        "lovelace\" OR \"1\"=\"1".to_owned(),
        "(ada) AND -lovelace [a TO z] ~2 ^9".to_owned(),
        "'; DROP TABLE records; --".to_owned(),
        "<script>alert(1)</script>".to_owned(),
        "ada ".repeat(2_500),
        "\u{0}\u{202e}ﬀ🦀".to_owned(),
    ];
    for q in &crafted {
        let results = search(&acme, q).await;
        assert!(!ids(&results).contains(&theirs), "{q:?} leaked: {results}");
        let total = results["total"].as_u64().unwrap();
        assert!(total <= 1, "{q:?}: {results}");
    }
    for q in ["", "   ", "kind=contact"] {
        assert_eq!(search(&acme, q).await["items"], json!([]));
    }
    let bad_kind = acme.get("/api/v1/search?q=ada&kind=user").await;
    assert_eq!(bad_kind.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let big_limit = acme.get("/api/v1/search?q=ada&limit=100000").await;
    assert_eq!(big_limit.status(), StatusCode::OK);
}

#[tokio::test]
async fn totals_count_every_match_and_limit_cuts_the_page() {
    let (app, api, _) = two_workspaces().await;
    for i in 0..7 {
        contact(&api, "Babbage", &format!("Number{i}")).await;
    }
    app.search_settled().await;
    let page: Value = api.get("/api/v1/search?q=babbage&limit=3").await.json().await.unwrap();
    assert_eq!((page["items"].as_array().unwrap().len(), page["total"].as_u64()), (3, Some(7)), "{page}");
}

#[tokio::test]
async fn snippets_escape_what_notes_contain() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "nia@acme.example", Role::Manager).await;
    let subject = contact(&api, "Alan", "Turing").await;
    let body = json!({
        "body": "Quarterly review <script>alert('x')</script> & <b>bold</b> plans",
        "subject_kind": "contact", "subject_id": subject,
    });
    let note = api.create("/api/v1/notes", body).await["id"].as_str().unwrap().to_owned();
    let results = finds(&api, "quarterly", &note).await;
    let snippet = results["items"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>Quarterly</mark>"), "{snippet}");
    assert!(
        snippet.contains("&lt;script&gt;") && !snippet.contains("<script>") && !snippet.contains("<b>"),
        "{snippet}"
    );
    let page = owner.page("/search?q=quarterly+script").await;
    assert!(page.contains(&format!("href=\"/contacts/{subject}\"")), "a note links to its subject");
    let escaped = page.contains("&#60;<mark>script</mark>&#62;") || page.contains("&lt;<mark>script</mark>&gt;");
    assert!(page.contains("<mark>Quarterly</mark>") && escaped, "escaped and marked: {page}");
    assert!(!page.contains("<script>alert"), "never raw");
    let suggestions = owner.page("/search/suggest?q=Tur").await;
    assert!(suggestions.contains(&format!("href=\"/contacts/{subject}\"")) && suggestions.contains("Alan Turing"));
    let nothing = owner.page("/search?q=%22+OR+1").await;
    assert!(nothing.contains("Nothing matches"));
}

#[tokio::test]
async fn clients_are_refused_and_other_roles_read() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "mo@acme.example", Role::Manager).await;
    let id = contact(&api, "Katherine", "Johnson").await;
    finds(&api, "johnson", &id).await;
    let viewer = app.api_user("Acme Ltd", "vi@acme.example", Role::ViewOnly).await;
    finds(&viewer, "johnson", &id).await;
    let client = app.user_with_role("Acme Ltd", "cy@client.example", Role::Client).await;
    for path in ["/search?q=johnson", "/search/suggest?q=johnson"] {
        let response = client.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "a client has no search: {path}");
        assert!(!response.text().await.unwrap().contains("Johnson"));
    }
    drop(owner);
}

/// Runs a fixed set of queries: (ids, total) of each.
async fn answers(api: &Api) -> Vec<(Vec<String>, u64)> {
    let mut out = Vec::new();
    for q in ["lovelace", "ada", "Lov", "initech", "+1 555 0958", "hoper", "quarterly", "zoe"] {
        let results = search(api, q).await;
        let mut found = ids(&results);
        found.sort();
        out.push((found, results["total"].as_u64().unwrap()));
    }
    out
}

#[tokio::test]
async fn a_rebuild_answers_like_the_incremental_index() {
    let (app, api, globex) = two_workspaces().await;
    let company = api.create("/api/v1/companies", json!({"name": "Initech", "phone": "+1 555 0958"})).await;
    let ada = contact(&api, "Ada", "Lovelace").await;
    contact(&api, "Grace", "Hopper").await;
    contact(&api, "Zoë", "Adams").await;
    contact(&globex, "Ada", "Lovelace").await;
    let gone = contact(&api, "Ada", "Gone").await;
    api.delete(&format!("/api/v1/contacts/{gone}")).await;
    let note = json!({"body": "Quarterly plans", "subject_kind": "company", "subject_id": company["id"]});
    api.create("/api/v1/notes", note).await;
    api.patch(&format!("/api/v1/contacts/{ada}"), json!({"title": "Countess"})).await;
    app.search_settled().await;
    let before = answers(&api).await;
    assert!(before.iter().all(|(ids, _)| !ids.is_empty()), "{before:?}");
    let audit = app.app.search().audit().await.unwrap();
    assert_eq!((audit.missing, audit.extra, audit.records, audit.documents), (0, 0, 6, 6), "{audit:?}");
    let indexed = app.app.search().rebuild(|_| {}).await.unwrap();
    assert_eq!(indexed, 6);
    assert_eq!(answers(&api).await, before);
    let audit = app.app.search().audit().await.unwrap();
    assert_eq!((audit.missing, audit.extra, audit.documents), (0, 0, 6));
}

#[tokio::test]
async fn a_restart_replays_the_outbox_and_rebuilds_a_lost_index() {
    let (app, api, _) = two_workspaces().await;
    let first = contact(&api, "Hedy", "Lamarr").await;
    finds(&api, "lamarr", &first).await;
    app.search_settled().await;
    app.app.search().pause_indexer(true).await.unwrap();
    let waiting = contact(&api, "Hedy", "Kiesler").await;
    assert_eq!(app.app.search().status().await.unwrap().backlog, 1);
    assert_eq!(search(&api, "kiesler").await["total"], 0, "held in the outbox");
    let clock = app.clock.clone();
    let dir = app.stop().await;

    let app = spawn_app_in(dir, clock.clone()).await;
    let api = Api { base: app.base.clone(), client: app.client.clone(), ..api };
    finds(&api, "kiesler", &waiting).await;
    finds(&api, "lamarr", &first).await;
    app.search_settled().await;
    let dir = app.stop().await;

    std::fs::remove_dir_all(dir.path().join("search")).unwrap();
    let app = spawn_app_in(dir, clock).await;
    let api = Api { base: app.base.clone(), client: app.client.clone(), ..api };
    finds(&api, "kiesler", &waiting).await;
    let health: Value = app.get("/health/detailed").await.json().await.unwrap();
    assert_eq!(health["checks"]["index"]["documents"], 2, "{health}");
    let audit = app.app.search().audit().await.unwrap();
    assert_eq!((audit.missing, audit.extra), (0, 0));
}
