//! The client portal over HTTP: the partition (a client of one company reaches nothing of
//! another company, another workspace or the firm), internal notes kept from clients, the
//! invitation surviving a mail scanner, and reminders sent on their days exactly once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::files::{png, upload};
use crate::helpers::{Api, Browser, OWNER_EMAIL, TestApp, USER_PASSWORD, csrf_token, spawn_app, spawn_app_in};
use crate::smtp_sink::SmtpSink;
use holdfast::domain::role::Role;

const INTERNAL: &str = "INTERNAL-ONLY: their cash flow worries us";

/// A company of a workspace with one shared document, one request and one message.
struct Company {
    id: String,
    file: String,
    request: String,
}

/// Makes a company through `api` with a shared photo, a two-item request and a message.
async fn company(api: &Api, name: &str) -> Company {
    let created = api.create("/api/v1/companies", json!({"name": name})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, file) = upload(api, &format!("companies/{id}"), &format!("{name} engagement.png"), png(name)).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    let file = file["id"].as_str().unwrap().to_owned();
    let shared = api.post(&format!("/api/v1/companies/{id}/portal/documents"), json!({"file_id": file})).await;
    assert_eq!(shared.status(), StatusCode::CREATED);
    let request = api
        .create(
            &format!("/api/v1/companies/{id}/portal/requests"),
            json!({"title": format!("{name} year-end"), "due": "2099-01-31", "items": [{"text": "Bank statements"}, {"text": "Payroll summary"}]}),
        )
        .await;
    api.create(&format!("/api/v1/companies/{id}/portal/messages"), json!({"body": format!("Hello {name}")})).await;
    Company { id, file, request: request["id"].as_str().unwrap().to_owned() }
}

/// A client of `company` in `workspace`, signed in (enrolling TOTP: clients need it by default).
async fn client_of(app: &TestApp, workspace: &str, company: &str, email: &str) -> Browser {
    let password = secrecy::SecretString::from(USER_PASSWORD.to_owned());
    let company = company.parse().ok();
    app.app.users().create(workspace, email, "Carla Client", Role::Client, company, &password).await.expect("client");
    let browser = app.new_browser();
    browser.sign_in_fully(email, USER_PASSWORD).await;
    browser
}

/// The owner's API, for the staff side.
async fn owner_api(app: &TestApp) -> Api {
    let token = app.app.tokens().create_for_email(OWNER_EMAIL, "portal tests").await.unwrap();
    Api { client: app.client.clone(), base: app.base.clone(), token }
}

/// Posts the answer form of a request the way the portal page does (multipart).
async fn answer(browser: &Browser, request: &str, item: &str, text: &str, token: &str) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token.to_owned())
        .text("item", item.to_owned())
        .text("text", text.to_owned());
    browser.client.post(browser.url(&format!("/portal/requests/{request}"))).multipart(form).send().await.unwrap()
}

