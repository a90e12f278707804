//! Multi-factor authentication over HTTPS with a stepped clock: enrolment, the second sign-in
//! step, drift, replay, backup codes, pausing, forced enrolment, step-up and recovery.

use holdfast::app::clock::Clock;
use holdfast::domain::role::Role;
use reqwest::StatusCode;
use time::Duration;

use crate::helpers::{Browser, OWNER_EMAIL, OWNER_PASSWORD, USER_PASSWORD, spawn_app, totp};

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

fn secret_of(browser: &Browser, email: &str) -> String {
    browser.secrets.lock().unwrap().get(email).cloned().unwrap()
}

fn now(browser: &Browser) -> i64 {
    browser.clock.now().unix_timestamp()
}

/// Signs in with the password only, leaving the session waiting for the second factor.
async fn password_step(browser: &Browser, email: &str, password: &str) {
    let response = browser.sign_in(email, password).await;
    assert_eq!(location(&response), "/login/mfa");
}

async fn second_factor(browser: &Browser, fields: &[(&str, &str)]) -> reqwest::Response {
    browser.submit("/login/mfa", "/login/mfa", fields).await
}

#[tokio::test]
async fn enrolment_shows_the_uri_and_qr_code_and_works_with_an_independent_authenticator() {
    let app = spawn_app().await;
    let owner = app.browser();
    let token = app.setup_url.clone().unwrap().split("token=").nth(1).unwrap().to_owned();
    owner
        .submit(
            &format!("/setup?token={token}"),
            "/setup",
            &[
                ("token", &token),
                ("workspace_name", "Acme Ltd"),
                ("name", "Olive Owner"),
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
            ],
        )
        .await;
    // The owner must enrol at once: every other page leads back to enrolment.
    for path in ["/account", "/settings/users", "/settings/security"] {
        let response = owner.get(path).await;
        assert_eq!(location(&response), "/account/mfa/setup", "{path}");
    }
    let page = owner.page("/account/mfa/setup").await;
    assert!(page.contains("otpauth://totp/Holdfast:olive%40acme.example?secret="), "{page}");
    assert!(page.contains("src=\"data:image/svg+xml;base64,"), "QR code rendered in-process");
    let secret = page.split("Key: <code>").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(secret.len(), 32, "160-bit secret in base32");

    // A wrong code is refused; a code from oathtool (not our code) is accepted.
    let wrong = owner.submit("/account/mfa/setup", "/account/mfa/setup", &[("code", "000000")]).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().await.unwrap().contains("E1003"));
    let at = now(&owner);
    let output = std::process::Command::new("oathtool")
        .args(["--totp", "-b", &secret, "-N", &format!("@{at}")])
        .output()
        .expect("oathtool is installed (apt-get install oathtool; .ci/run does)");
    let code = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert_eq!(code, totp(&secret, at, 0), "our test authenticator agrees with oathtool");
    let confirmed = owner.submit("/account/mfa/setup", "/account/mfa/setup", &[("code", &code)]).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let body = confirmed.text().await.unwrap();
    let codes: Vec<&str> = body.split("<li><code>").skip(1).map(|s| s.split('<').next().unwrap()).collect();
    assert_eq!(codes.len(), 10);
    for code in &codes {
        assert!(code.len() == 11 && code.as_bytes()[5] == b'-', "{code}");
        assert!(code.chars().all(|c| c == '-' || c.is_ascii_lowercase() || c.is_ascii_digit()));
    }
    assert!(owner.page("/account").await.contains("10 backup codes left"));
    assert!(!owner.page("/account").await.contains(&secret), "the secret is never shown again");
    let store = std::fs::read(app.data_dir().join("holdfast.redb")).unwrap();
    assert!(!store.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret is stored encrypted");
}

