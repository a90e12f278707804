//! The JSON API of the CRM: CRUD for every resource, validation, roles, idempotency, cursor
//! pagination and the tenancy matrix — over real HTTPS with bearer tokens.

use holdfast::domain::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, spawn_app};

async fn two_workspaces() -> (TestApp, Api, Api) {
    let app = spawn_app().await;
    app.app.users().create_workspace("Acme Ltd").await.unwrap();
    app.app.users().create_workspace("Globex").await.unwrap();
    let acme = app.api_user("Acme Ltd", "mia@acme.example", Role::Manager).await;
    let globex = app.api_user("Globex", "gus@globex.example", Role::Manager).await;
    (app, acme, globex)
}

async fn problem(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn contacts_round_trip_through_create_read_patch_list_and_delete() {
    let (_app, api, _) = two_workspaces().await;
    let company = api.create("/api/v1/companies", json!({"name": "Initech", "website": "initech.example"})).await;
    assert_eq!(company["website"], "https://initech.example/");
    let created = api
        .create(
            "/api/v1/contacts",
            json!({
                "first_name": "Ada", "last_name": "Lovelace", "title": "Analyst",
                "emails": [{"address": "Ada@Initech.example", "kind": "work"}],
                "phones": [{"number": "+44 20 7946 0958", "kind": "mobile"}],
                "company_id": company["id"], "status": "prospect", "tags": ["VIP", "board"],
                "address": {"city": "London", "country": "UK"}, "date_of_birth": "1815-12-10"
            }),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["emails"][0]["address"], "ada@initech.example");
    assert_eq!(created["tags"], json!(["vip", "board"]));

    let fetched: Value = api.get(&format!("/api/v1/contacts/{id}")).await.json().await.unwrap();
    assert_eq!(fetched, created);

    let patched = api.patch(&format!("/api/v1/contacts/{id}"), json!({"status": "customer", "title": ""})).await;
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!((patched["status"].as_str(), patched["title"].is_null()), (Some("customer"), true));
    assert_eq!(patched["first_name"], "Ada", "absent fields are unchanged");

    let listed: Value = api.get("/api/v1/contacts?tag=vip").await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["next_cursor"], Value::Null);

    assert_eq!(api.delete(&format!("/api/v1/contacts/{id}")).await.status(), StatusCode::NO_CONTENT);
    let (status, body) = problem(api.get(&format!("/api/v1/contacts/{id}")).await).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("E3002")));
}

#[tokio::test]
async fn invalid_input_gets_a_coded_problem_naming_the_field() {
    let (_app, api, _) = two_workspaces().await;
    let cases = [
        ("/api/v1/contacts", json!({"last_name": "X", "emails": [{"address": "nope"}]}), "E2003", Some("emails")),
        ("/api/v1/contacts", json!({"title": "no name"}), "E2001", Some("last_name")),
        ("/api/v1/contacts", json!({"last_name": "X", "nickname": "y"}), "E2004", None),
        ("/api/v1/contacts", json!({"last_name": "X", "date_of_birth": "2026-02-30"}), "E2004", Some("date_of_birth")),
        ("/api/v1/companies", json!({"name": "Evil", "website": "javascript:alert(1)"}), "E2004", Some("website")),
        ("/api/v1/companies", json!({"name": "A".repeat(201)}), "E2002", Some("name")),
        ("/api/v1/companies", json!({"name": "B", "bank_details": "9".repeat(501)}), "E2002", Some("bank_details")),
        ("/api/v1/contacts", json!({"last_name": "X", "bank_details": "IBAN\u{7}"}), "E2004", Some("bank_details")),
        ("/api/v1/deals", json!({"name": "D", "stage": "imaginary"}), "E2004", Some("stage")),
        ("/api/v1/deals", json!({"name": "D", "amount": "12.345678"}), "E2004", Some("amount")),
        (
            "/api/v1/deals",
            json!({"name": "D", "owner_id": "00000000000000000000000000000000"}),
            "E2004",
            Some("owner_id"),
        ),
        (
            "/api/v1/notes",
            json!({"body": "hi", "subject_kind": "contact", "subject_id": "ffffffffffffffffffffffffffffffff"}),
            "E2004",
            Some("subject_id"),
        ),
        ("/api/v1/tasks", json!({"title": "T", "due": "tomorrow"}), "E2004", Some("due")),
    ];
    for (path, body, code, field) in cases {
        let (status, problem) = problem(api.post(path, body.clone()).await).await;
        assert!(status.is_client_error(), "{body}: {status}");
        assert_eq!(problem["code"], code, "{body}");
        if field.is_some() {
            assert_eq!(problem["field"].as_str(), field, "{body}");
        }
    }
    let broken = api
        .client
        .post(format!("{}/api/v1/contacts", api.base))
        .bearer_auth(&api.token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(broken).await.1["code"], "E2004");
    let (status, body) = problem(api.get("/api/v1/contacts?cursor=%%%").await).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("E2004")));
}

