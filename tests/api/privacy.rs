//! Field encryption, blind-index lookups, key rotation and privacy requests, seen from outside:
//! canaries never reach a file of the data dir, the API still answers in plaintext, rotation
//! (also when interrupted) leaves no value under the old key, and a contact can be exported
//! and erased with only a receipt left in the audit log.

use std::path::Path;

use holdfast::app::auth::ClientInfo;
use holdfast::domain::role::Role;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{OWNER_EMAIL, TestApp, spawn_app, spawn_app_in};

const CANARIES: &[&str] = &[
    "taxcanary-7731",
    "TAXCANARY7731",
    "1961-07-23",
    "7946099123",
    "Canarystrasse 42",
    "Canaryville",
    "CN4 2RY",
    "Canaryshire",
    "BIZTAXCANARY55",
    "8877665544",
    "Canary Quay 9",
    "GB29CANA60161331926819",
    "CANARYBANKBIZ",
];

const RECORDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("records");
const DATA_KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("data_keys");

fn contact_body(last_name: &str) -> Value {
    json!({
        "first_name": "Cora",
        "last_name": last_name,
        "tax_id": "taxcanary-7731",
        "bank_details": "IBAN GB29CANA60161331926819",
        "date_of_birth": "1961-07-23",
        "phones": [{"number": "+447946099123", "kind": "mobile"}],
        "address": {"street": "Canarystrasse 42", "city": "Canaryville", "postal_code": "CN4 2RY",
                    "region": "Canaryshire", "country": "GB"},
    })
}

fn company_body() -> Value {
    json!({
        "name": "Canary Works",
        "tax_id": "BIZTAXCANARY55",
        "bank_details": "CANARYBANKBIZ account 12345678",
        "phone": "8877665544",
        "address": {"street": "Canary Quay 9", "city": "Canaryville"},
    })
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(files(&path)) } else { out.push(path) }
    }
    out
}

fn assert_no_canaries(dir: &Path) {
    let all = files(dir);
    assert!(all.iter().any(|p| p.ends_with("holdfast.redb")), "the store was scanned");
    for path in all {
        let bytes = std::fs::read(&path).unwrap();
        for canary in CANARIES {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "{canary} found in {}",
                path.display()
            );
        }
    }
}

/// Key ids of every sealed value of contacts and companies in a stopped server's store, and
/// the stored data key ids.
fn stored_key_ids(dir: &Path) -> (Vec<u32>, Vec<u32>) {
    use base64::Engine;
    let db = redb::Database::open(dir.join("holdfast.redb")).unwrap();
    let txn = db.begin_read().unwrap();
    let mut used = Vec::new();
    for row in txn.open_table(RECORDS).unwrap().iter().unwrap() {
        let (key, value) = row.unwrap();
        let (key, value) = (key.value(), value.value());
        if !matches!(key[16], 1 | 2) {
            continue;
        }
        assert_eq!(value[0], 2, "contacts and companies are stored sealed");
        let record: Value = serde_json::from_slice(&value[3..]).unwrap();
        for field in ["tax_id", "bank_details", "date_of_birth", "phones", "address", "phone"] {
            if let Some(Value::String(sealed)) = record.get(field) {
                let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).unwrap();
                used.push(u32::from_be_bytes(bytes[..4].try_into().unwrap()));
            }
        }
    }
    let keys = txn.open_table(DATA_KEYS).unwrap();
    let stored = keys.iter().unwrap().map(|r| u32::from_be_bytes(r.unwrap().0.value().try_into().unwrap())).collect();
    used.sort_unstable();
    used.dedup();
    (used, stored)
}

