//! Finding people again, as the walkthrough tried it: lists filtered and sorted, names typed in
//! either order, phone numbers typed as people say them, look-alike names told apart, and
//! tasks that name what they are about.

use anyhow::{Result, ensure};
use serde_json::json;

use super::journeys::set_up_firm;
use super::{Page, in_browser};
use crate::helpers::{Api, OWNER_EMAIL, TestApp, spawn_app};

/// The visible rows of the page's table, one string each.
async fn rows(page: &Page) -> Result<Vec<String>> {
    let rows =
        page.script("return [...document.querySelectorAll('table tbody tr')].map((r) => r.innerText)", vec![]).await?;
    Ok(serde_json::from_value(rows)?)
}

/// Opens a list and answers its rows.
async fn list(page: &Page, path: &str) -> Result<Vec<String>> {
    page.goto(path).await?;
    rows(page).await
}

fn encoded(query: &str) -> String {
    form_urlencoded::byte_serialize(query.as_bytes()).collect()
}

/// Which of `names` the rows show, in row order.
fn shown(rows: &[String], names: &[&str]) -> Vec<String> {
    rows.iter().filter_map(|row| names.iter().find(|n| row.contains(**n)).map(|n| n.to_string())).collect()
}

/// The owner's API, to fill the CRM quickly (the forms have their own journey).
async fn owner_api(app: &TestApp) -> Api {
    let token = app.app.tokens().create_for_email(OWNER_EMAIL, "test data").await.expect("token");
    Api { client: app.client.clone(), base: app.base.clone(), token }
}

/// Contacts created one second apart (so "newest first" has an order to show).
async fn seed(app: &TestApp, api: &Api) -> serde_json::Value {
    let byron = api.create("/api/v1/companies", json!({"name": "Byron Ltd"})).await;
    let mut created = Vec::new();
    for contact in [
        json!({"first_name": "Ada", "last_name": "Andersen", "status": "customer", "tags": ["vip"],
               "phones": [{"number": "+31 6 1234 5678", "kind": "mobile"}]}),
        json!({"first_name": "Bea", "last_name": "Andersen", "status": "customer", "tags": ["vip"],
               "phones": [{"number": "+1 555 000 1218", "kind": "work"}]}),
        json!({"first_name": "Ada", "last_name": "Byron", "company_id": byron["id"],
               "emails": [{"address": "ada@byron.example", "kind": "work"}]}),
        json!({"first_name": "Ada", "last_name": "Byron", "emails": [{"address": "ada2@other.example", "kind": "home"}]}),
    ] {
        app.clock.advance(time::Duration::seconds(1));
        created.push(api.create("/api/v1/contacts", contact).await);
    }
    created.remove(0)
}

#[tokio::test]
async fn people_are_found_however_they_are_looked_for() {
    let app = spawn_app().await;
    in_browser(&app, "finding", async |owner| {
        set_up_firm(&app, owner).await?;
        let api = owner_api(&app).await;
        let ada = seed(&app, &api).await;
        app.search_settled().await;
        let andersens = ["Ada Andersen", "Bea Andersen"];

        let newest = list(owner, "/contacts?status=customer&tag=vip&sort=newest").await?;
        ensure!(
            shown(&newest, &andersens) == ["Bea Andersen", "Ada Andersen"],
            "newest first with filters: {newest:?}"
        );

        let everyone = ["Ada Andersen", "Bea Andersen", "Ada Byron"];
        for (query, expected) in [
            ("Ada", vec!["Ada Andersen", "Ada Byron", "Ada Byron"]),
            ("Ada Andersen", vec!["Ada Andersen"]),
            ("andersen ada", vec!["Ada Andersen"]),
            ("Andersen", vec!["Ada Andersen", "Bea Andersen"]),
            ("a", vec!["Ada Andersen", "Ada Byron", "Ada Byron", "Bea Andersen"]),
        ] {
            let found = list(owner, &format!("/contacts?q={}", encoded(query))).await?;
            ensure!(shown(&found, &everyone) == expected, "name starts with {query:?}: {found:?}");
        }

        for (query, expected) in [
            ("555 000 1218", "Bea Andersen"),
            ("5550001218", "Bea Andersen"),
            ("+1 555 000 1218", "Bea Andersen"),
            ("0612345678", "Ada Andersen"),
            ("2345678", "Ada Andersen"),
        ] {
            let found = list(owner, &format!("/contacts?q={}", encoded(query))).await?;
            ensure!(shown(&found, &everyone) == [expected], "phone {query:?}: {found:?}");
        }

        owner.goto("/").await?;
        owner.type_slowly("q", "Ada By").await?;
        owner
            .wait_for_text_of("#search-suggestions", |t| t.contains("Byron Ltd") && t.contains("ada2@other.example"))
            .await?;

        api.create(
            "/api/v1/tasks",
            json!({"title": "Zeta call", "due": "2030-01-01", "subject_kind": "contact", "subject_id": ada["id"]}),
        )
        .await;
        api.create("/api/v1/tasks", json!({"title": "Alpha email", "due": "2031-01-01"})).await;
        owner.goto("/tasks").await?;
        owner.expect_text("Ada Andersen").await?;
        owner.expect_no_text("the contact").await?;
        let by_name = list(owner, "/tasks/list?sort=name").await?;
        ensure!(
            shown(&by_name, &["Zeta call", "Alpha email"]) == ["Alpha email", "Zeta call"],
            "tasks by name: {by_name:?}"
        );
        ensure!(by_name.iter().any(|r| r.contains("Ada Andersen")), "All tasks name the subject: {by_name:?}");
        Ok(())
    })
    .await;
}