#[tokio::test]
async fn cursor_pages_are_complete_ordered_and_stable_under_inserts() {
    let (app, api, _) = two_workspaces().await;
    for name in ["Delta", "alpha", "Charlie", "Echo", "bravo"] {
        api.create("/api/v1/companies", json!({"name": name})).await;
    }
    let first: Value = api.get("/api/v1/companies?limit=2").await.json().await.unwrap();
    let names = |page: &Value| {
        page["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(names(&first), ["alpha", "bravo"]);
    // A record inserted before the cursor doesn't shift the next page.
    app.clock.advance(time::Duration::seconds(5));
    api.create("/api/v1/companies", json!({"name": "Aardvark"})).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = api.get(&format!("/api/v1/companies?limit=2&cursor={cursor}")).await.json().await.unwrap();
    assert_eq!(names(&second), ["Charlie", "Delta"]);
    let third: Value = api
        .get(&format!("/api/v1/companies?limit=2&cursor={}", second["next_cursor"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&third), ["Echo"]);
    assert_eq!(third["next_cursor"], Value::Null);
    // Back from the third page by its `prev_cursor`: the second page's rows again (an index seek).
    let before = third["prev_cursor"].as_str().expect("a page after the first says where the one before ends");
    let back: Value = api.get(&format!("/api/v1/companies?limit=2&before={before}")).await.json().await.unwrap();
    assert_eq!(names(&back), ["Charlie", "Delta"]);
    assert!(first.get("prev_cursor").is_none(), "the first page has none");
    let newest: Value = api.get("/api/v1/companies?sort=newest&limit=1").await.json().await.unwrap();
    assert_eq!(names(&newest), ["Aardvark"]);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer_and_refuses_a_different_request() {
    let (_app, api, _) = two_workspaces().await;
    let send = |body: Value| {
        api.client
            .post(format!("{}/api/v1/companies", api.base))
            .bearer_auth(&api.token)
            .header("Idempotency-Key", "order-17")
            .json(&body)
            .send()
    };
    let first = send(json!({"name": "Hooli"})).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send(json!({"name": "Hooli"})).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let listed: Value = api.get("/api/v1/companies").await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "one record for two requests");
    let other = send(json!({"name": "Not Hooli"})).await.unwrap();
    assert_eq!(problem(other).await.1["code"], "E2004");
}

#[tokio::test]
async fn roles_decide_who_reads_creates_and_edits() {
    let (app, manager, _) = two_workspaces().await;
    let staff = app.api_user("Acme Ltd", "sam@acme.example", Role::Staff).await;
    let viewer = app.api_user("Acme Ltd", "vic@acme.example", Role::ViewOnly).await;

    let managers = manager.create("/api/v1/contacts", json!({"last_name": "Managed"})).await;
    let own = staff.create("/api/v1/contacts", json!({"last_name": "Own"})).await;
    let path = |c: &Value| format!("/api/v1/contacts/{}", c["id"].as_str().unwrap());

    assert_eq!(viewer.get(&path(&managers)).await.status(), StatusCode::OK);
    assert_eq!(problem(viewer.post("/api/v1/contacts", json!({"last_name": "V"})).await).await.1["code"], "E1005");
    assert_eq!(problem(viewer.patch(&path(&own), json!({"title": "x"})).await).await.1["code"], "E1005");
    assert_eq!(staff.patch(&path(&own), json!({"title": "Mine"})).await.status(), StatusCode::OK);
    assert_eq!(problem(staff.patch(&path(&managers), json!({"title": "x"})).await).await.1["code"], "E1005");
    assert_eq!(problem(staff.delete(&path(&managers)).await).await.1["code"], "E1005");
    assert_eq!(manager.patch(&path(&own), json!({"title": "Reviewed"})).await.status(), StatusCode::OK);
    let password = secrecy::SecretString::from(crate::helpers::USER_PASSWORD.to_owned());
    let company = manager.create("/api/v1/companies", json!({"name": "Cleo's firm"})).await;
    let company = company["id"].as_str().unwrap().parse().ok();
    app.app
        .users()
        .create("Acme Ltd", "cleo@acme.example", "Cleo Client", Role::Client, company, &password)
        .await
        .unwrap();
    let refused = app.app.tokens().create_for_email("cleo@acme.example", "t").await.unwrap_err();
    assert_eq!(refused.code(), holdfast::error::ErrorCode::Forbidden, "clients get no API access");
}

#[tokio::test]
async fn credit_limits_need_a_fresh_second_factor_which_tokens_never_have() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let token = app.app.tokens().create_for_email(crate::helpers::OWNER_EMAIL, "t").await.unwrap();
    let api = Api { client: app.client.clone(), base: app.base.clone(), token };
    let company = api.create("/api/v1/companies", json!({"name": "Umbrella"})).await;
    let path = format!("/api/v1/companies/{}", company["id"].as_str().unwrap());
    assert_eq!(problem(api.patch(&path, json!({"credit_limit": "1000"})).await).await.1["code"], "E1008");
    assert_eq!(api.patch(&path, json!({"phone": "+1 555 0100"})).await.status(), StatusCode::OK);
    drop(owner);
}

#[tokio::test]
async fn tenancy_matrix_foreign_ids_are_not_found_for_every_resource_and_verb() {
    let (_app, acme, globex) = two_workspaces().await;
    let company = acme.create("/api/v1/companies", json!({"name": "Acme Customer"})).await;
    let contact = acme.create("/api/v1/contacts", json!({"last_name": "Secret", "company_id": company["id"]})).await;
    let deal = acme
        .create(
            "/api/v1/deals",
            json!({"name": "Big one", "company_id": company["id"], "contact_ids": [contact["id"]]}),
        )
        .await;
    let subject = json!({"subject_kind": "contact", "subject_id": contact["id"]});
    let note = acme
        .create("/api/v1/notes", json!({"body": "private", "subject_kind": "contact", "subject_id": contact["id"]}))
        .await;
    let task = acme
        .create("/api/v1/tasks", json!({"title": "call", "subject_kind": "contact", "subject_id": contact["id"]}))
        .await;

    for (plural, record) in
        [("companies", &company), ("contacts", &contact), ("deals", &deal), ("notes", &note), ("tasks", &task)]
    {
        let path = format!("/api/v1/{plural}/{}", record["id"].as_str().unwrap());
        for response in [globex.get(&path).await, globex.patch(&path, json!({})).await, globex.delete(&path).await] {
            let (status, body) = problem(response).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("E3002")), "{plural}");
        }
        let listed: Value = globex.get(&format!("/api/v1/{plural}")).await.json().await.unwrap();
        assert_eq!(listed["items"], json!([]), "{plural}");
        assert_eq!(acme.get(&path).await.status(), StatusCode::OK, "still there for its owner");
    }
    // Pointing at another workspace's records is refused as invalid, never linked.
    let mut note = json!({"body": "sneaky"});
    note.as_object_mut().unwrap().extend(subject.as_object().unwrap().clone());
    assert_eq!(problem(globex.post("/api/v1/notes", note).await).await.1["code"], "E2004");
    let foreign_company = json!({"last_name": "X", "company_id": company["id"]});
    assert_eq!(problem(globex.post("/api/v1/contacts", foreign_company).await).await.1["code"], "E2004");
    let filtered: Value = globex
        .get(&format!("/api/v1/notes?subject_kind=contact&subject_id={}", contact["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["items"], json!([]));
}

#[tokio::test]
async fn deals_move_through_the_pipeline_and_deleting_a_contact_removes_its_notes_and_tasks() {
    let (_app, api, _) = two_workspaces().await;
    let contact = api.create("/api/v1/contacts", json!({"last_name": "Moved"})).await;
    let deal = api
        .create(
            "/api/v1/deals",
            json!({"name": "Expansion", "amount": "1,250.5", "currency": "usd", "contact_ids": [contact["id"]]}),
        )
        .await;
    assert_eq!(
        (deal["stage"].as_str(), deal["amount"].as_str(), deal["currency"].as_str()),
        (Some("lead"), Some("1250.50"), Some("USD"))
    );
    let won: Value = api
        .patch(&format!("/api/v1/deals/{}", deal["id"].as_str().unwrap()), json!({"stage": "won"}))
        .await
        .json()
        .await
        .unwrap();
    assert!(won["closed_at"].is_i64());
    let by_stage: Value = api.get("/api/v1/deals?stage=won").await.json().await.unwrap();
    assert_eq!(by_stage["items"][0]["id"], deal["id"]);

    let note = api
        .create("/api/v1/notes", json!({"body": "Called", "subject_kind": "contact", "subject_id": contact["id"]}))
        .await;
    let touched: Value =
        api.get(&format!("/api/v1/contacts/{}", contact["id"].as_str().unwrap())).await.json().await.unwrap();
    assert!(touched["last_contacted"].is_i64(), "a note marks the contact as contacted");
    api.delete(&format!("/api/v1/contacts/{}", contact["id"].as_str().unwrap())).await;
    assert_eq!(
        api.get(&format!("/api/v1/notes/{}", note["id"].as_str().unwrap())).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_resource_and_every_reference_resolves() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for plural in ["companies", "contacts", "deals", "notes", "tasks"] {
        let collection = &doc["paths"][format!("/api/v1/{plural}")];
        assert!(collection["get"].is_object() && collection["post"].is_object(), "{plural}");
        let member = &doc["paths"][format!("/api/v1/{plural}/{{id}}")];
        for verb in ["get", "patch", "delete"] {
            assert!(member[verb].is_object(), "{plural} {verb}");
        }
    }
    for plural in ["companies", "contacts", "deals", "notes"] {
        let files = &doc["paths"][format!("/api/v1/{plural}/{{id}}/files")];
        assert!(files["get"].is_object() && files["post"]["responses"]["415"].is_object(), "{plural} files");
    }
    assert!(doc["paths"]["/api/v1/files/{id}/link"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/files/{id}"]["delete"].is_object());
    for field in ["id", "name", "content_type", "size", "scan", "created_at"] {
        assert!(doc["components"]["schemas"]["File"]["properties"][field].is_object(), "File.{field}");
    }
    // A flattened part (the created/updated stamp) makes the schema an allOf.
    let schema = &doc["components"]["schemas"]["Contact"];
    let parts = schema["allOf"].as_array().cloned().unwrap_or_else(|| vec![schema.clone()]);
    let has = |field: &str| parts.iter().any(|p| p["properties"][field].is_object());
    for field in [
        "id",
        "first_name",
        "last_name",
        "emails",
        "phones",
        "company_id",
        "address",
        "status",
        "tags",
        "owner_id",
        "date_of_birth",
        "tax_id",
    ] {
        assert!(has(field), "Contact.{field}: {schema}");
    }
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.trim_start_matches("#/components/schemas/");
        assert!(doc["components"]["schemas"][name].is_object(), "{r} does not resolve");
    }
}
