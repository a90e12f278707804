//! Identity and access over HTTPS: setup, sign-in, sessions, CSRF, passwords, reset links,
//! roles, workspaces and API tokens — each property tested by trying the attack.

use holdfast::domain::role::Role;
use reqwest::StatusCode;
use time::Duration;

use crate::helpers::{Browser, OWNER_EMAIL, OWNER_PASSWORD, USER_PASSWORD, csrf_token, spawn_app};

fn location(response: &reqwest::Response) -> &str {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn is_signed_in(browser: &Browser) -> bool {
    browser.get("/account").await.status() == StatusCode::OK
}

#[tokio::test]
async fn setup_works_once_and_refuses_wrong_or_reused_tokens() {
    let app = spawn_app().await;
    let token = app.setup_url.clone().unwrap().split("token=").nth(1).unwrap().to_owned();
    let browser = app.browser();
    assert_eq!(browser.get("/setup?token=wrong").await.status(), StatusCode::NOT_FOUND);

    // A weak password is refused with E2007 and nothing is created.
    let weak = browser
        .submit(
            &format!("/setup?token={token}"),
            "/setup",
            &[
                ("token", &token),
                ("workspace_name", "Acme Ltd"),
                ("name", "Olive Owner"),
                ("email", OWNER_EMAIL),
                ("password", "password123"),
            ],
        )
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.text().await.unwrap().contains("E2007"));
    assert!(app.data_dir().join("setup-token").exists());

    // A wrong token in the form changes nothing either.
    let wrong = browser
        .submit(
            &format!("/setup?token={token}"),
            "/setup",
            &[
                ("token", "not-the-token"),
                ("workspace_name", "Evil"),
                ("name", "Eve"),
                ("email", "eve@evil.example"),
                ("password", OWNER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);

    let owner = app.setup_owner().await;
    assert!(owner.page("/account").await.contains("Olive Owner"));
    assert!(!app.data_dir().join("setup-token").exists());
    let again = app.new_browser();
    assert_eq!(again.get(&format!("/setup?token={token}")).await.status(), StatusCode::GONE);
    let reuse = again
        .post_with_token(
            "/setup",
            &csrf_token(&again.page("/login").await),
            &[
                ("token", &token),
                ("workspace_name", "Second"),
                ("name", "Mallory"),
                ("email", "mallory@evil.example"),
                ("password", OWNER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(reuse.status(), StatusCode::GONE);
    assert_eq!(again.sign_in("mallory@evil.example", OWNER_PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sign_in_sets_a_host_only_session_cookie_and_does_not_enumerate_users() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let browser = app.new_browser();
    let response = browser.sign_in(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-holdfast_session="))
        .expect("session cookie");
    let attributes: Vec<&str> = cookie.split("; ").skip(1).collect();
    assert_eq!(attributes, ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"]);
    assert_eq!(location(&response), "/login/mfa", "the owner's second factor is due");
    let code = browser.next_code(OWNER_EMAIL);
    let done = browser.submit("/login/mfa", "/login/mfa", &[("code", &code)]).await;
    let cookie = done
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-holdfast_session="))
        .expect("a new session cookie after the second factor");
    assert_eq!(cookie.split("; ").skip(1).collect::<Vec<_>>(), ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"]);
    let value = cookie.split(';').next().unwrap().split('=').nth(1).unwrap().to_owned();
    assert!(value.len() >= 43, "256-bit session id");
    let page = browser.page("/account").await;
    assert!(!page.contains(&value), "the session id never appears in a page");

    let wrong_password = app.new_browser().sign_in(OWNER_EMAIL, "wrong horse battery staple").await;
    let unknown_email = app.new_browser().sign_in("nobody@acme.example", "wrong horse battery staple").await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status(), StatusCode::UNAUTHORIZED);
    let strip = |html: String| {
        let start = html.find("<div class=\"flash error\"").unwrap();
        html[start..].split("</div>").next().unwrap().to_owned()
    };
    let a = strip(wrong_password.text().await.unwrap());
    let b = strip(unknown_email.text().await.unwrap());
    assert_eq!(a, b);
    assert!(a.contains("E1001"));
}

#[tokio::test]
async fn sign_out_ends_the_session_server_side() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let stolen_cookie = owner.client.clone();
    let token = csrf_token(&owner.page("/account").await);
    let response = owner.post_with_token("/logout", &token, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cleared = response.headers().get("clear-site-data").unwrap().to_str().unwrap();
    assert!(cleared.contains("cache") && !cleared.contains("cookies"), "the device cookie stays: {cleared}");
    let set_cookies: Vec<&str> = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert!(set_cookies.iter().any(|c| c.starts_with("__Host-holdfast_session=;")), "{set_cookies:?}");
    // Even a copy of the old cookie (e.g. stolen before sign-out) no longer works.
    let replay = stolen_cookie.get(owner.url("/account")).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&replay), "/login?next=%2Faccount");
}

#[tokio::test]
async fn sessions_expire_after_idle_and_absolute_limits() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    app.clock.advance(Duration::minutes(59));
    assert!(is_signed_in(&owner).await, "activity within the idle limit keeps the session");
    app.clock.advance(Duration::minutes(61));
    assert!(!is_signed_in(&owner).await, "idle for over 60 minutes");

    let active = app.new_browser();
    active.sign_in_fully(OWNER_EMAIL, OWNER_PASSWORD).await;
    for _ in 0..14 {
        app.clock.advance(Duration::minutes(50));
        assert!(is_signed_in(&active).await);
    }
    app.clock.advance(Duration::minutes(50));
    assert!(!is_signed_in(&active).await, "over 12 hours since sign-in");
}

#[tokio::test]
async fn password_change_needs_the_current_password_and_signs_out_other_sessions() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let laptop = app.new_browser();
    laptop.sign_in_fully(OWNER_EMAIL, OWNER_PASSWORD).await;

    let wrong = owner
        .submit(
            "/account",
            "/account/password",
            &[("current_password", "nope nope nope"), ("new_password", "cobalt meadow trumpet ninety")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().await.unwrap().contains("E1001"));
    assert!(is_signed_in(&laptop).await);

    let reuse = owner
        .submit(
            "/account",
            "/account/password",
            &[("current_password", OWNER_PASSWORD), ("new_password", OWNER_PASSWORD)],
        )
        .await;
    assert!(reuse.text().await.unwrap().contains("E2007"), "the current password can't be reused");

    let changed = owner
        .submit(
            "/account",
            "/account/password",
            &[("current_password", OWNER_PASSWORD), ("new_password", "cobalt meadow trumpet ninety")],
        )
        .await;
    assert_eq!(location(&changed), "/account?notice=password-changed");
    assert!(is_signed_in(&owner).await, "the session that changed it stays");
    assert!(!is_signed_in(&laptop).await, "other sessions are revoked");
    assert_eq!(app.new_browser().sign_in(OWNER_EMAIL, OWNER_PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.new_browser().sign_in(OWNER_EMAIL, "cobalt meadow trumpet ninety").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_user_lists_and_revokes_their_own_sessions() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let phone = app.new_browser();
    phone.sign_in_fully(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = owner.page("/account").await;
    let ids: Vec<String> =
        page.split("/account/sessions/").skip(1).map(|s| s.split('/').next().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1, "one other session to revoke");
    let response = owner.submit("/account", &format!("/account/sessions/{}/revoke", ids[0]), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(!is_signed_in(&phone).await);
    assert!(is_signed_in(&owner).await);
}

/// Every state-changing route, with the fields a real form would send.
fn post_routes(user_id: &str) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    vec![
        ("/logout".into(), vec![]),
        (
            "/account/password".into(),
            vec![("current_password", OWNER_PASSWORD), ("new_password", "cobalt meadow trumpet ninety")],
        ),
        ("/account/tokens".into(), vec![("label", "csrf test")]),
        ("/settings/users/invite".into(), vec![("email", "new@acme.example"), ("name", "New"), ("role", "staff")]),
        (format!("/settings/users/{user_id}/role"), vec![("role", "viewonly")]),
        (format!("/settings/users/{user_id}/disable"), vec![]),
        (format!("/settings/users/{user_id}/reset-link"), vec![]),
        (
            "/settings/security".into(),
            vec![("session_idle_minutes", "5"), ("session_absolute_hours", "1"), ("password_min_length", "8")],
        ),
        ("/login".into(), vec![("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)]),
        ("/login/mfa".into(), vec![("code", "123456")]),
        ("/account/mfa/setup".into(), vec![("code", "123456")]),
        ("/account/mfa/backup-codes".into(), vec![]),
        ("/account/mfa/disable".into(), vec![]),
        ("/account/confirm".into(), vec![("code", "123456"), ("next", "/account")]),
        (format!("/settings/users/{user_id}/reset-mfa"), vec![]),
        (
            "/settings/email".into(),
            vec![("host", ""), ("port", "25"), ("security", "tls"), ("username", ""), ("password", ""), ("from", "")],
        ),
        ("/settings/email/test".into(), vec![]),
    ]
}

#[tokio::test]
async fn every_post_without_a_valid_token_or_from_another_site_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    // Dozens of refused settings posts follow: lift the hourly budget for settings changes.
    let mut limits = app.app.rate_limit_policy();
    limits.admin_changes_per_hour = 1000;
    app.app.settings().save_rate_limits(None, limits, &Default::default()).await.unwrap();
    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    let users = owner.page("/settings/users").await;
    let sam_id = user_id_of(&users, "sam@acme.example");
    let own_token = csrf_token(&owner.page("/account").await);
    let other_session_token = csrf_token(&staff.page("/account").await);

    for (route, fields) in post_routes(&sam_id) {
        let url = owner.url(&route);
        let attempts = [
            ("no token", owner.client.post(&url).form(&fields).send().await.unwrap()),
            ("another session's token", owner.post_with_token(&route, &other_session_token, &fields).await),
            (
                "cross-site",
                owner
                    .client
                    .post(&url)
                    .header("sec-fetch-site", "cross-site")
                    .form(&[&[("csrf_token", own_token.as_str())][..], &fields].concat())
                    .send()
                    .await
                    .unwrap(),
            ),
            (
                "foreign origin",
                owner
                    .client
                    .post(&url)
                    .header("origin", "https://evil.example")
                    .form(&[&[("csrf_token", own_token.as_str())][..], &fields].concat())
                    .send()
                    .await
                    .unwrap(),
            ),
        ];
        for (what, response) in attempts {
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{route}: {what}");
            assert!(response.text().await.unwrap().contains("E1006"), "{route}: {what}");
        }
    }
    // Nothing changed: still signed in, same password, Sam still staff and enabled, no invite.
    assert!(is_signed_in(&owner).await);
    assert!(is_signed_in(&staff).await);
    let users = owner.page("/settings/users").await;
    assert!(!users.contains("new@acme.example"));
    assert_eq!(app.app.security_policy(), holdfast::app::policy::SecurityPolicy::default());
}

#[tokio::test]
async fn reset_links_work_once_expire_after_an_hour_and_enforce_the_password_policy() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    let users = owner.page("/settings/users").await;
    let sam_id = user_id_of(&users, "sam@acme.example");

    let issue = || async {
        let page = owner
            .submit("/settings/users", &format!("/settings/users/{sam_id}/reset-link"), &[])
            .await
            .text()
            .await
            .unwrap();
        let start = page.find("/password/reset?token=").expect("link shown");
        page[start..].split('<').next().unwrap().to_owned()
    };
    let link = issue().await;
    let visitor = app.new_browser();
    let form = visitor.get(&link).await;
    assert_eq!(form.headers().get("referrer-policy").unwrap(), "same-origin");
    let token = link.split("token=").nth(1).unwrap();

    let weak = visitor.submit(&link, "/password/reset", &[("token", token), ("password", "short")]).await;
    assert!(weak.text().await.unwrap().contains("E2007"));
    let reused = visitor.submit(&link, "/password/reset", &[("token", token), ("password", USER_PASSWORD)]).await;
    assert!(reused.text().await.unwrap().contains("E2007"), "the current password can't be chosen again");

    let done = visitor
        .submit(&link, "/password/reset", &[("token", token), ("password", "saffron glacier tunnel wombat")])
        .await;
    assert_eq!(location(&done), "/login?notice=password-set");
    assert!(!is_signed_in(&visitor).await, "a reset never signs in by itself");
    assert!(!is_signed_in(&staff).await, "a reset signs out existing sessions");
    assert_eq!(visitor.get(&link).await.status(), StatusCode::NOT_FOUND, "single use");
    assert_eq!(
        app.new_browser().sign_in("sam@acme.example", "saffron glacier tunnel wombat").await.status(),
        StatusCode::SEE_OTHER
    );

    let late = issue().await;
    app.clock.advance(Duration::minutes(61));
    assert_eq!(visitor.get(&late).await.status(), StatusCode::NOT_FOUND, "expired after an hour");
}

fn user_id_of(users_page: &str, email: &str) -> String {
    let row_start = users_page.find(email).expect("user listed");
    let after = &users_page[row_start..];
    let start = after.find("/settings/users/").unwrap() + "/settings/users/".len();
    after[start..start + 32].to_owned()
}

#[tokio::test]
async fn invitations_set_the_first_password() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let page = owner
        .submit(
            "/settings/users",
            "/settings/users/invite",
            &[("email", "ivy@acme.example"), ("name", "Ivy Invitee"), ("role", "manager")],
        )
        .await
        .text()
        .await
        .unwrap();
    let start = page.find("/password/reset?token=").expect("invitation link shown");
    let link = page[start..].split('<').next().unwrap().to_owned();
    let ivy = app.new_browser();
    assert!(ivy.page(&link).await.contains("Welcome"));
    let token = link.split("token=").nth(1).unwrap();
    ivy.submit(&link, "/password/reset", &[("token", token), ("password", "walnut compass drizzle opera")]).await;
    ivy.sign_in_fully("ivy@acme.example", "walnut compass drizzle opera").await;
    assert!(ivy.page("/account").await.contains("Manager"));
}

#[tokio::test]
async fn the_role_matrix_is_enforced_by_the_server() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let target = app.user_with_role("Acme Ltd", "target@acme.example", Role::Staff).await;
    drop(target);
    let target_id = user_id_of(&owner.page("/settings/users").await, "target@acme.example");

    // (role, may manage users and settings, may use the API)
    let matrix = [
        (Role::Admin, true, true),
        (Role::Manager, false, true),
        (Role::Staff, false, true),
        (Role::ViewOnly, false, true),
        (Role::Client, false, false),
    ];
    for (role, admin, api) in matrix {
        let email = format!("{}@acme.example", role.as_str());
        let browser = app.user_with_role("Acme Ltd", &email, role).await;
        let client = role == Role::Client;
        if !client {
            browser.confirm_second_factor(&email).await;
        }
        owner.confirm_second_factor(OWNER_EMAIL).await;
        // A client's account page is the portal's; the firm's pages do not exist for them.
        let token = csrf_token(&browser.page(if client { "/portal/account" } else { "/account" }).await);
        let admin_actions: Vec<(String, Vec<(&str, &str)>)> = vec![
            ("/settings/users/invite".into(), vec![("email", "x@acme.example"), ("name", "X"), ("role", "staff")]),
            (format!("/settings/users/{target_id}/role"), vec![("role", "viewonly")]),
            (format!("/settings/users/{target_id}/reset-link"), vec![]),
            (
                "/settings/security".into(),
                vec![
                    ("session_idle_minutes", "60"),
                    ("session_absolute_hours", "12"),
                    ("password_min_length", "12"),
                    ("mfa_owner", "on"),
                    ("mfa_admin", "on"),
                    ("mfa_manager", "on"),
                    ("mfa_staff", "on"),
                    ("mfa_viewonly", "on"),
                ],
            ),
            (format!("/settings/users/{target_id}/disable"), vec![]),
        ];
        for (route, fields) in admin_actions {
            let response = browser.post_with_token(&route, &token, &fields).await;
            let status = response.status();
            if admin {
                assert!(status == StatusCode::SEE_OTHER || status == StatusCode::OK, "{role} {route}: {status}");
            } else if client {
                assert_eq!(status, StatusCode::NOT_FOUND, "{role} {route}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {route}");
                assert!(response.text().await.unwrap().contains("E1005"), "{role} {route}");
            }
        }
        for page in ["/settings/users", "/settings/security", "/settings/system"] {
            let status = browser.get(page).await.status();
            assert_eq!(status == StatusCode::OK, admin, "{role} GET {page}: {status}");
        }
        let response = browser.post_with_token("/account/tokens", &token, &[("label", "mine")]).await;
        assert_eq!(response.status() == StatusCode::OK, api, "{role} creates a token");
        if client {
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "a client has no token page");
        }
        if admin {
            // Put the target back for the next role.
            owner.submit("/settings/users", &format!("/settings/users/{target_id}/enable"), &[]).await;
            owner.submit("/settings/users", &format!("/settings/users/{target_id}/role"), &[("role", "staff")]).await;
        }
    }
    // An admin can't make anyone an owner, and the last owner can't be demoted or disabled.
    let admin = app.new_browser();
    admin.sign_in_fully("admin@acme.example", USER_PASSWORD).await;
    admin.confirm_second_factor("admin@acme.example").await;
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let promote =
        admin.submit("/settings/users", &format!("/settings/users/{target_id}/role"), &[("role", "owner")]).await;
    assert_eq!(promote.status(), StatusCode::FORBIDDEN);
    let owner_id = user_id_of(&owner.page("/settings/users").await, OWNER_EMAIL);
    let demote =
        owner.submit("/settings/users", &format!("/settings/users/{owner_id}/role"), &[("role", "admin")]).await;
    assert_eq!(demote.status(), StatusCode::FORBIDDEN);
    assert!(owner.page("/account").await.contains("Owner"));
}

#[tokio::test]
async fn disabling_a_user_revokes_sessions_and_tokens_and_role_changes_revoke_sessions() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let sam = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    let page = sam.submit("/account", "/account/tokens", &[("label", "script")]).await.text().await.unwrap();
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let token = page
        .split("<code>hf_")
        .nth(1)
        .map(|s| format!("hf_{}", s.split('<').next().unwrap()))
        .expect("token shown once");
    let api = app.new_browser().client;
    let me = |t: String| api.get(owner.url("/api/v1/me")).bearer_auth(t).send();
    assert_eq!(me(token.clone()).await.unwrap().status(), StatusCode::OK);

    let sam_id = user_id_of(&owner.page("/settings/users").await, "sam@acme.example");
    owner.submit("/settings/users", &format!("/settings/users/{sam_id}/role"), &[("role", "viewonly")]).await;
    assert!(!is_signed_in(&sam).await, "role change signs the user out");
    let sam = app.new_browser();
    sam.sign_in_fully("sam@acme.example", USER_PASSWORD).await;
    assert!(sam.page("/account").await.contains("View only"));

    owner.submit("/settings/users", &format!("/settings/users/{sam_id}/disable"), &[]).await;
    assert!(!is_signed_in(&sam).await);
    assert_eq!(app.new_browser().sign_in("sam@acme.example", USER_PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    let response = me(token).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers().get("content-type").unwrap(), "application/problem+json");
}

#[tokio::test]
async fn api_tokens_are_shown_once_act_as_their_user_and_can_be_revoked() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let page = owner.submit("/account", "/account/tokens", &[("label", "accounting sync")]).await.text().await.unwrap();
    let token = page.split("<code>hf_").nth(1).map(|s| format!("hf_{}", s.split('<').next().unwrap())).unwrap();
    assert!(!owner.page("/account").await.contains(&token), "shown only once");

    let api = app.new_browser().client;
    let me: serde_json::Value =
        api.get(owner.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["role"], "owner");
    let bad = api.get(owner.url("/api/v1/me")).bearer_auth("hf_forged").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    let listing = owner.page("/account").await;
    let id = listing.split("/account/tokens/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    owner.submit("/account", &format!("/account/tokens/{id}/revoke"), &[]).await;
    let after = api.get(owner.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn workspaces_are_isolated() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    app.app.users().create_workspace("Globex").await.unwrap();
    let globex_admin = app.user_with_role("Globex", "gina@globex.example", Role::Admin).await;
    let victim = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    let acme_ids = owner.page("/settings/users").await;
    let sam_id = user_id_of(&acme_ids, "sam@acme.example");
    let owner_id = user_id_of(&acme_ids, OWNER_EMAIL);

    let globex_users = globex_admin.page("/settings/users").await;
    assert!(!globex_users.contains("acme.example"), "no Acme user is listed in Globex");
    for id in [&sam_id, &owner_id] {
        for (action, fields) in
            [("role", vec![("role", "viewonly")]), ("disable", vec![]), ("reset-link", vec![]), ("enable", vec![])]
        {
            let response =
                globex_admin.submit("/settings/users", &format!("/settings/users/{id}/{action}"), &fields).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{action} on a foreign user");
        }
    }
    assert!(is_signed_in(&victim).await);
    assert!(victim.page("/account").await.contains("Staff"));
}

#[tokio::test]
async fn only_the_home_workspace_runs_the_server_and_admins_cannot_take_over_owners() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    app.app.users().create_workspace("Globex").await.unwrap();
    let globex_owner = app.user_with_role("Globex", "gus@globex.example", Role::Owner).await;
    globex_owner.confirm_second_factor("gus@globex.example").await;
    for page in ["/settings/security", "/settings/email", "/settings/backups", "/settings/system"] {
        assert_eq!(globex_owner.get(page).await.status(), StatusCode::FORBIDDEN, "{page} is server-wide");
    }
    assert_eq!(globex_owner.get("/settings/users").await.status(), StatusCode::OK, "its own users");
    assert_eq!(globex_owner.get("/settings/audit").await.status(), StatusCode::OK, "its own audit log");
    let token = csrf_token(&globex_owner.page("/account").await);
    let backup = globex_owner.post_with_token("/settings/backups/run", &token, &[]).await;
    assert_eq!(backup.status(), StatusCode::FORBIDDEN, "a backup holds every workspace");
    let limits = globex_owner
        .post_with_token(
            "/settings/security/limits",
            &token,
            &[
                ("unauthenticated_per_minute", "1"),
                ("unauthenticated_burst", "1"),
                ("authenticated_per_minute", "1"),
                ("authenticated_burst", "1"),
                ("authenticated_per_hour", "1"),
                ("sign_in_failures_per_hour", "1"),
                ("admin_changes_per_hour", "1"),
                ("uploads_per_hour", "1"),
                ("exports_per_hour", "1"),
            ],
        )
        .await;
    assert_eq!(limits.status(), StatusCode::FORBIDDEN);
    assert!(app.app.rate_limit_policy().enabled && app.app.rate_limit_policy().unauthenticated_per_minute == 100);

    // An admin of the home workspace can't reset the owner's password or second factor.
    let admin = app.user_with_role("Acme Ltd", "ada@acme.example", Role::Admin).await;
    admin.confirm_second_factor("ada@acme.example").await;
    let owner_id = user_id_of(&owner.page("/settings/users").await, OWNER_EMAIL);
    for action in ["reset-link", "reset-mfa"] {
        let response = admin.submit("/settings/users", &format!("/settings/users/{owner_id}/{action}"), &[]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action} on the owner");
    }
    assert!(is_signed_in(&owner).await, "the owner's sessions are untouched");
}

#[tokio::test]
async fn a_role_that_requires_mfa_reaches_nothing_without_it() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let replaced = owner.submit("/account", "/account/mfa/replace", &[]).await;
    assert_eq!(location(&replaced), "/account/mfa/setup");
    for page in ["/account", "/settings/users", "/settings/security"] {
        assert_eq!(location(&owner.get(page).await), "/account/mfa/setup", "{page} waits for enrolment");
    }
    owner.enroll_mfa(OWNER_EMAIL).await;
    assert!(is_signed_in(&owner).await);
}
