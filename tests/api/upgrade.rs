//! Upgrading a store written by the previous schema: contacts saved before migration 6 are
//! found by name in either order afterwards, and tasks by title.

use holdfast::domain::role::Role;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_in};

const RECORD_INDEX: redb::TableDefinition<&[u8], ()> = redb::TableDefinition::new("record_index");
const META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
/// Index numbers as stored (`app::crm::keys`): `NAME` and `NAME_FORMS`.
const NAME: u8 = 1;
const NAME_FORMS: u8 = 15;
/// Kind bytes as stored: tasks' title index rows are `NAME` rows of kind task.
const TASK_KIND: u8 = 5;

#[tokio::test]
async fn contacts_and_tasks_stored_before_the_name_indexes_are_found_after_the_upgrade() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "script@acme.example", Role::Admin).await;
    api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Andersen"})).await;
    api.create("/api/v1/tasks", json!({"title": "Alpha email"})).await;
    let (dir, clock) = (app.dir.clone(), app.clock.clone());
    app.stop().await;

    // The store as schema 5 wrote it: no NAME_FORMS rows, no task title rows.
    {
        let db = redb::Database::open(dir.path().join("holdfast.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut index = txn.open_table(RECORD_INDEX).unwrap();
            let mut removed = 0;
            index
                .retain(|key, ()| {
                    let added_by_6 = key.get(17) == Some(&NAME_FORMS)
                        || (key.get(17) == Some(&NAME) && key.get(16) == Some(&TASK_KIND));
                    removed += usize::from(added_by_6);
                    !added_by_6
                })
                .unwrap();
            assert!(removed >= 3, "two name forms and a title row removed, {removed} were");
            txn.open_table(META).unwrap().insert("schema_version", &5u32.to_be_bytes()[..]).unwrap();
        }
        txn.commit().unwrap();
    }

    let app = spawn_app_in(dir, clock).await;
    let api = app.api_user("Acme Ltd", "script2@acme.example", Role::Admin).await;
    for query in ["Ada", "andersen+ada", "Ada+Andersen"] {
        let found: serde_json::Value = api.get(&format!("/api/v1/contacts?q={query}")).await.json().await.unwrap();
        assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{query}: {found}");
    }
    let tasks: serde_json::Value = api.get("/api/v1/tasks?sort=name").await.json().await.unwrap();
    assert_eq!(tasks["items"][0]["title"], "Alpha email", "{tasks}");
}

/// Marks the stopped store at `dir` as written by schema `version`.
fn set_schema(dir: &std::path::Path, version: u32) {
    let db = redb::Database::open(dir.join("holdfast.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(META).unwrap().insert("schema_version", &version.to_be_bytes()[..]).unwrap();
    txn.commit().unwrap();
}

#[tokio::test]
async fn an_upgrade_first_keeps_a_checked_snapshot_to_roll_back_to() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "script@acme.example", Role::Admin).await;
    api.create("/api/v1/contacts", json!({"first_name": "Grace", "last_name": "Hopper"})).await;
    let (dir, clock) = (app.dir.clone(), app.clock.clone());
    app.stop().await;
    let snapshots = dir.path().join("backups/pre-upgrade");
    assert!(!snapshots.exists(), "no upgrade yet, no snapshot");

    // Four upgrades, an hour apart: each writes a snapshot of the store as it was; three stay.
    for _ in 0..4 {
        set_schema(dir.path(), 7);
        clock.advance(time::Duration::hours(1));
        let app = spawn_app_in(dir.clone(), clock.clone()).await;
        app.stop().await;
    }
    let mut kept: Vec<_> = std::fs::read_dir(&snapshots)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hfbak"))
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 3, "the newest three are kept: {kept:?}");
    let passphrase_file = snapshots.join("passphrase");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&passphrase_file).unwrap().permissions().mode() & 0o777, 0o600);
    let passphrase = secrecy::SecretString::from(std::fs::read_to_string(&passphrase_file).unwrap());
    let newest = kept.last().unwrap().clone();
    let summary = holdfast::app::backup::verify_file(&newest, &passphrase).expect("the snapshot checks");
    assert_eq!(summary.manifest.schema_version, 7, "written as the old schema, for the old binary");

    // Rolling back: the documented restore command, as a process.
    let restored = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["backup", "restore", newest.to_str().unwrap(), "--passphrase-file"])
        .arg(&passphrase_file)
        .args(["--force", "--data-dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(restored.status.code(), Some(0), "{}", String::from_utf8_lossy(&restored.stderr));
    let app = spawn_app_in(dir, clock).await;
    let api = app.api_user("Acme Ltd", "script2@acme.example", Role::Admin).await;
    let found: serde_json::Value = api.get("/api/v1/contacts?q=Hopper").await.json().await.unwrap();
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "the data came back: {found}");
}
