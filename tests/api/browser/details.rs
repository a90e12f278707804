//! The small things the walkthrough tripped over: error pages keep the navigation and say
//! their message once, sessions name browser and system, rate-limit headers add up, and seeded
//! records say who made them.

use anyhow::ensure;

use super::in_browser;
use super::journeys::set_up_firm;
use crate::helpers::spawn_app;

/// `[limit, remaining]` of the rate-limit headers of a page fetched from the page.
const LIMIT_HEADERS: &str = r#"
const done = arguments[arguments.length - 1];
fetch("/contacts", { credentials: "same-origin" }).then(
  (r) => done([r.headers.get("x-ratelimit-limit"), r.headers.get("x-ratelimit-remaining")]),
  (e) => done([String(e), ""]));
"#;

#[tokio::test]
async fn error_pages_sessions_limits_and_seeded_history_read_right() {
    let app = spawn_app().await;
    in_browser(&app, "details", async |owner| {
        set_up_firm(&app, owner).await?;

        for (path, heading) in [
            ("/contacts/ffffffffffffffffffffffffffffffff", "Unable to open the record (E3002)"),
            ("/nowhere", "Not found (E3002)"),
        ] {
            owner.goto(path).await?;
            owner.expect_heading(heading).await?;
            let text = owner.text().await?;
            ensure!(text.matches("Not found").count() <= 1, "the message once:\n{text}");
            owner.open_user_menu().await?;
            let text = owner.text().await?;
            ensure!(text.contains("Contacts") && text.contains("Sign out"), "the navigation stays:\n{text}");
        }

        owner.goto("/account").await?;
        owner.expect_text("Chrome").await?;
        owner.expect_text(" on Linux").await?;
        owner.expect_no_text("Mozilla/5.0").await?;

        let headers = owner.script_async(LIMIT_HEADERS, vec![]).await?;
        let number = |i: usize| headers[i].as_str().and_then(|v| v.parse::<u32>().ok());
        let (limit, remaining) = (number(0), number(1));
        ensure!(limit.is_some() && remaining.is_some() && remaining <= limit, "remaining within the limit: {headers}");

        let plan = holdfast::app::crm::seed::SeedPlan { contacts: 3, companies: 1, deals: 1, seed: 7 };
        app.app.records().seed("Acme Ltd", plan, |_, _| {}).await?;
        owner.goto("/contacts").await?;
        let first = owner.attribute_of("table tbody a[href^='/contacts/']", "href").await?;
        owner.goto(&first).await?;
        owner.expect_text("Olive Owner").await?;
        owner.expect_no_text("Someone").await
    })
    .await;
}