async fn items(api: &crate::helpers::Api, path: &str) -> Vec<Value> {
    let response = api.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json::<Value>().await.unwrap()["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn sensitive_fields_never_reach_a_file_but_the_api_reads_and_finds_them() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "mia@acme.example", Role::Manager).await;
    let contact = api.create("/api/v1/contacts", contact_body("Canaryfield")).await;
    api.create("/api/v1/companies", company_body()).await;
    let replayed = app
        .client
        .post(app.url("/api/v1/contacts"))
        .bearer_auth(&api.token)
        .header("Idempotency-Key", "canary-once")
        .json(&contact_body("Twice"))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), StatusCode::CREATED);
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let fields = [
        ("passphrase", "correct horse battery staple canary"),
        ("passphrase_confirm", "correct horse battery staple canary"),
        ("hour", "3"),
        ("keep_daily", "7"),
        ("keep_weekly", "4"),
        ("keep_monthly", "12"),
        ("second_dir", ""),
    ];
    assert_eq!(owner.submit("/settings/backups", "/settings/backups", &fields).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(owner.submit("/settings/backups", "/settings/backups/run", &[]).await.status(), StatusCode::SEE_OTHER);

    let id = contact["id"].as_str().unwrap();
    let read = api.get(&format!("/api/v1/contacts/{id}")).await.json::<Value>().await.unwrap();
    assert_eq!(read["tax_id"], "taxcanary-7731");
    assert_eq!(read["bank_details"], "IBAN GB29CANA60161331926819");
    assert_eq!(read["date_of_birth"], "1961-07-23");
    assert_eq!(read["phones"][0]["number"], "+447946099123");
    assert_eq!(read["address"]["city"], "Canaryville");

    app.search_settled().await;
    for q in ["%2B44%207946%20099123", "447946099123", "TAXCANARY-7731", "taxcanary7731"] {
        let found = items(&api, &format!("/api/v1/contacts?q={q}")).await;
        assert_eq!(found.len(), 2, "found by {q} (the idempotent create has the same values)");
        assert!(found.iter().any(|c| c["id"] == id));
    }
    assert!(items(&api, "/api/v1/contacts?q=44794609912").await.is_empty(), "exact match only");
    assert_eq!(items(&api, "/api/v1/companies?q=887-766-5544").await.len(), 1);
    assert_eq!(items(&api, "/api/v1/companies?q=biztaxcanary55").await.len(), 1);

    let dir = app.stop().await;
    assert!(files(&dir.path().join("backups")).iter().any(|p| p.extension().is_some()), "a backup was written");
    assert_no_canaries(dir.path());
    let store = std::fs::read(dir.path().join("holdfast.redb")).unwrap();
    assert!(store.windows(11).any(|w| w == b"Canaryfield"), "control: names stay plaintext, and the scan sees them");
    let (used, stored) = stored_key_ids(dir.path());
    assert_eq!((used, stored), (vec![1], vec![1]));
}

async fn seed_contacts(api: &crate::helpers::Api, n: usize) {
    for i in 0..n {
        api.create("/api/v1/contacts", contact_body(&format!("Person{i}"))).await;
    }
}

#[tokio::test]
async fn rotation_re_encrypts_everything_and_retires_the_old_key() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "mia@acme.example", Role::Manager).await;
    seed_contacts(&api, 5).await;
    let ada = api.create("/api/v1/contacts", json!({"first_name": "Ada"})).await;
    let photo = crate::files::png("rotated");
    let (_, file) =
        crate::files::upload(&api, &format!("contacts/{}", ada["id"].as_str().unwrap()), "a.png", photo.clone()).await;

    // Owners only, with a fresh second factor.
    app.clock.advance(time::Duration::minutes(11));
    let refused = owner.submit("/settings/keys", "/settings/keys/rotate", &[]).await;
    assert!(refused.headers().get("location").unwrap().to_str().unwrap().starts_with("/account/confirm"));
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let started = owner.submit("/settings/keys", "/settings/keys/rotate", &[]).await;
    assert_eq!(started.headers().get("location").unwrap(), "/settings/keys?notice=rotation-started");
    app.app.keys().finish_rotation(|_| ()).await.unwrap();
    let status = app.app.keys().status().await.unwrap();
    assert_eq!((status.current, status.stored.clone(), status.rotation.is_none()), (2, vec![2], true));
    assert!(owner.page("/settings/keys").await.contains("key 2"));
    app.search_settled().await;
    let found = items(&api, "/api/v1/contacts?q=447946099123").await;
    assert_eq!(found.len(), 5, "blind index survives rotation");
    assert_eq!(found[0]["tax_id"], "taxcanary-7731");
    // The file's key was re-wrapped (the old key is gone) and its bytes were left as they were.
    let url = crate::files::link(&api, file["id"].as_str().unwrap()).await;
    let fetched = crate::files::download(&api, &url, None).await;
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), photo.as_slice(), "the file opens after rotation");

    let admin = app.user_with_role("Acme Ltd", "ada@acme.example", Role::Admin).await;
    admin.confirm_second_factor("ada@acme.example").await;
    assert_eq!(admin.submit("/settings/keys", "/settings/keys/rotate", &[]).await.status(), StatusCode::FORBIDDEN);

    let dir = app.stop().await;
    assert_eq!(stored_key_ids(dir.path()), (vec![2], vec![2]));
}