#[tokio::test]
async fn codes_within_one_step_of_drift_work_once_and_others_are_refused() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let browser = app.new_browser();
    let secret = secret_of(&browser, OWNER_EMAIL);

    password_step(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;
    app.clock.advance(Duration::seconds(90));
    for offset in [-2, 2] {
        let code = totp(&secret, now(&browser), offset);
        let response = second_factor(&browser, &[("code", &code)]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{offset:+} steps is refused");
        assert!(response.text().await.unwrap().contains("E1003"));
    }
    let behind = totp(&secret, now(&browser), -1);
    assert_eq!(location(&second_factor(&browser, &[("code", &behind)]).await), "/", "-1 step is accepted");

    // The same code (same time step) is never accepted again, even within its window.
    let replay = app.new_browser();
    password_step(&replay, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(second_factor(&replay, &[("code", &behind)]).await.status(), StatusCode::UNAUTHORIZED);
    let now_code = totp(&secret, now(&browser), 0);
    assert_eq!(location(&second_factor(&replay, &[("code", &now_code)]).await), "/");
    let third = app.new_browser();
    password_step(&third, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(second_factor(&third, &[("code", &now_code)]).await.status(), StatusCode::UNAUTHORIZED);
    let ahead = totp(&secret, now(&browser), 1);
    assert_eq!(location(&second_factor(&third, &[("code", &ahead)]).await), "/", "+1 step is accepted");
}

#[tokio::test]
async fn a_backup_code_works_once() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let page = owner.submit("/account", "/account/mfa/backup-codes", &[]).await.text().await.unwrap();
    let code = page.split("<li><code>").nth(1).unwrap().split('<').next().unwrap().to_owned();

    let phone_lost = app.new_browser();
    password_step(&phone_lost, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(location(&second_factor(&phone_lost, &[("backup_code", &code.to_uppercase())]).await), "/");
    assert!(owner.page("/account").await.contains("9 backup codes left"));

    let again = app.new_browser();
    password_step(&again, OWNER_EMAIL, OWNER_PASSWORD).await;
    let reused = second_factor(&again, &[("backup_code", &code)]).await;
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);

    // Signed in with a backup code, the owner replaces the lost authenticator.
    let replaced = phone_lost.submit("/account", "/account/mfa/replace", &[]).await;
    assert_eq!(location(&replaced), "/account/mfa/setup");
    phone_lost.enroll_mfa(OWNER_EMAIL).await;
    let fresh = app.new_browser();
    fresh.sign_in_fully(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(fresh.get("/account").await.status(), StatusCode::OK, "the new authenticator works");
}

#[tokio::test]
async fn five_wrong_codes_pause_attempts_for_fifteen_minutes() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let attacker = app.new_browser();
    password_step(&attacker, OWNER_EMAIL, OWNER_PASSWORD).await;
    for attempt in 1..=5 {
        let response = second_factor(&attacker, &[("code", "111111")]).await;
        let expected = if attempt < 5 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(response.status(), expected, "attempt {attempt}");
    }
    // Even the right code is refused while paused.
    let code = attacker.next_code(OWNER_EMAIL);
    let paused = second_factor(&attacker, &[("code", &code)]).await;
    assert_eq!(paused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(paused.text().await.unwrap().contains("E1007"));

    app.clock.advance(Duration::minutes(15));
    let owner = app.new_browser();
    owner.sign_in_fully(OWNER_EMAIL, OWNER_PASSWORD).await;
    let log = owner.page("/account").await;
    assert!(log.contains("mfa.paused") && log.contains("mfa.failed"), "audited and shown in the security log");
}

#[tokio::test]
async fn a_pending_session_reaches_nothing_but_the_second_factor_and_expires() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let pending = app.new_browser();
    password_step(&pending, OWNER_EMAIL, OWNER_PASSWORD).await;
    for path in [
        "/",
        "/account",
        "/settings/users",
        "/settings/security",
        "/settings/system",
        "/settings/email",
        "/account/mfa/setup",
    ] {
        let response = pending.get(path).await;
        assert!(response.status().is_redirection(), "{path}");
        let to = location(&response);
        assert!(["/login/mfa", "/account", "/login"].contains(&to.as_str()), "{path} → {to}");
        if to == "/account" {
            assert_eq!(location(&pending.get(&to).await), "/login/mfa", "{path} leads nowhere but /login/mfa");
        }
    }
    let users = owner.page("/settings/users").await;
    let token = crate::helpers::csrf_token(&pending.page("/login/mfa").await);
    for (route, fields) in [
        ("/account/tokens", vec![("label", "x")]),
        (
            "/account/password",
            vec![("current_password", OWNER_PASSWORD), ("new_password", "cobalt meadow trumpet ninety")],
        ),
        ("/settings/users/invite", vec![("email", "x@acme.example"), ("name", "X"), ("role", "admin")]),
    ] {
        let response = pending.post_with_token(route, &token, &fields).await;
        assert_eq!(location(&response), "/login/mfa", "{route}");
    }
    assert!(!users.contains("x@acme.example") && !owner.page("/settings/users").await.contains("x@acme.example"));

    app.clock.advance(Duration::minutes(6));
    let code = pending.next_code(OWNER_EMAIL);
    let late = pending.post_with_token("/login/mfa", &token, &[("code", &code)]).await;
    assert_eq!(late.status(), StatusCode::FORBIDDEN, "a pending session lasts 5 minutes: its form is void");
    assert_eq!(location(&pending.get("/account").await), "/login?next=%2Faccount");
}

#[tokio::test]
async fn sensitive_actions_need_a_recent_second_factor() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    app.clock.advance(Duration::minutes(11));
    let refused = owner
        .client
        .post(owner.url("/account/tokens"))
        .header("referer", owner.url("/account"))
        .form(&[("csrf_token", crate::helpers::csrf_token(&owner.page("/account").await).as_str()), ("label", "ci")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&refused), "/account/confirm?next=%2Faccount", "E1008 leads to the confirm page");
    assert!(!owner.page("/account").await.contains("ci</td>"), "no token was created");

    let confirm = owner.page("/account/confirm?next=/account").await;
    assert!(confirm.contains("Confirm it"));
    let wrong = owner
        .submit("/account/confirm?next=/account", "/account/confirm", &[("code", "123456"), ("next", "/account")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let code = owner.next_code(OWNER_EMAIL);
    let ok = owner
        .submit(
            "/account/confirm?next=//evil.example",
            "/account/confirm",
            &[("code", &code), ("next", "//evil.example")],
        )
        .await;
    assert_eq!(location(&ok), "/", "next is always a local path");
    let created = owner.submit("/account", "/account/tokens", &[("label", "ci")]).await;
    assert_eq!(created.status(), StatusCode::OK);
    assert!(created.text().await.unwrap().contains("hf_"));
}

#[tokio::test]
async fn an_admin_resets_a_lost_second_factor_and_the_user_enrols_again() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let sam = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    let users = owner.page("/settings/users").await;
    let start = users.find("sam@acme.example").unwrap();
    let sam_id = users[start..].split("/settings/users/").nth(1).unwrap()[..32].to_owned();
    let owner_id = {
        let start = users.find(OWNER_EMAIL).unwrap();
        users[start..].split("/settings/users/").nth(1).unwrap()[..32].to_owned()
    };

    owner.confirm_second_factor(OWNER_EMAIL).await;
    let own = owner.submit("/settings/users", &format!("/settings/users/{owner_id}/reset-mfa"), &[]).await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN, "nobody resets their own second factor this way");
    let reset = owner.submit("/settings/users", &format!("/settings/users/{sam_id}/reset-mfa"), &[]).await;
    assert_eq!(location(&reset), "/settings/users?notice=mfa-reset");
    assert_eq!(location(&sam.get("/account").await), "/login?next=%2Faccount", "the user's sessions end");

    let again = app.new_browser();
    let response = again.sign_in("sam@acme.example", USER_PASSWORD).await;
    assert_eq!(location(&response), "/account/mfa/setup", "the user must enrol again");
    again.enroll_mfa("sam@acme.example").await;
    assert_eq!(again.get("/account").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn mfa_can_be_optional_by_role_but_not_removed_while_required() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let viewer = app.user_with_role("Acme Ltd", "vic@acme.example", Role::ViewOnly).await;
    let client_user = app.user_with_role("Acme Ltd", "carla@client.example", Role::Client).await;
    assert!(
        client_user.page("/portal/account").await.contains("Two-step sign-in</th><td>On"),
        "required for clients by default"
    );
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let refused = owner.submit("/account", "/account/mfa/disable", &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "the owner's role requires MFA");

    // The owner relaxes it for view-only users, who may then turn theirs off.
    let mut fields: Vec<(String, String)> =
        ["session_idle_minutes=60", "session_absolute_hours=12", "password_min_length=12"]
            .iter()
            .map(|f| f.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).unwrap())
            .collect();
    for role in ["owner", "admin", "manager", "staff", "client"] {
        fields.push((format!("mfa_{role}"), "on".to_owned()));
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let saved = owner.submit("/settings/security", "/settings/security", &fields).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "policy saved");
    viewer.confirm_second_factor("vic@acme.example").await;
    let off = viewer.submit("/account", "/account/mfa/disable", &[]).await;
    assert_eq!(location(&off), "/account?notice=mfa-disabled");
    let fresh = app.new_browser();
    let response = fresh.sign_in("vic@acme.example", USER_PASSWORD).await;
    assert_eq!(location(&response), "/", "no second step once turned off");
}