#[tokio::test]
async fn a_client_reaches_their_own_company_and_nothing_else() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = owner_api(&app).await;
    let (a, b) = (company(&api, "Alder").await, company(&api, "Birch").await);
    api.create(&format!("/api/v1/companies/{}/portal/messages", a.id), json!({"body": INTERNAL, "internal": true}))
        .await;
    app.app.users().create_workspace("Other Firm").await.unwrap();
    let other = app.api_user("Other Firm", "otto@other.example", Role::Owner).await;
    let c = company(&other, "Cedar").await;
    let alder = client_of(&app, "Acme Ltd", &a.id, "carla@alder.example").await;

    // Their own company: every page answers.
    let home = alder.page("/portal").await;
    assert!(home.contains("Alder year-end") && home.contains("Acme Ltd"), "home shows the request and the firm");
    for path in [
        "/portal/documents".to_owned(),
        format!("/portal/documents/{}", a.file),
        "/portal/requests".to_owned(),
        format!("/portal/requests/{}", a.request),
        "/portal/messages".to_owned(),
        "/portal/account".to_owned(),
    ] {
        let page = alder.page(&path).await;
        assert!(!page.contains(INTERNAL), "no internal note on {path}");
        assert!(!page.contains("Birch") && !page.contains("Cedar"), "nothing of another company on {path}");
    }
    let document = alder.page(&format!("/portal/documents/{}", a.file)).await;
    let link =
        document.split("href=\"/portal/documents/").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&");
    let fetched = alder.get(&format!("/portal/documents/{link}")).await;
    assert_eq!(fetched.status(), StatusCode::OK, "their shared document downloads");
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), png("Alder").as_slice());

    // Another company of the same firm, and a company of another firm: every route and verb
    // answers 404, whatever the ids.
    let token = csrf_token(&home);
    for foreign in [&b, &c] {
        for path in [
            format!("/portal/documents/{}", foreign.file),
            format!("/portal/documents/{}/download?expires=4102444800&sig=00", foreign.file),
            format!("/portal/requests/{}", foreign.request),
        ] {
            assert_eq!(alder.get(&path).await.status(), StatusCode::NOT_FOUND, "GET {path}");
        }
        let ack = alder.post_with_token(&format!("/portal/documents/{}", foreign.file), &token, &[]).await;
        assert_eq!(ack.status(), StatusCode::NOT_FOUND, "acknowledging another company's document");
        let answered = answer(&alder, &foreign.request, "0", "ours now", &token).await;
        assert_eq!(answered.status(), StatusCode::NOT_FOUND, "answering another company's request");
    }
    // Their own document's link, signed for them, is no one else's.
    let birch = client_of(&app, "Acme Ltd", &b.id, "bob@birch.example").await;
    let stolen = birch.get(&format!("/portal/documents/{link}")).await;
    assert_eq!(stolen.status(), StatusCode::NOT_FOUND, "a link works for its client alone");

    // Nothing of the firm's: pages, forms, downloads, the API.
    for path in [
        "/contacts".to_owned(),
        "/companies".to_owned(),
        format!("/companies/{}", a.id),
        format!("/companies/{}/portal", a.id),
        "/deals".to_owned(),
        "/tasks".to_owned(),
        "/search?q=Alder".to_owned(),
        "/account".to_owned(),
        "/client-activity".to_owned(),
        "/settings/users".to_owned(),
        "/settings/audit".to_owned(),
        format!("/files/{}", a.file),
    ] {
        let response = alder.get(&path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "GET {path}");
        assert!(!response.text().await.unwrap().contains("Alder"), "no data on {path}");
    }
    let wrote = alder.post_with_token(&format!("/companies/{}/portal/messages", a.id), &token, &[("body", "hi")]).await;
    assert_eq!(wrote.status(), StatusCode::NOT_FOUND, "staff forms answer 404");
    let made = alder.post_with_token("/contacts/new", &token, &[("last_name", "Mallory")]).await;
    assert_eq!(made.status(), StatusCode::NOT_FOUND);
    let api_call = alder.get(&format!("/api/v1/companies/{}/portal/messages", a.id)).await;
    assert!(api_call.status().is_client_error(), "the API answers a client's session with nothing");
    assert!(!api_call.text().await.unwrap().contains(INTERNAL));
    assert!(app.app.tokens().create_for_email("carla@alder.example", "t").await.is_err(), "clients get no tokens");

    // A member of the firm has no portal.
    assert_eq!(owner.get("/portal").await.status(), StatusCode::NOT_FOUND);
    // The firm sees the internal note; the client's thread never held it.
    let thread: Value = api.get(&format!("/api/v1/companies/{}/portal/messages", a.id)).await.json().await.unwrap();
    assert!(thread["items"].as_array().unwrap().iter().any(|m| m["internal"] == true && m["body"] == INTERNAL));
}

