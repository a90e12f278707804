//! Passwords as people meet them: a refusal says what counted against the password, an
//! earlier password can't come back, and changing the password can revoke API tokens.

use anyhow::ensure;

use super::in_browser;
use super::journeys::set_up_firm;
use crate::helpers::{OWNER_EMAIL, OWNER_PASSWORD, spawn_app};

#[tokio::test]
async fn setup_names_the_word_that_counted_against_the_password() {
    let app = spawn_app().await;
    in_browser(&app, "setup-weak-word", async |owner| {
        owner.goto_url(app.setup_url.as_deref().unwrap_or_default()).await?;
        owner.fill("workspace_name", "Harbour Lights Ltd").await?;
        owner.fill("name", "Olive Owner").await?;
        owner.fill("email", OWNER_EMAIL).await?;
        owner.fill("password", "velvet harbour compass 4821").await?;
        owner.press("Create workspace").await?;
        owner.expect_text("“harbour” is part of your name, your email address or your firm's name").await?;
        // The form keeps what was typed, except the password.
        owner.fill("password", "velvet lagoon compass 4821").await?;
        owner.press("Create workspace").await?;
        owner.expect_text("Set up two-step sign-in").await
    })
    .await;
}

#[tokio::test]
async fn a_password_change_refuses_a_recent_password_and_revokes_api_tokens() {
    let app = spawn_app().await;
    in_browser(&app, "password-change", async |owner| {
        set_up_firm(&app, owner).await?;
        owner.goto("/account").await?;
        owner.fill("label", "accounting sync").await?;
        owner.press("Create token").await?;
        let token = owner.text_of("code.token, .flash code").await?;
        ensure!(token.starts_with("hf_"), "the new token is shown once: {token:?}");
        let api = |token: String| {
            let client = app.client.clone();
            let url = app.url("/api/v1/contacts");
            async move { client.get(url).bearer_auth(token).send().await.map(|r| r.status().as_u16()) }
        };
        ensure!(api(token.clone()).await? == 200, "the token works before the change");

        let new_password = "lantern orchard granite velvet";
        owner.fill("current_password", OWNER_PASSWORD).await?;
        owner.fill("new_password", new_password).await?;
        owner.press("Change password").await?;
        owner.expect_text("your API tokens revoked").await?;
        ensure!(api(token).await? == 401, "the token stops working with the password change");

        owner.fill("current_password", new_password).await?;
        owner.fill("new_password", OWNER_PASSWORD).await?;
        owner.press("Change password").await?;
        owner.expect_text("You have used that password recently: choose one that isn't among your last 5.").await
    })
    .await;
}
