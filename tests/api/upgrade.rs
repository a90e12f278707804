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
