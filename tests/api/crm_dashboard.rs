//! The dashboard: pipeline totals and monthly won/lost stay exact through creates, moves,
//! archiving and deletes; charts are inline SVG.

use holdfast::domain::role::Role;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn pipeline_and_monthly_totals_follow_every_change() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "mia@acme.example", Role::Manager).await;
    let deal = |name: &str, stage: &str, amount: &str| json!({"name": name, "stage": stage, "amount": amount, "currency": "EUR"});
    let a = api.create("/api/v1/deals", deal("A", "proposal", "100")).await;
    api.create("/api/v1/deals", deal("B", "proposal", "50.5")).await;
    let c = api.create("/api/v1/deals", deal("C", "qualified", "7")).await;
    api.create("/api/v1/deals", deal("D", "won", "10")).await;

    let page = owner.page("/").await;
    assert!(page.contains("<svg class=\"chart\""), "charts are inline SVG");
    assert!(page.contains("2 deals · 150.50 EUR"), "{page}");
    assert!(page.contains("1 deal · 7.00 EUR"));
    assert!(page.contains("1 won (10.00 EUR), 0 lost"));

    let id = |v: &serde_json::Value| v["id"].as_str().unwrap().to_owned();
    api.patch(&format!("/api/v1/deals/{}", id(&a)), json!({"stage": "lost"})).await;
    api.patch(&format!("/api/v1/deals/{}", id(&c)), json!({"archived": true})).await;
    let page = owner.page("/").await;
    assert!(page.contains("1 deal · 50.50 EUR"), "{page}");
    assert!(page.contains("0 deals · no amounts"), "archived deals leave the pipeline");
    assert!(page.contains("1 won (10.00 EUR), 1 lost"));
    api.delete(&format!("/api/v1/deals/{}", id(&a))).await;
    assert!(owner.page("/").await.contains("1 won (10.00 EUR), 0 lost"), "a deleted deal leaves the totals");
    let page = owner.page("/").await;
    assert!(page.contains("created deal"), "recent activity: {page}");
}