#[tokio::test]
async fn answers_acknowledgements_and_messages_reach_the_firm() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = owner_api(&app).await;
    let a = company(&api, "Alder").await;
    let alder = client_of(&app, "Acme Ltd", &a.id, "carla@alder.example").await;

    let page = alder.page(&format!("/portal/requests/{}", a.request)).await;
    let answered = answer(&alder, &a.request, "0", "Sent by post on Monday", &csrf_token(&page)).await;
    assert_eq!(answered.status(), StatusCode::SEE_OTHER);
    let again = answer(&alder, &a.request, "0", "twice", &csrf_token(&page)).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY, "an answered item waits for the firm");
    assert!(again.text().await.unwrap().contains("already answered"));
    let empty = answer(&alder, &a.request, "1", "  ", &csrf_token(&page)).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY, "an empty answer is refused with a coded error");
    assert!(empty.text().await.unwrap().contains("E2001"));

    let document = format!("/portal/documents/{}", a.file);
    let acknowledged = alder.submit(&document, &document, &[]).await;
    assert_eq!(acknowledged.status(), StatusCode::SEE_OTHER);
    let shown = alder.page(&document).await;
    assert!(shown.contains("You acknowledged this document"), "the client sees their receipt");
    let written = alder.submit("/portal/messages", "/portal/messages", &[("body", "Thanks, all sent")]).await;
    assert_eq!(written.status(), StatusCode::SEE_OTHER);
    let long = "x".repeat(5_001);
    let refused = alder.submit("/portal/messages", "/portal/messages", &[("body", &long)]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "messages are bounded");
    assert!(refused.text().await.unwrap().contains("E2002"));

    // The firm: the badge, the activity page, the company's timeline and portal page.
    let dashboard = owner.page("/contacts").await;
    assert!(
        dashboard.contains("nav-count\" title=\"new since you last looked\">3<"),
        "the badge counts three client actions"
    );
    let activity = owner.page("/client-activity").await;
    for seen in ["answered", "acknowledged the document", "wrote a message"] {
        assert!(activity.contains(seen), "activity shows {seen:?}");
    }
    assert!(!owner.page("/contacts").await.contains("nav-count"), "seen: the badge goes");
    let timeline = owner.page(&format!("/companies/{}", a.id)).await;
    assert!(timeline.contains("Client portal — Carla Client answered"), "the timeline names the portal activity");
    let portal = owner.page(&format!("/companies/{}/portal", a.id)).await;
    assert!(portal.contains("Sent by post on Monday") && portal.contains("Thanks, all sent"));
    let receipt = portal.split("class=\"receipt\"").nth(1).expect("a receipt on the firm's page");
    let expected = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(png("Alder")));
    assert!(receipt.contains(&expected), "the receipt carries the file's SHA-256");

    // The firm sends the answer back with a comment; the client answers again; it is accepted.
    let review = format!("/companies/{}/portal/requests/{}/items/0", a.id, a.request);
    let portal_path = format!("/companies/{}/portal", a.id);
    let bare = owner.submit(&portal_path, &review, &[("decision", "reopen")]).await;
    assert_eq!(bare.status(), StatusCode::UNPROCESSABLE_ENTITY, "reopening needs a comment");
    let reopened =
        owner.submit(&portal_path, &review, &[("decision", "reopen"), ("comment", "Please send the PDFs")]).await;
    assert_eq!(reopened.status(), StatusCode::SEE_OTHER);
    let page = alder.page(&format!("/portal/requests/{}", a.request)).await;
    assert!(page.contains("Please send the PDFs") && page.contains("Needs another look"));
    let again = answer(&alder, &a.request, "0", "PDFs uploaded to your drop box", &csrf_token(&page)).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER, "a reopened item takes a new answer");
    let accepted = owner.submit(&portal_path, &review, &[("decision", "accept")]).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let states: Value = api.get(&format!("/api/v1/companies/{}/portal/requests", a.id)).await.json().await.unwrap();
    assert_eq!(states["items"][0]["items"][0]["state"], "accepted");
    // Staff who neither manage all records nor own the company may read, not change, it.
    let staff = app.api_user("Acme Ltd", "sam@acme.example", Role::Staff).await;
    assert_eq!(staff.get(&format!("/api/v1/companies/{}/portal/messages", a.id)).await.status(), StatusCode::OK);
    let refused = staff.post(&format!("/api/v1/companies/{}/portal/messages", a.id), json!({"body": "hi"})).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // The audit log holds the receipt: who, from which address, the file's hash.
    let log = owner.page("/settings/audit?event=portal.document_acknowledged").await;
    assert!(log.contains(&format!("sha256={expected}")) && log.contains("127.0.0.1") && log.contains("Carla Client"));
    for event in ["portal.item_answered", "portal.message_posted", "portal.document_viewed", "portal.request_viewed"] {
        assert!(
            owner.page(&format!("/settings/audit?event={event}")).await.contains("Carla Client"),
            "{event} audited"
        );
    }
    drop(owner);
}