#[tokio::test]
async fn an_interrupted_rotation_completes_after_a_restart() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "mia@acme.example", Role::Manager).await;
    seed_contacts(&api, 6).await;
    api.create("/api/v1/companies", company_body()).await;
    let cli = ClientInfo::new("test", "rotation test");
    let state = app.app.keys().begin_rotation(None, &cli).await.unwrap();
    assert_eq!(state.target, 2);
    let step = app.app.keys().rotation_step(3).await.unwrap().unwrap();
    assert!(step.retired.is_none() && step.state.scanned == 3, "{step:?}");
    let (clock, dir) = (app.clock.clone(), app.stop().await);
    let (used, stored) = stored_key_ids(dir.path());
    assert_eq!((used, stored), (vec![1, 2], vec![1, 2]), "midway: both keys in use");

    // The restarted server continues in the background; finishing here joins in.
    let app = spawn_app_in(dir, clock).await;
    assert_eq!(app.app.keys().status().await.unwrap().current, 2, "the new key stays current after a restart");
    app.app.keys().finish_rotation(|_| ()).await.unwrap();
    app.search_settled().await;
    let found = items(&api_of(&app, &api), "/api/v1/contacts?q=taxcanary7731").await;
    assert_eq!(found.len(), 6);
    let dir = app.stop().await;
    assert_eq!(stored_key_ids(dir.path()), (vec![2], vec![2]));
    assert_no_canaries(dir.path());
}

/// The same token against a restarted server (new port).
fn api_of(app: &TestApp, api: &crate::helpers::Api) -> crate::helpers::Api {
    crate::helpers::Api { client: app.client.clone(), base: app.base.clone(), token: api.token.clone() }
}

