//! Pages report their Web Vitals when they are left: the server's `/metrics` then holds the
//! largest paint and the layout shift of that page's route (a beacon, CSRF-checked).

use std::time::{Duration, Instant};

use anyhow::ensure;

use super::in_browser;
use super::journeys::set_up_firm;
use crate::helpers::spawn_app;

#[tokio::test]
async fn pages_report_their_speed_when_left() {
    let app = spawn_app().await;
    in_browser(&app, "speed", async |owner| {
        set_up_firm(&app, owner).await?;
        owner.goto("/contacts").await?;
        owner.expect_heading("Contacts").await?;
        owner.goto("/tasks").await?;
        let started = Instant::now();
        loop {
            let text = app.client.get(app.url("/metrics")).send().await?.text().await?;
            let value = |name: &str| {
                let prefix = format!("{name}{{route=\"/contacts\"}} ");
                text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.parse::<f64>().ok())
            };
            if let Some(count) = value("holdfast_web_vitals_lcp_seconds_count") {
                ensure!(count >= 1.0, "one view of /contacts reported");
                let lcp = value("holdfast_web_vitals_lcp_seconds_sum").unwrap_or_default();
                ensure!(lcp > 0.0 && lcp < 60.0, "a real largest paint: {lcp} s");
                ensure!(value("holdfast_web_vitals_cls_count").is_some(), "the layout shift too");
                break;
            }
            let vitals: Vec<&str> = text.lines().filter(|l| l.contains("web_vitals")).collect();
            ensure!(started.elapsed() < Duration::from_secs(10), "no vitals for /contacts: {vitals:#?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    })
    .await;
}
