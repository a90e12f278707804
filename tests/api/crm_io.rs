//! CRM import and export driven like a browser: CSV exports behind step-up with formula
//! neutralising, vCards, and the CSV import's upload → dry run → commit → error report →
//! revert, with its refusals (binary, oversize, other workspace, role).

use holdfast::domain::role::Role;
use reqwest::StatusCode;

use crate::helpers::{Browser, OWNER_EMAIL, csrf_token, location, spawn_app};

async fn create_contact(browser: &Browser, fields: &[(&str, &str)]) -> String {
    location(&browser.submit("/contacts/new", "/contacts/new", fields).await)
}

/// Posts `file` to `/{plural}/import` as a browser's multipart form would.
async fn upload(browser: &Browser, plural: &str, file: &[u8], content_type: &str) -> reqwest::Response {
    let token = csrf_token(&browser.page(&format!("/{plural}/import")).await);
    let b = "holdfast-test-boundary-7d1a";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    let url = browser.url(&format!("/{plural}/import"));
    let request = browser.client.post(url).header("content-type", format!("multipart/form-data; boundary={b}"));
    request.body(body).send().await.unwrap()
}

fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

#[tokio::test]
async fn csv_export_needs_step_up_and_a_manager_and_neutralises_formulas() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    create_contact(&owner, &[("first_name", "=HYPERLINK(\"http://x\")"), ("last_name", "Mallory")]).await;
    create_contact(&owner, &[("first_name", "Ann"), ("last_name", "Able, \"Jr\"")]).await;
    app.clock.advance(time::Duration::minutes(11));
    let list = owner.page("/contacts").await;
    assert!(list.contains("/contacts/export.csv") && list.contains("/contacts/import"), "links for the owner");

    let first = owner.get("/contacts/export.csv?sort=name").await;
    assert!(location(&first).starts_with("/account/confirm"), "step-up first");
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let download = owner.get("/contacts/export.csv?sort=name").await;
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let rows = parse_csv(&download.text().await.unwrap());
    assert_eq!(rows.len(), 3, "header and two contacts");
    assert!(rows.iter().flatten().any(|c| c == "'=HYPERLINK(\"http://x\")"), "neutralised: {rows:?}");
    assert!(rows.iter().flatten().any(|c| c == "Able, \"Jr\""), "quoted and re-parsed");
    for cell in rows.iter().flatten() {
        assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r', '\0']), "{cell:?}");
    }
    let filtered = parse_csv(&owner.get("/contacts/export.csv?q=abl").await.text().await.unwrap());
    assert_eq!(filtered.len(), 2, "the list filters apply");

    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    assert_eq!(staff.get("/contacts/export.csv").await.status(), StatusCode::FORBIDDEN);
    assert!(!staff.page("/contacts").await.contains("/contacts/export.csv"), "no link for staff");
    let audit = owner.page("/settings/audit?event=records.exported").await;
    assert!(audit.contains("rows=2") && !audit.contains("Mallory"), "audited with counts, never values");
}