#[tokio::test]
async fn a_mail_scanner_opening_the_invitation_does_not_spend_it() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = owner_api(&app).await;
    let a = company(&api, "Alder").await;
    let portal = format!("/companies/{}/portal", a.id);
    let invited = owner
        .submit(&portal, &format!("{portal}/invite"), &[("name", "Carla Client"), ("email", "carla@alder.example")])
        .await;
    assert_eq!(invited.status(), StatusCode::OK);
    let page = invited.text().await.unwrap();
    let url = page.split("readonly value=\"").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&");
    let path = url[url.find("/password/reset").unwrap()..].to_owned();

    let scanner = app.new_browser();
    for _ in 0..3 {
        let looked = scanner.get(&path).await;
        assert_eq!(looked.status(), StatusCode::OK, "a GET shows the form and spends nothing");
    }
    let client = app.new_browser();
    let token = path.split("token=").nth(1).unwrap();
    let set = client.submit(&path, "/password/reset", &[("token", token), ("password", USER_PASSWORD)]).await;
    assert_eq!(set.status(), StatusCode::SEE_OTHER, "the person, after the scanner, still sets their password");
    assert_eq!(scanner.get(&path).await.status(), StatusCode::NOT_FOUND, "the POST spent it");
    client.sign_in_fully("carla@alder.example", USER_PASSWORD).await;
    assert!(client.page("/portal").await.contains("Welcome, Alder"));
}