#[tokio::test]
async fn privacy_export_and_erasure() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "mia@acme.example", Role::Manager).await;
    let contact = api.create("/api/v1/contacts", contact_body("Erasable")).await;
    let id = contact["id"].as_str().unwrap().to_owned();
    let subject = |extra: Value| {
        let mut body = json!({"subject_kind": "contact", "subject_id": id});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let note = api.create("/api/v1/notes", subject(json!({"body": "Prefers calls after five"}))).await;
    let task = api.create("/api/v1/tasks", subject(json!({"title": "Send the contract"}))).await;
    let deal = api.create("/api/v1/deals", json!({"name": "Big one", "contact_ids": [id]})).await;
    let other = api.create("/api/v1/contacts", json!({"last_name": "Keeper"})).await;
    let (_, file) =
        crate::files::upload(&api, &format!("contacts/{id}"), "passport.png", crate::files::png("id")).await;
    let blobs = || std::fs::read_dir(app.data_dir().join("files")).unwrap().count();
    assert_eq!(blobs(), 1);

    // The API cannot step up: a token of a manager (MFA required by policy) is refused.
    let refused = api.get(&format!("/api/v1/contacts/{id}/privacy-export")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.json::<Value>().await.unwrap()["code"], "E1008");
    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    staff.confirm_second_factor("sam@acme.example").await;
    assert!(!staff.page(&format!("/contacts/{id}")).await.contains("Privacy requests"));
    assert_eq!(staff.get(&format!("/contacts/{id}/privacy-export.json")).await.status(), StatusCode::FORBIDDEN);

    owner.confirm_second_factor(OWNER_EMAIL).await;
    assert!(owner.page(&format!("/contacts/{id}")).await.contains("Privacy requests"));
    let export = owner.get(&format!("/contacts/{id}/privacy-export.json")).await;
    assert_eq!(export.status(), StatusCode::OK);
    let document: Value = export.json().await.unwrap();
    assert_eq!(document["contact"]["tax_id"], "taxcanary-7731");
    assert_eq!(document["notes"][0]["id"], note["id"]);
    assert_eq!(document["tasks"][0]["id"], task["id"]);
    assert_eq!(document["deals"][0]["id"], deal["id"]);
    assert!(document["timeline"].as_array().is_some_and(|t| !t.is_empty()));
    assert_eq!(document["files"][0]["id"], file["id"], "files are part of the export: {document}");

    let erased = owner.submit(&format!("/contacts/{id}"), &format!("/contacts/{id}/erase"), &[]).await;
    assert_eq!(erased.headers().get("location").unwrap(), "/contacts?notice=contact-erased");
    for path in [
        format!("/api/v1/contacts/{id}"),
        format!("/api/v1/notes/{}", note["id"].as_str().unwrap()),
        format!("/api/v1/tasks/{}", task["id"].as_str().unwrap()),
    ] {
        assert_eq!(api.get(&path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let deal_now =
        api.get(&format!("/api/v1/deals/{}", deal["id"].as_str().unwrap())).await.json::<Value>().await.unwrap();
    assert_eq!(deal_now["contact_ids"], json!([]));
    assert_eq!(blobs(), 0, "the contact's files are erased with it");
    assert!(items(&api, "/api/v1/contacts?q=taxcanary7731").await.is_empty());
    assert_eq!(api.get(&format!("/api/v1/contacts/{}", other["id"].as_str().unwrap())).await.status(), StatusCode::OK);

    let csv = owner.get("/settings/audit/export.csv").await.text().await.unwrap();
    let receipt = csv.lines().find(|l| l.contains("privacy.erased")).expect("an erasure receipt");
    assert!(receipt.contains(&format!("contact:{id}")));
    assert!(csv.contains("privacy.exported"));
    for personal in ["Erasable", "Cora", "taxcanary", "Canaryville", "Prefers calls"] {
        assert!(!csv.contains(personal), "{personal} in the audit log");
    }
}

/// SIGKILL in the middle of `holdfast keys rotate` (after its first progress line, so batches
/// are committed and more remain): the next run continues where the first stopped and
/// finishes, leaving every sealed value under the new key and the old key gone.
#[test]
fn a_rotation_killed_midway_finishes_on_the_next_run() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = crate::search_crash::holdfast;
    run(&data, &["admin", "create-workspace", "--name", "Rotation"], None);
    let user = ["admin", "create-user", "--workspace", "Rotation", "--email", "rae@rotation.example"];
    run(&data, &[&user[..], &["--name", "Rae", "--role", "manager"]].concat(), Some("walrus ceiling paprika tundra\n"));
    run(&data, &["dev", "seed", "--workspace", "Rotation", "--contacts", "6000"], None);

    let mut first = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["keys", "rotate", "--data-dir"])
        .arg(&data)
        .env_remove("HOLDFAST_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(first.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "rotating to key 2");
    let progress = lines.next().unwrap().unwrap();
    assert!(progress.ends_with("rows re-encrypted"), "killed midway, not after the end: {progress}");
    first.kill().unwrap();
    first.wait().unwrap();
    let (used, stored) = stored_key_ids(&data);
    assert_eq!((used, stored), (vec![1, 2], vec![1, 2]), "midway: both keys in use");

    let second = run(&data, &["keys", "rotate"], None);
    assert!(second.starts_with("continuing the rotation to key 2 ("), "{second}");
    assert!(second.lines().last().unwrap().starts_with("done: key 2 is current; retired key(s) 1;"), "{second}");
    assert_eq!(stored_key_ids(&data), (vec![2], vec![2]));
    // Every record still opens: the rebuild reads them all and fails on any it cannot.
    run(&data, &["search", "rebuild"], None);
}
