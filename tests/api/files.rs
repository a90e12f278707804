//! Attachments through the API against a real ClamAV daemon: the intake pipeline (size, type
//! by content, virus scan failing closed, sealed storage), signed download links and the
//! attacks on each step. clamd runs on a Unix socket in a temp dir with a one-signature
//! database the test writes (freshclam can't download here); without clamd the tests say so
//! loudly and skip, and fail under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use holdfast::domain::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Api, TestApp, spawn_app_configured};

/// A 1×1 PNG, made different by `salt` (a text chunk), so each test has its own file.
pub(crate) fn png(salt: &str) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let text = format!("Comment\0{salt}");
    bytes.extend((text.len() as u32).to_be_bytes());
    bytes.extend(b"tEXt");
    bytes.extend(text.as_bytes());
    bytes.extend([0, 0, 0, 0]);
    bytes.extend(b"\0\0\0\0IEND\xaeB`\x82");
    bytes
}

/// ClamAV's daemon with one signature: the SHA-256 of `infected` (a `.hsb` hash signature).
struct Clamd {
    dir: tempfile::TempDir,
    child: Child,
}

impl Clamd {
    /// Starts clamd, or `None` (after a loud notice) when it isn't installed outside CI.
    fn start(infected: &[u8]) -> Option<Clamd> {
        let Some(binary) = ["/usr/sbin/clamd", "/usr/bin/clamd"].into_iter().find(|p| Path::new(p).exists()) else {
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("clamd is not installed: .ci/run installs clamav-daemon");
            }
            eprintln!("\n!!! FILE SCANNING TESTS SKIPPED: clamd is not installed (apt-get install clamav-daemon)\n");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let signature = format!("{}:{}:Holdfast.Test.Infected\n", hex(&Sha256::digest(infected)), infected.len());
        std::fs::write(dir.path().join("test.hsb"), signature).unwrap();
        let config = format!(
            "LocalSocket {}\nDatabaseDirectory {}\nForeground yes\nStreamMaxLength 30M\nUser root\nLogFile {}\n",
            dir.path().join("clamd.sock").display(),
            dir.path().display(),
            dir.path().join("clamd.log").display(),
        );
        std::fs::write(dir.path().join("clamd.conf"), config).unwrap();
        let child = Command::new(binary)
            .arg("-c")
            .arg(dir.path().join("clamd.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start clamd");
        let clamd = Clamd { dir, child };
        let started = Instant::now();
        while !clamd.answers_ping() {
            assert!(started.elapsed() < Duration::from_secs(60), "clamd did not come up: {}", clamd.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(clamd)
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("clamd.sock")
    }

    fn answers_ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::os::unix::net::UnixStream::connect(self.socket()) else { return false };
        let mut answer = String::new();
        stream.write_all(b"nPING\n").is_ok() && stream.read_to_string(&mut answer).is_ok() && answer.trim() == "PONG"
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("clamd.log")).unwrap_or_default()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn app_scanning_with(socket: &Path, timeout_s: u64) -> TestApp {
    let clamd = format!("unix:{}", socket.display());
    spawn_app_configured(move |config| {
        config.scan.clamd = clamd;
        config.scan.timeout_s = timeout_s;
    })
    .await
}

pub(crate) async fn upload(api: &Api, record: &str, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    let response = api
        .client
        .post(format!("{}/api/v1/{record}/files", api.base))
        .bearer_auth(&api.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn download(api: &Api, url: &str, range: Option<&str>) -> reqwest::Response {
    let mut request = api.client.get(format!("{}{url}", api.base)).bearer_auth(&api.token);
    if let Some(range) = range {
        request = request.header("Range", range);
    }
    request.send().await.unwrap()
}

pub(crate) async fn link(api: &Api, file: &str) -> String {
    let response = api.get(&format!("/api/v1/files/{file}/link")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_owned()
}

fn blobs(app: &TestApp) -> usize {
    std::fs::read_dir(app.data_dir().join("files")).unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_pass_the_intake_and_come_back_only_through_signed_links() {
    let infected = png("infected");
    let Some(clamd) = Clamd::start(&infected) else { return };
    let app = app_scanning_with(&clamd.socket(), 30).await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "files@acme.example", Role::Admin).await;
    let contact = api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
    let record = format!("contacts/{}", contact["id"].as_str().unwrap());

    // A clean image is scanned, stored and listed; its name keeps only its last part.
    let photo = png("clean photo");
    let (status, file) = upload(&api, &record, "../../etc/photo.png", photo.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    assert_eq!((file["name"].as_str(), file["scan"].as_str()), (Some("photo.png"), Some("clean")));
    assert_eq!(file["content_type"], "image/png");
    let listed: Value = api.get(&format!("/api/v1/{record}/files")).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let stored = std::fs::read_dir(app.data_dir().join("files")).unwrap().next().unwrap().unwrap().path();
    let sealed = std::fs::read(&stored).unwrap();
    assert!(!sealed.windows(11).any(|w| w == b"clean photo"), "stored sealed");

    // Downloaded through a signed link: the bytes, safe headers, ranges.
    let id = file["id"].as_str().unwrap().to_owned();
    let url = link(&api, &id).await;
    let response = download(&api, &url, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "sandbox; default-src 'none'");
    assert_eq!(headers["content-type"], "image/png");
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("inline; filename=\"photo.png\""));
    assert_eq!(response.bytes().await.unwrap().as_ref(), photo.as_slice());
    let part = download(&api, &url, Some("bytes=8-15")).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], format!("bytes 8-15/{}", photo.len()).as_str());
    assert_eq!(part.bytes().await.unwrap().as_ref(), &photo[8..16]);

    // The infected file is refused, and nothing of it is kept.
    let before = blobs(&app);
    let (status, body) = upload(&api, &record, "holiday.png", infected).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("E2008")), "{body}");
    assert_eq!(blobs(&app), before, "no blob kept");
    // Alerts are recorded off the request path: give it a moment.
    let started = Instant::now();
    while !owner.page("/settings/audit?event=file.").await.contains("Holdfast.Test.Infected") {
        assert!(started.elapsed() < Duration::from_secs(5), "the refusal is audited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // What the type check refuses, by content: before any scan.
    let refused = [
        ("page.png", b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec()),
        ("logo.svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec()),
        ("cat.gif", [&b"GIF89a\x01\0\x01\0\0\0\0;"[..], b"<html><script>alert(1)</script></html>"].concat()),
    ];
    for (name, bytes) in refused {
        let (status, body) = upload(&api, &record, name, bytes).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("E2005")), "{name}");
    }
    let mut big = png("big");
    big.resize(26 * 1024 * 1024, 0);
    let (status, body) = upload(&api, &record, "big.png", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(blobs(&app), before, "nothing kept of refused files");

    // Links are for their user, for five minutes, while the right to read lasts.
    let colleague = app.api_user("Acme Ltd", "colleague@acme.example", Role::Staff).await;
    assert_eq!(download(&colleague, &url, None).await.status(), StatusCode::NOT_FOUND, "another user's link");
    let own = link(&colleague, &id).await;
    assert_eq!(download(&colleague, &own, None).await.status(), StatusCode::OK, "their own link works");
    let me: Value = colleague.get("/api/v1/me").await.json().await.unwrap();
    owner.confirm_second_factor(crate::helpers::OWNER_EMAIL).await;
    let disable = format!("/settings/users/{}/disable", me["user_id"].as_str().unwrap());
    assert!(owner.submit("/settings/users", &disable, &[]).await.status().is_redirection());
    assert_eq!(download(&colleague, &own, None).await.status(), StatusCode::NOT_FOUND, "after losing the right");
    app.app.users().create_workspace("Other Firm").await.unwrap();
    let stranger = app.api_user("Other Firm", "stranger@other.example", Role::Owner).await;
    assert_eq!(download(&stranger, &url, None).await.status(), StatusCode::NOT_FOUND, "another workspace");
    assert_eq!(stranger.get(&format!("/api/v1/files/{id}/link")).await.status(), StatusCode::NOT_FOUND);
    let forged = url.replace("sig=", "sig=00");
    assert_eq!(download(&api, &forged, None).await.status(), StatusCode::NOT_FOUND, "a forged signature");
    app.clock.advance(time::Duration::minutes(6));
    assert_eq!(download(&api, &url, None).await.status(), StatusCode::NOT_FOUND, "an expired link");

    // One flipped byte in the stored file: refused with a code, never wrong bytes.
    let mut damaged = sealed.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    std::fs::write(&stored, &damaged).unwrap();
    let response = download(&api, &link(&api, &id).await, None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "E3001");
    std::fs::write(&stored, &sealed).unwrap();

    // Deleted: gone from the list, the link and the disk.
    let fresh = link(&api, &id).await;
    assert_eq!(api.delete(&format!("/api/v1/files/{id}")).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(download(&api, &fresh, None).await.status(), StatusCode::NOT_FOUND);
    assert!(!stored.exists(), "the blob is deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanner_that_is_down_or_slow_refuses_uploads() {
    let Some(mut clamd) = Clamd::start(&png("unused")) else { return };
    let app = app_scanning_with(&clamd.socket(), 2).await;
    let _owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "files@acme.example", Role::Admin).await;
    let contact = api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
    let record = format!("contacts/{}", contact["id"].as_str().unwrap());
    let (status, _) = upload(&api, &record, "first.png", png("first")).await;
    assert_eq!(status, StatusCode::CREATED);
    let before = blobs(&app);

    clamd.stop();
    let (status, body) = upload(&api, &record, "second.png", png("second")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("E3003")), "{body}");
    assert_eq!(blobs(&app), before, "nothing kept when the scanner is down");

    // A scanner that takes the stream but never answers: refused at the timeout.
    let socket = clamd.socket();
    let _ = std::fs::remove_file(&socket);
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let hung = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let started = Instant::now();
    let (status, body) = upload(&api, &record, "third.png", png("third")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("E3003")), "{body}");
    assert!(started.elapsed() < Duration::from_secs(15), "refused at the scanner's timeout");
    assert_eq!(blobs(&app), before, "nothing kept when the scanner is too slow");
    hung.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_stored_unscanned_are_scanned_once_a_scanner_is_configured() {
    let infected = png("stored infected");
    let Some(clamd) = Clamd::start(&infected) else { return };
    let app = spawn_app_configured(|_| {}).await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "files@acme.example", Role::Admin).await;
    let contact = api.create("/api/v1/contacts", json!({"first_name": "Ada"})).await;
    let record = format!("contacts/{}", contact["id"].as_str().unwrap());
    for (name, bytes) in [("clean.png", png("stored clean")), ("bad.png", infected)] {
        let (status, file) = upload(&api, &record, name, bytes).await;
        assert_eq!((status, file["scan"].as_str()), (StatusCode::CREATED, Some("not_scanned")));
    }
    let (dir, clock, token, secrets) = (app.dir.clone(), app.clock.clone(), api.token.clone(), owner.secrets.clone());
    app.stop().await;

    // A scanner is configured but away: the stored files wait, unreadable, for their scan.
    let app = crate::helpers::spawn_app_in_configured(dir, clock, |config| {
        config.scan.clamd = "unix:/nonexistent/holdfast/clamd.sock".to_owned();
    })
    .await;
    let api = Api { client: app.client.clone(), base: app.base.clone(), token: token.clone() };
    let listed: Value = api.get(&format!("/api/v1/{record}/files")).await.json().await.unwrap();
    let waiting = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let response = download(&api, &link(&api, &waiting).await, None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "not readable before its scan");
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "E3003");
    let (dir, clock) = (app.dir.clone(), app.clock.clone());
    app.stop().await;

    let socket = clamd.socket();
    let app = crate::helpers::spawn_app_in_configured(dir, clock, move |config| {
        config.scan.clamd = format!("unix:{}", socket.display());
    })
    .await;
    let api = Api { client: app.client.clone(), base: app.base.clone(), token };
    let started = Instant::now();
    loop {
        let listed: Value = api.get(&format!("/api/v1/{record}/files")).await.json().await.unwrap();
        let files: Vec<(&str, &str)> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["name"].as_str().unwrap(), f["scan"].as_str().unwrap()))
            .collect();
        if files == [("clean.png", "clean")] {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never scanned: {files:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(blobs(&app), 1, "the infected file's blob is gone");
    let mut owner = app.browser();
    owner.secrets = secrets;
    owner.sign_in_fully(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
    let started = Instant::now();
    while !owner.page("/settings/audit?event=file.").await.contains("Holdfast.Test.Infected") {
        assert!(started.elapsed() < Duration::from_secs(5), "the removal is audited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn without_a_scanner_files_are_stored_marked_not_scanned() {
    let app = spawn_app_configured(|_| {}).await;
    let _owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "files@acme.example", Role::Admin).await;
    let company = api.create("/api/v1/companies", json!({"name": "Analytical Engines"})).await;
    let record = format!("companies/{}", company["id"].as_str().unwrap());
    let (status, file) = upload(&api, &record, "logo.png", png("logo")).await;
    assert_eq!((status, file["scan"].as_str()), (StatusCode::CREATED, Some("not_scanned")), "{file}");

    // File names are searchable (their record is the hit); deleted, they are not.
    let (_, brochure) = upload(&api, &record, "Brochure Autumn.png", png("brochure")).await;
    let found = || async {
        let started = Instant::now();
        loop {
            let hits: Value = api.get("/api/v1/search?q=brochure").await.json().await.unwrap();
            if hits["total"].as_u64().unwrap() > 0 || started.elapsed() > Duration::from_secs(5) {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let hits = found().await;
    assert_eq!(hits["items"][0]["id"], company["id"], "{hits}");
    assert!(hits["items"][0]["snippet"].as_str().unwrap().contains("<mark>Brochure</mark> Autumn.png"), "{hits}");
    let deleted = api.delete(&format!("/api/v1/files/{}", brochure["id"].as_str().unwrap())).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let started = Instant::now();
    while api.get("/api/v1/search?q=brochure").await.json::<Value>().await.unwrap()["total"] != 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "the deleted file's name is still found");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let health: Value = app.get("/health/detailed").await.json().await.unwrap();
    assert_eq!(health["checks"]["scanner"]["configured"], false, "{health}");
    let viewer = app.api_user("Acme Ltd", "viewer@acme.example", Role::ViewOnly).await;
    let (status, body) = upload(&viewer, &record, "mine.png", png("viewer")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("E1005")), "view-only can't attach");
    let tasks = api.create("/api/v1/tasks", json!({"title": "Call"})).await;
    let (status, _) = upload(&api, &format!("tasks/{}", tasks["id"].as_str().unwrap()), "x.png", png("task")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "tasks take no files");
}

/// A part of a form: its name, its file name if it is a file, its bytes.
type FormPart<'a> = (&'a str, Option<&'a str>, Vec<u8>);

/// A multipart form with `parts` in order.
fn form_of(parts: &[FormPart<'_>]) -> reqwest::multipart::Form {
    parts.iter().fold(reqwest::multipart::Form::new(), |form, (name, file, bytes)| {
        let part = reqwest::multipart::Part::bytes(bytes.clone());
        let part = match file {
            Some(file) => part.file_name(file.to_string()),
            None => part,
        };
        form.part(name.to_string(), part)
    })
}

#[tokio::test]
async fn the_attach_form_needs_its_token_before_the_file() {
    let app = spawn_app_configured(|_| {}).await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "files@acme.example", Role::Admin).await;
    let contact = api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
    let page = format!("/contacts/{}", contact["id"].as_str().unwrap());
    let token = crate::helpers::csrf_token(&owner.page(&page).await);
    let action = owner.url(&format!("{page}/files"));
    let photo = || png("form photo");
    let attacks: [(&str, Vec<FormPart<'_>>); 4] = [
        ("no token", vec![("file", Some("a.png"), photo())]),
        ("a forged token", vec![("csrf_token", None, b"forged".to_vec()), ("file", Some("a.png"), photo())]),
        (
            "the token after the file",
            vec![("file", Some("a.png"), photo()), ("csrf_token", None, token.clone().into())],
        ),
        ("the token past 64 KiB", vec![("x", None, vec![b'x'; 70 * 1024]), ("csrf_token", None, token.clone().into())]),
    ];
    for (attack, parts) in attacks {
        let response = owner.client.post(&action).multipart(form_of(&parts)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{attack}");
        assert!(response.text().await.unwrap().contains("E1006"), "{attack}");
        assert_eq!(blobs(&app), 0, "{attack}: nothing stored");
    }

    let parts = [("csrf_token", None, token.clone().into_bytes()), ("file", Some("dir/photo.png"), photo())];
    let response = owner.client.post(&action).multipart(form_of(&parts)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(crate::helpers::location(&response), format!("{page}?notice=file-attached#files"));
    let shown = owner.page(&page).await;
    assert!(shown.contains("photo.png") && shown.contains("not scanned"), "listed on the record");
    let id = shown.split("/files/").nth(1).unwrap().split('"').next().unwrap().to_owned();

    // The page links to the file, which answers with a link signed for this user just now.
    let opened = owner.get(&format!("/files/{id}")).await;
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    let signed = crate::helpers::location(&opened);
    assert!(signed.starts_with(&format!("/files/{id}/download?expires=")), "{signed}");
    let got = owner.get(&signed).await;
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), photo().as_slice());

    // A refused type is explained on the record page, and nothing is kept.
    let parts =
        [("csrf_token", None, token.clone().into_bytes()), ("file", Some("page.png"), b"<html><script>".to_vec())];
    let response = owner.client.post(&action).multipart(form_of(&parts)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("Unable to attach the file (E2005)"));
    assert_eq!(blobs(&app), 1, "only the photo is stored");

    // A note's files (attached through the API) are listed under the note on its record's page.
    let note = api
        .create("/api/v1/notes", json!({"body": "Signed copy", "subject_kind": "contact", "subject_id": contact["id"]}))
        .await;
    let (status, _) =
        upload(&api, &format!("notes/{}", note["id"].as_str().unwrap()), "signed.png", png("signed")).await;
    assert_eq!(status, StatusCode::CREATED);
    let shown = owner.page(&page).await;
    let under_note = shown.split("Signed copy").nth(1).unwrap().split("</article>").next().unwrap();
    assert!(under_note.contains("signed.png"), "the note's file is under it: {under_note}");

    // A record with files is not merged away (its files are sealed to it).
    let twin = api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Byron"})).await;
    let twin_page = format!("/contacts/{}", twin["id"].as_str().unwrap());
    let merged =
        owner.submit(&twin_page, &format!("{twin_page}/merge"), &[("other_id", contact["id"].as_str().unwrap())]).await;
    assert_eq!(merged.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(merged.text().await.unwrap().contains("has files attached"));
    assert_eq!(api.get(&page.replace("/contacts/", "/api/v1/contacts/")).await.status(), StatusCode::OK, "still there");

    // Deleting needs the token too.
    let forged = owner.client.post(owner.url(&format!("/files/{id}/delete"))).form(&[("csrf_token", "forged")]);
    assert_eq!(forged.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let deleted = owner.client.post(owner.url(&format!("/files/{id}/delete"))).form(&[("csrf_token", token.as_str())]);
    let deleted = deleted.send().await.unwrap();
    assert_eq!(crate::helpers::location(&deleted), format!("{page}?notice=file-deleted#files"));
    assert_eq!(blobs(&app), 1, "the photo's blob is gone, the note's file stays");
    assert_eq!(owner.get(&signed).await.status(), StatusCode::NOT_FOUND, "its link is dead");
}

/// A ZIP of stored entries (name, bytes, and the unpacked size it declares when that should
/// lie, to make a bomb without the bytes).
fn zip_of(entries: &[(&str, &[u8], Option<u32>)]) -> Vec<u8> {
    let (mut out, mut directory) = (Vec::new(), Vec::new());
    for (name, data, unpacked) in entries {
        let offset = out.len() as u32;
        let header = |central: bool| {
            let mut header = if central { b"PK\x01\x02\x14\0".to_vec() } else { b"PK\x03\x04".to_vec() };
            header.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            header.extend((data.len() as u32).to_le_bytes());
            header.extend(unpacked.unwrap_or(data.len() as u32).to_le_bytes());
            header.extend((name.len() as u16).to_le_bytes());
            header.extend([0, 0]);
            if central {
                header.extend([0u8; 10]);
                header.extend(offset.to_le_bytes());
            }
            header.extend(name.as_bytes());
            header
        };
        out.extend(header(false));
        out.extend(*data);
        directory.extend(header(true));
    }
    let (count, at) = ((entries.len() as u16).to_le_bytes(), (out.len() as u32).to_le_bytes());
    out.extend(&directory);
    out.extend(b"PK\x05\x06\0\0\0\0");
    out.extend(count.iter().chain(&count));
    out.extend((directory.len() as u32).to_le_bytes().iter().chain(&at));
    out.extend([0, 0]);
    out
}

#[tokio::test]
async fn owners_allow_office_documents_which_are_checked_part_by_part() {
    let app = spawn_app_configured(|_| {}).await;
    let owner = app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "files@acme.example", Role::Admin).await;
    let deal = api.create("/api/v1/deals", json!({"name": "Renewal", "amount": "100.00", "currency": "EUR"})).await;
    let record = format!("deals/{}", deal["id"].as_str().unwrap());
    // A Word document's first parts, in the order Word writes them (how it is recognised).
    let types = b"<?xml version=\"1.0\"?><Types/>" as &[u8];
    let word = |more: &[(&'static str, &'static [u8], Option<u32>)]| {
        let mut entries = vec![
            ("[Content_Types].xml", types, None),
            ("_rels/.rels", b"<Relationships/>" as &[u8], None),
            ("word/_rels/document.xml.rels", b"<Relationships/>", None),
        ];
        entries.extend_from_slice(more);
        zip_of(&entries)
    };
    let document = word(&[("word/document.xml", b"<w:document/>", None)]);

    let (status, body) = upload(&api, &record, "contract.docx", document.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("E2005")));
    assert!(body["detail"].as_str().unwrap().contains("Word document"), "names what it found: {body}");

    // The owner allows Word documents (and keeps PNG) on the security page.
    let token = crate::helpers::csrf_token(&owner.page("/settings/security").await);
    let saved = owner
        .client
        .post(owner.url("/settings/security/files"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("upload_max_mib", "25"),
            ("storage_quota_mib", "30"),
            ("allow_png", "on"),
            ("allow_docx", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(crate::helpers::location(&saved), "/settings/security?notice=files-saved");
    let page = owner.page("/settings/security").await;
    assert!(page.contains("name=\"allow_docx\" checked") && !page.contains("name=\"allow_jpeg\" checked"));
    assert!(page.contains("No virus scanner is configured"), "said plainly");

    let (status, file) = upload(&api, &record, "contract.docx", document).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    assert_eq!(file["content_type"], "application/vnd.openxmlformats-officedocument.wordprocessingml.document");

    let attacks: [(&str, Vec<u8>, &str); 4] = [
        ("a zip bomb named .docx", word(&[("word/document.xml", &[b'a'; 1000], Some(u32::MAX))]), "zip bomb"),
        (
            "macros",
            word(&[("word/document.xml", b"<w:document/>", None), ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0", None)]),
            "macros",
        ),
        ("no document part", word(&[("word/styles.xml", b"<w:styles/>", None)]), "word/document.xml"),
        (
            "a docx cut short",
            {
                let whole = word(&[("word/document.xml", b"<w:document/>", None)]);
                whole[..whole.len() - 30].to_vec()
            },
            "office file",
        ),
    ];
    let before = blobs(&app);
    for (attack, bytes, why) in attacks {
        let (status, body) = upload(&api, &record, "contract.docx", bytes).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("E2005")), "{attack}");
        assert!(body["detail"].as_str().unwrap().contains(why), "{attack}: {body}");
        assert_eq!(blobs(&app), before, "{attack}: nothing kept");
    }

    // SVG (with a script) and HTML named .png are never allowed, whatever the owner ticks.
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
    let (status, _) = upload(&api, &record, "logo.png", svg).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let polyglot = [&b"GIF89a\x01\0\x01\0\0\0\0;"[..], b"<html><script>alert(1)</script>"].concat();
    let (status, body) = upload(&api, &record, "cat.gif", polyglot).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");

    // The quota: 30 MB holds two 12 MB files, not three.
    let big = [png("big"), vec![0u8; 12 * 1024 * 1024]].concat();
    let mut refused = None;
    for i in 0..3 {
        let (status, body) = upload(&api, &record, &format!("scan-{i}.png"), big.clone()).await;
        if status != StatusCode::CREATED {
            refused = Some((i, status, body));
            break;
        }
    }
    let (i, status, body) = refused.expect("the quota stops the third upload");
    assert_eq!((i, status, body["code"].as_str()), (2, StatusCode::PAYLOAD_TOO_LARGE, Some("E2006")), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("storage is full"), "{body}");
    // Deleting a file gives its room back.
    let listed: Value = api.get(&format!("/api/v1/{record}/files")).await.json().await.unwrap();
    let scan = listed["items"].as_array().unwrap().iter().find(|f| f["name"] == "scan-0.png").unwrap();
    assert_eq!(
        api.delete(&format!("/api/v1/files/{}", scan["id"].as_str().unwrap())).await.status(),
        StatusCode::NO_CONTENT
    );
    let (status, body) = upload(&api, &record, "scan-2.png", big).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
