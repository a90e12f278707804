//! The CSRF decision table (docs/security.md, "Cross-site request forgery"), one row per case:
//! what real browsers send (`Sec-Fetch-Site`, `Origin`, `Origin: null`) and what older browsers
//! send (neither). Every row carries a valid form token, so only the header decision differs.

use reqwest::StatusCode;

use crate::helpers::{csrf_token, spawn_app};

/// (Sec-Fetch-Site, Origin, accepted?)
const TABLE: &[(Option<&str>, Option<&str>, bool)] = &[
    (Some("same-origin"), Some("OURS"), true),
    (Some("same-origin"), Some("null"), true),
    (Some("same-origin"), None, true),
    (Some("none"), None, true),
    (Some("none"), Some("null"), false),
    (Some("same-site"), Some("OURS"), false),
    (Some("cross-site"), Some("OURS"), false),
    (Some("cross-site"), Some("https://evil.example"), false),
    (Some("same-origin"), Some("https://evil.example"), false),
    (None, Some("OURS"), true),
    (None, None, true),
    (None, Some("null"), false),
    (None, Some("https://evil.example"), false),
    (None, Some("http://OURS_PLAIN"), false),
];

#[tokio::test]
async fn csrf_decision_table_matches_what_browsers_send() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let token = csrf_token(&owner.page("/contacts/new").await);
    let ours = app.base.clone();
    let plain = ours.replace("https://", "");
    for &(site, origin, accepted) in TABLE {
        let mut request = owner.client.post(owner.url("/contacts/new"));
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin.replace("OURS_PLAIN", &plain).replace("OURS", &ours));
        }
        // An empty contact: past the CSRF layer it is refused by validation (422), not 403.
        let response = request
            .form(&[("csrf_token", token.as_str()), ("first_name", ""), ("last_name", "")])
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        let row = format!("Sec-Fetch-Site {site:?}, Origin {origin:?}");
        if accepted {
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{row} should reach the form: {body}");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{row} should be refused");
            assert!(body.contains("E1006"), "{row}");
        }
    }
}

/// Pages with a secret in their URL keep it from other sites without breaking their own form.
#[tokio::test]
async fn secret_bearing_pages_use_same_origin_referrer_policy() {
    let app = spawn_app().await;
    let setup = app.setup_url.clone().unwrap();
    let path = &setup[setup.find("/setup").unwrap()..];
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get("referrer-policy").unwrap(), "same-origin");
}
