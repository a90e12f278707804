//! What a new firm does, in a real Chromium: each journey asserts the text a person sees.

use anyhow::{Context, Result};
use holdfast::app::clock::Clock;

use super::{Page, in_browser};
use crate::helpers::{OWNER_EMAIL, OWNER_PASSWORD, TestApp, spawn_app, totp};

/// The next authenticator code for `secret`, one time step after the last (codes are single use).
pub fn next_code(app: &TestApp, secret: &str) -> String {
    app.clock.advance(time::Duration::seconds(30));
    totp(secret, app.clock.now().unix_timestamp(), 0)
}

/// Setup from the logged URL, authenticator enrolment with a code computed from the page's
/// key, backup codes, the dashboard. Returns the authenticator's key.
pub async fn set_up_firm(app: &TestApp, owner: &Page) -> Result<String> {
    let setup_url = app.setup_url.clone().context("setup pending")?;
    owner.goto_url(&setup_url).await?;
    owner.expect_text("Set up Holdfast").await?;
    owner.fill("workspace_name", "Acme Ltd").await?;
    owner.fill("name", "Olive Owner").await?;
    owner.fill("email", OWNER_EMAIL).await?;
    owner.fill("password", OWNER_PASSWORD).await?;
    owner.press("Create workspace").await?;
    owner.expect_text("Set up two-step sign-in").await?;
    let secret = owner.text_of("li code").await?;
    owner.fill("code", &next_code(app, &secret)).await?;
    owner.press("Turn on").await?;
    owner.expect_text("Your backup codes").await?;
    let codes = owner.text_of("ul.codes").await?;
    anyhow::ensure!(codes.lines().count() >= 8, "expected backup codes, saw {codes:?}");
    owner.press("I have saved them").await?;
    owner.expect_path("/").await?;
    owner.expect_text("Dashboard").await?;
    Ok(secret)
}

/// Signs in with password and a fresh authenticator code from the sign-in page.
pub async fn sign_in(app: &TestApp, page: &Page, email: &str, password: &str, secret: &str) -> Result<()> {
    page.fill("email", email).await?;
    page.fill("password", password).await?;
    page.press("Sign in").await?;
    page.expect_text("Two-step sign-in").await?;
    page.fill("code", &next_code(app, secret)).await?;
    page.press("Continue").await?;
    Ok(())
}

#[tokio::test]
async fn a_new_firm_sets_up_signs_out_and_back_in() {
    let app = spawn_app().await;
    in_browser(&app, "first-run", async |owner| {
        let secret = set_up_firm(&app, owner).await?;
        owner.press("Sign out").await?;
        owner.expect_path("/login").await?;
        owner.goto("/contacts?sort=newest").await?;
        owner.expect_path("/login").await?;
        sign_in(&app, owner, OWNER_EMAIL, OWNER_PASSWORD, &secret).await?;
        // Back where sign-in interrupted, not on the account page.
        owner.expect_path("/contacts?sort=newest").await?;
        owner.expect_text("Contacts").await?;
        Ok(())
    })
    .await;
}