#[tokio::test]
async fn reminders_go_out_on_their_days_once_even_across_a_restart() {
    let sink = SmtpSink::start().await;
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let configured = owner
        .submit(
            "/settings/email",
            "/settings/email",
            &[
                ("host", "127.0.0.1"),
                ("port", &sink.port.to_string()),
                ("security", "none"),
                ("username", ""),
                ("password", ""),
                ("from", "crm@acme.example"),
            ],
        )
        .await;
    assert_eq!(configured.status(), StatusCode::SEE_OTHER);
    let api = owner_api(&app).await;
    let created = api.create("/api/v1/companies", json!({"name": "Alder"})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    client_of(&app, "Acme Ltd", &id, "carla@alder.example").await;
    // Due 20 days from now, at noon: reminders at 08:00 on days 13, 19, 20, then 27.
    let now = holdfast::app::clock::Clock::now(app.clock.as_ref());
    let due = (now + time::Duration::days(20)).date();
    let day = |offset: i64| (due + time::Duration::days(offset)).with_hms(9, 0, 0).unwrap().assume_utc();
    api.create(
        &format!("/api/v1/companies/{id}/portal/requests"),
        json!({"title": "Year-end papers", "due": due.to_string(), "items": [{"text": "Bank statements"}]}),
    )
    .await;
    let sent_at_start = sink.count();
    let reminders = || async { sink.wait_for(0).await.iter().filter(|m| m.data.contains("reminder")).count() };

    assert_eq!(app.app.portal().send_due_reminders().await.unwrap(), 0, "nothing is due yet");
    let mut expected = 0;
    let dir = app.dir.clone();
    let clock = app.clock.clone();
    let mut app = app;
    for (offset, restart) in [(-7, false), (-1, true), (0, false), (7, true)] {
        clock.set(day(offset));
        assert_eq!(app.app.portal().send_due_reminders().await.unwrap(), 1, "the reminder of day {offset}");
        expected += 1;
        assert_eq!(app.app.portal().send_due_reminders().await.unwrap(), 0, "never twice (day {offset})");
        if restart {
            drop(app.stop().await);
            app = spawn_app_in(dir.clone(), clock.clone()).await;
            assert_eq!(app.app.portal().send_due_reminders().await.unwrap(), 0, "nor after a restart (day {offset})");
        }
        sink.wait_for(sent_at_start + expected).await;
        assert_eq!(reminders().await, expected, "one email per reminder so far (day {offset})");
    }
    let last = sink.wait_for(0).await.into_iter().rev().find(|m| m.data.contains("reminder")).unwrap();
    assert_eq!(last.to, ["carla@alder.example"]);
    assert!(last.data.contains("Year-end papers"), "names the request");
    assert!(last.data.contains("From: \"Acme Ltd\" <crm@acme.example>"), "sent in the firm's name: {}", last.data);
    drop(owner);
}

/// Posts a file as the first form after the CSRF token (as the browser's form does).
async fn post_file(browser: &Browser, action: &str, token: &str, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().text("csrf_token", token.to_owned()).part("file", part);
    browser.client.post(browser.url(action)).multipart(form).send().await.unwrap()
}

#[tokio::test]
async fn the_firm_brands_its_portal_and_sends_requests_from_templates() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = owner_api(&app).await;
    let a = company(&api, "Alder").await;
    let alder = client_of(&app, "Acme Ltd", &a.id, "carla@alder.example").await;
    assert!(!alder.page("/portal").await.contains("/portal/logo"), "no logo yet");
    assert_eq!(alder.get("/portal/logo").await.status(), StatusCode::NOT_FOUND);

    let token = csrf_token(&owner.page("/settings/portal").await);
    let page = post_file(&owner, "/settings/portal/logo", &token, "notes.txt", b"plain words".to_vec()).await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY, "only images make a logo");
    assert!(page.text().await.unwrap().contains("E2005"));
    let saved = post_file(&owner, "/settings/portal/logo", &token, "logo.png", png("logo")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let home = alder.page("/portal").await;
    assert!(home.contains("<img src=\"/portal/logo\"") && home.contains("Acme Ltd"), "the firm's name and logo");
    let logo = alder.get("/portal/logo").await;
    assert_eq!(logo.status(), StatusCode::OK);
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.bytes().await.unwrap().as_ref(), png("logo").as_slice());
    // The logo is no record's file: not listed on the company, not in any download route.
    let files: Value = api.get(&format!("/api/v1/companies/{}/files", a.id)).await.json().await.unwrap();
    assert_eq!(files["items"].as_array().unwrap().len(), 1, "only the engagement photo");

    let made = owner
        .submit(
            "/settings/portal",
            "/settings/portal/templates",
            &[("name", "Onboarding"), ("items", "Passport\nProof of address\n")],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let settings = owner.page("/settings/portal").await;
    assert!(settings.contains("Passport; Proof of address"));
    let portal = format!("/companies/{}/portal", a.id);
    let page = owner.page(&portal).await;
    let template = page.split("<option value=\"").nth(2).unwrap().split('"').next().unwrap().to_owned();
    let sent = owner
        .submit(
            &portal,
            &format!("{portal}/requests"),
            &[("template", &template), ("title", ""), ("due", "2099-03-01"), ("items", "")],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let requests = alder.page("/portal/requests").await;
    assert!(requests.contains("Onboarding"), "the template's name is the title");
    let link = requests.split("href=\"/portal/requests/").find(|part| part.contains("\">Onboarding<")).unwrap();
    let request = alder.page(&format!("/portal/requests/{}", link.split('"').next().unwrap())).await;
    assert!(request.contains("Passport") && request.contains("Proof of address"), "the template's items");
    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    let refused = staff.submit("/contacts", "/settings/portal/templates", &[("name", "X"), ("items", "Y")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "only owners and admins keep templates");
}

#[tokio::test]
async fn clients_are_made_only_for_a_company() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    owner.confirm_second_factor(crate::helpers::OWNER_EMAIL).await;
    let invited = owner
        .submit(
            "/settings/users",
            "/settings/users/invite",
            &[("name", "Cy"), ("email", "cy@x.example"), ("role", "client")],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::UNPROCESSABLE_ENTITY, "no client without a company");
    assert!(invited.text().await.unwrap().contains("invited from their company"));
    app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    let users = owner.page("/settings/users").await;
    let row = users.split("<tr").find(|row| row.contains("sam@acme.example")).expect("Sam's row");
    let sam = row.split("/settings/users/").nth(1).and_then(|p| p.split('/').next()).unwrap();
    let changed = owner.submit("/settings/users", &format!("/settings/users/{sam}/role"), &[("role", "client")]).await;
    assert_eq!(
        changed.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a member does not become a client without a company"
    );
}
