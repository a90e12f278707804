//! Offline reading over HTTP: which pages the worker may keep, the workspace's switch, and the
//! worker script served from our origin under a CSP that allows only our own workers.

use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn reading_pages_are_marked_keepable_until_an_owner_turns_it_off() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let keepable = |response: &reqwest::Response| response.headers().get("x-holdfast-offline").is_some();
    for path in ["/", "/contacts", "/companies", "/deals", "/tasks", "/search?q=ada"] {
        let response = owner.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(keepable(&response), "{path} may be kept");
        assert_eq!(response.headers()["x-holdfast-user"].len(), 32, "whose page it is");
        assert!(response.text().await.unwrap().contains("<meta name=\"hf-offline\" content=\"on\">"));
    }
    for path in [
        "/settings/security",
        "/settings/audit",
        "/account",
        "/contacts/new",
        "/contacts/export.csv",
        "/settings/offline",
    ] {
        assert!(!keepable(&owner.get(path).await), "{path} is never kept");
    }
    let anonymous = app.new_browser().page("/login").await;
    assert!(anonymous.contains("<meta name=\"hf-offline\" content=\"wipe\">"), "signed out: the browser wipes");

    let worker = app.get("/sw.js").await;
    assert_eq!(worker.status(), StatusCode::OK);
    assert!(worker.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let csp = worker.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("worker-src 'self'"), "{csp}");
    assert!(worker.text().await.unwrap().contains("AES-GCM"), "pages are kept encrypted");
    let offline = app.get("/offline").await;
    assert_eq!(offline.status(), StatusCode::OK);
    assert!(offline.text().await.unwrap().contains("This page was not saved for reading offline."));

    let off = owner.submit("/settings/offline", "/settings/offline", &[]).await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    let page = owner.get("/contacts").await;
    assert!(!keepable(&page), "turned off: nothing is kept");
    assert!(page.text().await.unwrap().contains("<meta name=\"hf-offline\" content=\"off\">"), "and browsers wipe");
    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", holdfast::domain::role::Role::Staff).await;
    assert_eq!(
        staff.submit("/contacts", "/settings/offline", &[("offline_reading", "on")]).await.status(),
        StatusCode::FORBIDDEN
    );
    let on = owner.submit("/settings/offline", "/settings/offline", &[("offline_reading", "on")]).await;
    assert_eq!(on.status(), StatusCode::SEE_OTHER);
    assert!(keepable(&owner.get("/contacts").await));
    assert!(owner.page("/settings/audit?event=settings.offline_reading").await.contains("Olive Owner"), "audited");
}
