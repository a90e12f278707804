//! Bulk actions from the list, the duplicate warning on create, and merging duplicates —
//! through the pages a manager uses, with the role and step-up checks attacked.

use holdfast::domain::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{OWNER_EMAIL, location, spawn_app};

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn bulk_tag_assign_and_delete_need_a_manager_and_delete_a_fresh_second_factor() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "mia@acme.example", Role::Manager).await;
    let a = api.create("/api/v1/contacts", json!({"last_name": "Alpha"})).await;
    let b = api.create("/api/v1/contacts", json!({"last_name": "Bravo"})).await;
    let c = api.create("/api/v1/contacts", json!({"last_name": "Charlie"})).await;
    let (a, b, c) = (id(&a), id(&b), id(&c));

    let tagged = owner
        .submit("/contacts", "/contacts/bulk", &[("ids", &a), ("ids", &b), ("action", "tag"), ("tag", "Gold")])
        .await;
    assert_eq!(tagged.status(), StatusCode::SEE_OTHER);
    let gold: Value = api.get("/api/v1/contacts?tag=gold").await.json().await.unwrap();
    assert_eq!(gold["items"].as_array().unwrap().len(), 2);

    let me: Value = api.get("/api/v1/me").await.json().await.unwrap();
    let mia = me["user_id"].as_str().unwrap();
    owner.submit("/contacts", "/contacts/bulk", &[("ids", &c), ("action", "assign"), ("owner", mia)]).await;
    let charlie: Value = api.get(&format!("/api/v1/contacts/{c}")).await.json().await.unwrap();
    assert_eq!(charlie["owner_id"], mia);

    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    let refused = staff.submit("/contacts", "/contacts/bulk", &[("ids", &a), ("action", "delete")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    app.clock.advance(time::Duration::minutes(11));
    let stale = owner.submit("/contacts", "/contacts/bulk", &[("ids", &a), ("ids", &b), ("action", "delete")]).await;
    assert_eq!(stale.status(), StatusCode::SEE_OTHER);
    assert!(stale.headers()["location"].to_str().unwrap().starts_with("/account/confirm"), "step-up first");
    assert_eq!(api.get(&format!("/api/v1/contacts/{a}")).await.status(), StatusCode::OK, "nothing deleted yet");
    owner.confirm_second_factor(OWNER_EMAIL).await;
    owner.submit("/contacts", "/contacts/bulk", &[("ids", &a), ("ids", &b), ("action", "delete")]).await;
    for gone in [&a, &b] {
        assert_eq!(api.get(&format!("/api/v1/contacts/{gone}")).await.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(api.get(&format!("/api/v1/contacts/{c}")).await.status(), StatusCode::OK);

    // Another workspace's ids in a selection are not found, and nothing changes.
    let globex = {
        app.app.users().create_workspace("Globex").await.unwrap();
        app.user_with_role("Globex", "gus@globex.example", Role::Manager).await
    };
    let foreign = globex.submit("/contacts", "/contacts/bulk", &[("ids", &c), ("action", "tag"), ("tag", "x")]).await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn creating_a_look_alike_warns_first_and_merging_moves_everything_over() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "mia@acme.example", Role::Manager).await;
    let keep = api
        .create(
            "/api/v1/contacts",
            json!({"first_name": "Ada", "last_name": "Lovelace", "emails": [{"address": "ada@example.com"}]}),
        )
        .await;
    let form = [("first_name", "Ada"), ("last_name", "King"), ("email_1", "ADA@example.com"), ("status", "lead")];
    let warned = owner.submit("/contacts/new", "/contacts/new", &form).await;
    assert_eq!(warned.status(), StatusCode::CONFLICT);
    let body = warned.text().await.unwrap();
    assert!(body.contains("E5001") && body.contains(&format!("/contacts/{}", id(&keep))), "{body}");
    let mut confirmed = form.to_vec();
    confirmed.push(("confirm_duplicate", "yes"));
    assert_eq!(owner.submit("/contacts/new", "/contacts/new", &confirmed).await.status(), StatusCode::SEE_OTHER);

    let other = api
        .create(
            "/api/v1/contacts",
            json!({"last_name": "Byron", "emails": [{"address": "ada.b@example.com"}], "tags": ["poet"]}),
        )
        .await;
    api.create(
        "/api/v1/notes",
        json!({"body": "Note on the duplicate", "subject_kind": "contact", "subject_id": other["id"]}),
    )
    .await;
    let deal = api.create("/api/v1/deals", json!({"name": "Engine", "contact_ids": [other["id"]]})).await;
    let page = format!("/contacts/{}", id(&keep));
    assert!(owner.page(&page).await.contains("Merge a duplicate"));
    let merged = owner.submit(&page, &format!("{page}/merge"), &[("other_id", &id(&other))]).await;
    assert_eq!(location(&merged), format!("{page}?notice=records-merged"));
    assert!(owner.page(&location(&merged)).await.contains("The records were merged into this one."));

    let kept: Value = api.get(&format!("/api/v1/contacts/{}", id(&keep))).await.json().await.unwrap();
    let emails: Vec<&str> = kept["emails"].as_array().unwrap().iter().map(|e| e["address"].as_str().unwrap()).collect();
    assert_eq!(emails, ["ada@example.com", "ada.b@example.com"]);
    assert_eq!(kept["tags"], json!(["poet"]));
    assert_eq!(api.get(&format!("/api/v1/contacts/{}", id(&other))).await.status(), StatusCode::NOT_FOUND);
    let moved: Value = api.get(&format!("/api/v1/deals/{}", id(&deal))).await.json().await.unwrap();
    assert_eq!(moved["contact_ids"], json!([keep["id"]]));
    let notes: Value =
        api.get(&format!("/api/v1/notes?subject_kind=contact&subject_id={}", id(&keep))).await.json().await.unwrap();
    assert_eq!(notes["items"][0]["body"], "Note on the duplicate");
    assert!(owner.page(&page).await.contains("merged in a duplicate — Byron"), "on the timeline");

    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    let refused = staff.submit(&page, &format!("{page}/merge"), &[("other_id", &id(&keep))]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn managers_choose_tag_colours_from_the_palette_only() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "mia@acme.example", Role::Manager).await;
    let contact = api.create("/api/v1/contacts", json!({"last_name": "Tagged", "tags": ["vip"]})).await;
    let page = format!("/contacts/{}", id(&contact));
    let saved = owner.submit("/settings/pipeline", "/settings/tags", &[("tag", "VIP"), ("colour", "purple")]).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert!(owner.page(&page).await.contains("class=\"tag tag-purple\""));
    let bad = owner.submit("/settings/pipeline", "/settings/tags", &[("tag", "vip"), ("colour", "\"><script>")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    let refused = staff.submit(&page, "/settings/tags", &[("tag", "vip"), ("colour", "red")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(owner.page(&page).await.contains("tag-purple"), "unchanged");
}
