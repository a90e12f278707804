//! Every settings page, reached through the navigation as an office manager would, each with
//! the action it exists for.

use anyhow::Result;

use super::journeys::{next_code, set_up_firm};
use super::{Page, in_browser};
use crate::helpers::{TestApp, spawn_app};

/// Confirms the second factor ahead of the sensitive settings (valid for ten minutes).
async fn confirm_second_factor(app: &TestApp, page: &Page, secret: &str) -> Result<()> {
    page.goto("/account/confirm?next=/settings/users").await?;
    page.fill("code", &next_code(app, secret)).await?;
    page.press_within("form[action='/account/confirm']", "Confirm").await?;
    page.expect_path("/settings/users").await
}

#[tokio::test]
async fn every_settings_page_does_its_job() {
    let app = spawn_app().await;
    in_browser(&app, "settings", async |owner| {
        let secret = set_up_firm(&app, owner).await?;
        confirm_second_factor(&app, owner, &secret).await?;
        owner.expect_text("Invite someone").await?;

        owner.press("Security").await?;
        owner.expect_text("Sessions and passwords").await?;
        owner.press("Save").await?;
        owner.expect_text("The security policy was saved").await?;
        owner.press("Save limits").await?;
        owner.expect_text("The rate limits were saved").await?;

        owner.press("Email").await?;
        owner.expect_heading("Email").await?;
        owner.expect_text("SMTP server").await?;

        owner.press("Backups").await?;
        owner.expect_text("Backups are off.").await?;
        owner.fill("passphrase", "orbit candle meadow falcon ninety").await?;
        owner.fill("passphrase_confirm", "orbit candle meadow falcon nineteen").await?;
        owner.press("Save").await?;
        owner.expect_text("The passphrase and its confirmation differ.").await?;
        owner.fill("passphrase", "orbit candle meadow falcon ninety").await?;
        owner.fill("passphrase_confirm", "orbit candle meadow falcon ninety").await?;
        owner.press("Save").await?;
        owner.expect_text("The backup settings were saved.").await?;
        owner.press("Back up now").await?;
        owner.expect_text("The backup was written and verified.").await?;
        owner.expect_text(" KB").await?;

        owner.press("System").await?;
        owner.expect_heading("System").await?;
        owner.goto("/settings/keys").await?;
        owner.expect_heading("Encryption keys").await?;

        owner.press("Audit").await?;
        owner.expect_heading("Audit log").await?;
        owner.press("Check the log for tampering").await?;
        owner.expect_text("The audit log is intact").await?;

        owner.press("Pipeline & tags").await?;
        owner.press("Save pipeline").await?;
        owner.expect_text("The pipeline was saved.").await?;
        owner.fill("tag", "vip").await?;
        owner.press("Save colour").await?;
        owner.expect_text("The tag colour was saved.").await?;
        Ok(())
    })
    .await;
}