#[tokio::test]
async fn a_vcard_is_escaped_and_folded() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let background = format!("Met at the fair;\nprefers tea, not coffee. {}", "Long words ".repeat(10));
    let path = create_contact(
        &owner,
        &[
            ("first_name", "Ann"),
            ("last_name", "Doe; Jr, III"),
            ("email_1", "ann@doe.example"),
            ("background", &background),
        ],
    )
    .await;
    let response = owner.get(&format!("{path}/vcard")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/vcard"));
    let card = response.text().await.unwrap();
    assert!(card.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n") && card.ends_with("END:VCARD\r\n"));
    assert!(card.split("\r\n").all(|line| line.len() <= 75 && !line.contains('\n')), "folded: {card}");
    let unfolded = card.replace("\r\n ", "");
    assert!(unfolded.contains("\r\nN:Doe\\; Jr\\, III;Ann;;;\r\n"), "{unfolded}");
    assert!(unfolded.contains("NOTE:Met at the fair\\;\\nprefers tea\\, not coffee."), "{unfolded}");
    assert!(unfolded.contains("EMAIL;TYPE=work:ann@doe.example"));
    let id = path.rsplit('/').next().unwrap();
    assert!(unfolded.contains(&format!("UID:urn:uuid:{}-", &id[..8])));
}

#[tokio::test]
async fn an_import_is_checked_committed_reported_and_reverted() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let existing =
        create_contact(&owner, &[("first_name", "Olga"), ("last_name", "Oldtimer"), ("email_1", "olga@old.example")])
            .await;
    let csv = "E-mail,First name,Last name,Job title\r\n\
               nina@new.example,Nina,Newcomer,Buyer\r\n\
               ned@new.example,Ned,Newman,\r\n\
               not-an-email,Bad,Row,\r\n\
               OLGA@old.example,,,Director\r\n";
    let uploaded = upload(&owner, "contacts", format!("\u{feff}{csv}").as_bytes(), "text/csv").await;
    let preview_path = location(&uploaded);
    assert!(!preview_path.contains("nina"), "no file content in the URL");
    let preview = owner.page(&preview_path).await;
    assert!(preview.contains("<option value=\"email\" selected>"), "email guessed");

    let check = format!("{preview_path}/check?c0=email&c1=first_name&c2=last_name&c3=title");
    let dry = owner.page(&check).await;
    assert!(
        dry.contains("create <strong>2</strong>, update <strong>1</strong> and reject <strong>1</strong>"),
        "{dry}"
    );
    assert!(
        dry.contains(
            "<td>4</td><td>email</td><td>That email address is not valid. <span class=\"muted\">(E2003)</span></td>"
        ),
        "row 4 rejected for its email, explained"
    );
    assert!(!owner.page("/contacts").await.contains("Newcomer"), "a dry run writes nothing");
    let report = owner.get(&format!("{preview_path}/errors.csv?c0=email&c1=first_name&c2=last_name&c3=title")).await;
    assert_eq!(parse_csv(&report.text().await.unwrap())[1][..3], ["4", "email", "E2003"]);

    let commit = format!("{preview_path}/commit");
    let fields = [("c0", "email"), ("c1", "first_name"), ("c2", "last_name"), ("c3", "title")];
    app.clock.advance(time::Duration::minutes(11));
    assert!(location(&owner.submit(&check, &commit, &fields).await).starts_with("/account/confirm"));
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let result_path = location(&owner.submit(&check, &commit, &fields).await);
    assert!(result_path.starts_with("/imports/"));
    let result = owner.page(&result_path).await;
    assert!(result.contains("created <strong class=\"created\">2</strong>"), "{result}");
    let contacts = owner.page("/contacts").await;
    assert!(contacts.contains("Newcomer") && contacts.contains("Newman"));
    assert!(owner.page(&existing).await.contains("Director"), "the matching contact was updated");
    let errors = parse_csv(&owner.get(&format!("{result_path}/errors.csv")).await.text().await.unwrap());
    assert_eq!(
        errors,
        [vec!["row", "field", "code", "message"], vec!["4", "email", "E2003", "That email address is not valid."]]
    );
    assert!(owner.page("/contacts/import").await.contains(&result_path), "listed as a recent import");

    app.app.users().create_workspace("Globex").await.unwrap();
    let gus = app.user_with_role("Globex", "gus@globex.example", Role::Manager).await;
    assert_eq!(gus.get(&result_path).await.status(), StatusCode::NOT_FOUND);
    let foreign = gus.submit("/contacts", &format!("{result_path}/revert"), &[]).await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert_eq!(gus.get(&preview_path).await.status(), StatusCode::NOT_FOUND, "nor the upload");

    let reverted = owner.submit(&result_path, &format!("{result_path}/revert"), &[]).await;
    assert_eq!(location(&reverted), format!("{result_path}?notice=import-reverted"));
    let contacts = owner.page("/contacts").await;
    assert!(!contacts.contains("Newcomer") && !contacts.contains("Newman"), "created ones deleted");
    let olga = owner.page(&existing).await;
    assert!(olga.contains("Oldtimer") && !olga.contains("Director"), "the updated one restored");
    assert!(owner.page(&result_path).await.contains("2 deleted, 1 restored"));
    let audit = owner.page("/settings/audit?event=import.").await;
    assert!(audit.contains("import.committed") && audit.contains("import.reverted"));
}

#[tokio::test]
async fn binary_oversize_and_staff_uploads_are_refused() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
    let refused = upload(&owner, "contacts", png, "text/csv").await;
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(refused.text().await.unwrap().contains("E2005"));
    let image = upload(&owner, "companies", b"name\nAcme\n", "image/png").await;
    assert!(image.text().await.unwrap().contains("E2005"), "declared images are refused too");

    let just_over = format!("name\n{}", "a,".repeat(5 * 1024 * 1024 / 2 + 512));
    let too_big = upload(&owner, "companies", just_over.as_bytes(), "text/csv").await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_big.text().await.unwrap().contains("E2006"));
    let way_over = vec![b'a'; 7 * 1024 * 1024];
    let huge = upload(&owner, "companies", &way_over, "text/csv").await;
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(huge.text().await.unwrap().contains("E4002"));

    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    assert_eq!(staff.get("/contacts/import").await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn reverting_an_import_removes_the_companies_it_created_unless_they_are_in_use() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let csv = "Email,First name,Last name,Company\r\n\
               grace@navy.example,Grace,Hopper,Navy Labs\r\n\
               alan@bletchley.example,Alan,Turing,Bletchley Park\r\n";
    let preview_path = location(&upload(&owner, "contacts", csv.as_bytes(), "text/csv").await);
    let mapping = "c0=email&c1=first_name&c2=last_name&c3=company&create_companies=on";
    let check = format!("{preview_path}/check?{mapping}");
    let dry = owner.page(&check).await;
    assert!(dry.contains("It would also create <strong>2</strong> companies"), "{dry}");
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let fields =
        [("c0", "email"), ("c1", "first_name"), ("c2", "last_name"), ("c3", "company"), ("create_companies", "on")];
    let result_path = location(&owner.submit(&check, &format!("{preview_path}/commit"), &fields).await);
    assert!(owner.page(&result_path).await.contains("companies created for the rows naming them"));

    // Someone adds a note to one of the new companies before the import is reverted.
    let companies = owner.page("/companies").await;
    let start = companies.find(">Bletchley Park<").expect("created");
    let href = companies[..start].rsplit("href=\"").next().unwrap().split('"').next().unwrap().to_owned();
    let id = href.rsplit('/').next().unwrap().to_owned();
    let note = [("subject_kind", "company"), ("subject_id", id.as_str()), ("body", "Met their archivist")];
    owner.submit(&href, "/notes/new", &note).await;

    let reverted = owner.submit(&result_path, &format!("{result_path}/revert"), &[]).await;
    assert_eq!(location(&reverted), format!("{result_path}?notice=import-reverted"));
    let companies = owner.page("/companies").await;
    assert!(!companies.contains("Navy Labs"), "an unused created company goes");
    assert!(companies.contains("Bletchley Park"), "a company with a note stays");
    assert!(owner.page(&href).await.contains("Met their archivist"), "and its note with it");
    assert!(owner.page(&result_path).await.contains("3 deleted, 0 restored"));
}
