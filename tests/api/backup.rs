//! Backups as an operator uses them: create, verify, restore on a "new machine", an
//! independent reader, and every kind of tampering.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use reqwest::StatusCode;

use crate::helpers::{OWNER_EMAIL, OWNER_PASSWORD, spawn_app, spawn_app_in};

const PASSPHRASE: &str = "lighthouse marmalade cobalt fiddle orbit";

fn holdfast(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_holdfast")).args(args).arg("--data-dir").arg(data).output().expect("run holdfast")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pass.txt"), format!("{PASSPHRASE}\n")).unwrap();
        std::fs::write(dir.path().join("wrong.txt"), "another passphrase entirely here\n").unwrap();
        Work { dir }
    }
    fn pass(&self) -> String {
        self.dir.path().join("pass.txt").to_string_lossy().into_owned()
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A data dir with an owner (MFA enrolled) and an API token; returns (dir, token, TOTP secret, clock).
async fn populated() -> (Arc<tempfile::TempDir>, String, String, Arc<holdfast::app::clock::ManualClock>) {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let page = owner.submit("/account", "/account/tokens", &[("label", "sync")]).await.text().await.unwrap();
    let token = page.split("<code>hf_").nth(1).map(|s| format!("hf_{}", s.split('<').next().unwrap())).unwrap();
    let secret = owner.secrets.lock().unwrap().get(OWNER_EMAIL).cloned().unwrap();
    let clock = app.clock.clone();
    (app.stop().await, token, secret, clock)
}

#[tokio::test]
async fn a_backup_restores_everything_on_a_new_machine() {
    let (data, token, secret, clock) = populated().await;
    // A file attached to a contact travels with the backup.
    let app = spawn_app_in(data.clone(), clock.clone()).await;
    let api = crate::helpers::Api { client: app.client.clone(), base: app.base.clone(), token: token.clone() };
    let contact = api.create("/api/v1/contacts", serde_json::json!({"first_name": "Ada"})).await;
    let contact = contact["id"].as_str().unwrap().to_owned();
    let (status, _) =
        crate::files::upload(&api, &format!("contacts/{contact}"), "a.png", crate::files::png("backed up")).await;
    assert_eq!(status, StatusCode::CREATED);
    let data = app.stop().await;
    let work = Work::new();
    let file = work.path("nightly.hfb");
    let created = holdfast(
        &["backup", "create", "--out", file.to_str().unwrap(), "--passphrase-file", &work.pass()],
        data.path(),
    );
    assert_eq!(created.status.code(), Some(0), "{}", text(&created.stderr));
    assert!(!work.path("nightly.partial").exists(), "no partial file is left behind");

    let verified =
        holdfast(&["backup", "verify", file.to_str().unwrap(), "--passphrase-file", &work.pass()], data.path());
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified.stderr));
    let summary = text(&verified.stdout);
    assert!(summary.starts_with("intact: "), "{summary}");
    let rows: u64 = summary["intact: ".len()..].split(' ').next().unwrap().parse().unwrap();

    // An independent implementation decrypts it from the documented format alone.
    let python = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/backup_decrypt.py"))
        .arg(&file)
        .arg(work.pass())
        .output()
        .expect("python3 with cryptography and argon2-cffi (.ci/run installs them)");
    assert_eq!(python.status.code(), Some(0), "{}", text(&python.stderr));
    let independent: serde_json::Value = serde_json::from_slice(&python.stdout).unwrap();
    assert_eq!(independent["rows"], rows);
    assert_eq!(independent["master_key_len"], 32);

    // A new machine: an empty data dir, only the file and the passphrase.
    let fresh = Arc::new(tempfile::tempdir().unwrap());
    let restored =
        holdfast(&["backup", "restore", file.to_str().unwrap(), "--passphrase-file", &work.pass()], fresh.path());
    assert_eq!(restored.status.code(), Some(0), "{}", text(&restored.stderr));
    let app = spawn_app_in(fresh, clock).await;
    assert!(app.setup_url.is_none(), "the restored firm is set up");
    app.secrets.lock().unwrap().insert(OWNER_EMAIL.to_owned(), secret);
    let owner = app.new_browser();
    owner.sign_in_fully(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert!(
        owner.page("/account").await.contains("Olive Owner"),
        "signed in with password and TOTP (secret still decrypts)"
    );
    let me = app.new_browser().client.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "API tokens survive");
    let api = crate::helpers::Api { client: app.client.clone(), base: app.base.clone(), token };
    let listed: serde_json::Value = api.get(&format!("/api/v1/contacts/{contact}/files")).await.json().await.unwrap();
    let url = crate::files::link(&api, listed["items"][0]["id"].as_str().unwrap()).await;
    let fetched = crate::files::download(&api, &url, None).await;
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), crate::files::png("backed up").as_slice(), "files are carried");
}

#[tokio::test]
async fn tampered_truncated_appended_or_wrongly_unlocked_backups_are_refused_and_change_nothing() {
    let (data, _, _, _) = populated().await;
    let work = Work::new();
    let file = work.path("b.hfb");
    let created = holdfast(
        &["backup", "create", "--out", file.to_str().unwrap(), "--passphrase-file", &work.pass()],
        data.path(),
    );
    assert_eq!(created.status.code(), Some(0), "{}", text(&created.stderr));
    let original = std::fs::read(&file).unwrap();
    let store_before = std::fs::read(data.path().join("holdfast.redb")).unwrap();

    let wrong = holdfast(
        &["backup", "verify", file.to_str().unwrap(), "--passphrase-file", work.path("wrong.txt").to_str().unwrap()],
        data.path(),
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong.stderr).contains("wrong passphrase"), "{}", text(&wrong.stderr));

    let len = original.len();
    let mut variants: Vec<(String, Vec<u8>)> = [0, 9, 20, 40, 63, 64, 200, len / 2, len - 17, len - 1]
        .into_iter()
        .map(|at| {
            let mut bytes = original.clone();
            bytes[at] ^= 0x20;
            (format!("byte {at} flipped"), bytes)
        })
        .collect();
    variants.push(("truncated".into(), original[..len - 5].to_vec()));
    variants.push(("appended".into(), [original.clone(), b"more".to_vec()].concat()));
    variants.push(("header only".into(), original[..64].to_vec()));
    for (what, bytes) in variants {
        let bad = work.path("bad.hfb");
        std::fs::write(&bad, &bytes).unwrap();
        let verified =
            holdfast(&["backup", "verify", bad.to_str().unwrap(), "--passphrase-file", &work.pass()], data.path());
        assert_eq!(verified.status.code(), Some(1), "verify: {what}");
        let restored = holdfast(
            &["backup", "restore", bad.to_str().unwrap(), "--passphrase-file", &work.pass(), "--force"],
            data.path(),
        );
        assert_eq!(restored.status.code(), Some(1), "restore: {what}");
        assert!(text(&restored.stderr).contains("nothing was changed"));
    }
    assert_eq!(
        std::fs::read(data.path().join("holdfast.redb")).unwrap(),
        store_before,
        "the current data is untouched"
    );
    let leftovers: Vec<_> = std::fs::read_dir(data.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(
        !leftovers
            .iter()
            .any(|n| n.to_string_lossy().starts_with(".restore") || n.to_string_lossy().starts_with("pre-restore"))
    );
}

#[tokio::test]
async fn restoring_over_existing_data_needs_force_and_keeps_the_old_data_aside() {
    let (data, _, _, _) = populated().await;
    let work = Work::new();
    let file = work.path("b.hfb");
    holdfast(&["backup", "create", "--out", file.to_str().unwrap(), "--passphrase-file", &work.pass()], data.path());
    let refused =
        holdfast(&["backup", "restore", file.to_str().unwrap(), "--passphrase-file", &work.pass()], data.path());
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("--force"));
    let forced = holdfast(
        &["backup", "restore", file.to_str().unwrap(), "--passphrase-file", &work.pass(), "--force"],
        data.path(),
    );
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    let aside = std::fs::read_dir(data.path())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("pre-restore-"));
    let aside = aside.expect("previous data kept").path();
    assert!(aside.join("holdfast.redb").exists() && aside.join("keys/master.key").exists());

    let weak = work.path("weak.txt");
    std::fs::write(&weak, "backup\n").unwrap();
    let refused = holdfast(&["backup", "create", "--passphrase-file", weak.to_str().unwrap()], data.path());
    assert_eq!(refused.status.code(), Some(2), "a weak passphrase is refused");
}

async fn configure_backups(owner: &crate::helpers::Browser, passphrase: &str, hour: u32) -> reqwest::Response {
    owner
        .submit(
            "/settings/backups",
            "/settings/backups",
            &[
                ("passphrase", passphrase),
                ("passphrase_confirm", passphrase),
                ("hour", &hour.to_string()),
                ("keep_daily", "7"),
                ("keep_weekly", "4"),
                ("keep_monthly", "12"),
                ("second_dir", ""),
            ],
        )
        .await
}

#[tokio::test]
async fn the_settings_page_backs_up_now_and_downloads_with_step_up() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let page = owner.page("/settings/backups").await;
    assert!(page.contains("Backups are off") && page.contains("cannot be restored"));
    let weak = configure_backups(&owner, "backup", 2).await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.text().await.unwrap().contains("E2007"));
    assert_eq!(configure_backups(&owner, PASSPHRASE, 2).await.status(), StatusCode::SEE_OTHER);
    let store = std::fs::read(app.data_dir().join("holdfast.redb")).unwrap();
    assert!(!store.windows(PASSPHRASE.len()).any(|w| w == PASSPHRASE.as_bytes()), "the passphrase is stored encrypted");

    let done = owner.submit("/settings/backups", "/settings/backups/run", &[]).await;
    assert_eq!(done.headers().get("location").unwrap(), "/settings/backups?notice=backup-done");
    let page = owner.page("/settings/backups").await;
    let name = page.split("/settings/backups/download/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let download_path = format!("/settings/backups/download/{name}");
    assert_eq!(owner.get(&download_path).await.status(), StatusCode::METHOD_NOT_ALLOWED, "no download by link");

    // The download needs a fresh second factor.
    app.clock.advance(time::Duration::minutes(11));
    let refused = owner.submit("/settings/backups", &download_path, &[]).await;
    assert!(refused.headers().get("location").unwrap().to_str().unwrap().starts_with("/account/confirm"));
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let download = owner.submit("/settings/backups", &download_path, &[]).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.headers().get("content-disposition").unwrap().to_str().unwrap().starts_with("attachment"));
    let bytes = download.bytes().await.unwrap();
    let work = Work::new();
    std::fs::write(work.path("downloaded.hfb"), &bytes).unwrap();
    let verified = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["backup", "verify", work.path("downloaded.hfb").to_str().unwrap(), "--passphrase-file", &work.pass()])
        .output()
        .unwrap();
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified.stderr));
    let traversal = owner.submit("/settings/backups", "/settings/backups/download/..%2Fholdfast.redb", &[]).await;
    assert_eq!(traversal.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_schedule_backs_up_daily_drills_weekly_and_warns_when_stale() {
    use holdfast::app::clock::Clock;
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let hour = ((app.clock.now().unix_timestamp().rem_euclid(86_400)) / 3600) as u32;
    configure_backups(&owner, PASSPHRASE, hour).await;
    app.app.backups().run_schedule().await.unwrap();
    let health: serde_json::Value = app.get("/health/detailed").await.json().await.unwrap();
    assert_eq!(health["checks"]["backup"]["status"], "ok");
    assert_eq!(health["checks"]["backup"]["last_drill_ok"], true, "the first backup is drilled at once");
    assert_eq!(app.app.backups().list().await.unwrap().len(), 1);
    app.app.backups().run_schedule().await.unwrap();
    assert_eq!(app.app.backups().list().await.unwrap().len(), 1, "once a day");

    // 27 hours later it is three hours past the backup hour: no new backup, so it is stale.
    app.clock.advance(time::Duration::hours(27));
    app.app.backups().run_schedule().await.unwrap();
    assert_eq!(app.app.backups().list().await.unwrap().len(), 1);
    let health: serde_json::Value = app.get("/health/detailed").await.json().await.unwrap();
    assert_eq!(health["checks"]["backup"]["status"], "warn");
    let admin = app.new_browser();
    admin.sign_in_fully(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert!(admin.page("/settings/backups").await.contains("No good backup in the last 26 hours"));
    assert!(admin.page("/settings/security").await.contains("security.backup_stale"), "an alert was raised");
    drop(owner);
}

/// Starts `holdfast` and SIGKILLs it after `delay_ms`.
fn killed_after(args: &[&str], data: &Path, delay_ms: u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Bounded: the process either finished already or is killed now.
    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn a_kill_at_any_moment_leaves_no_half_backup_and_no_half_restore() {
    let (data, _, _, _) = populated().await;
    let work = Work::new();
    let good = work.path("good.hfb");
    holdfast(&["backup", "create", "--out", good.to_str().unwrap(), "--passphrase-file", &work.pass()], data.path());
    for delay in [5, 40, 120, 250, 400, 700] {
        let out = work.path(&format!("killed-{delay}.hfb"));
        killed_after(
            &["backup", "create", "--out", out.to_str().unwrap(), "--passphrase-file", &work.pass()],
            data.path(),
            delay,
        );
        if out.exists() {
            let verified =
                holdfast(&["backup", "verify", out.to_str().unwrap(), "--passphrase-file", &work.pass()], data.path());
            assert_eq!(verified.status.code(), Some(0), "a file under the final name is always complete ({delay} ms)");
        }
    }
    for delay in [5, 40, 120, 250, 400, 700] {
        let target = tempfile::tempdir().unwrap();
        std::fs::copy(data.path().join("holdfast.redb"), target.path().join("holdfast.redb")).unwrap();
        std::fs::create_dir_all(target.path().join("keys")).unwrap();
        std::fs::copy(data.path().join("keys/master.key"), target.path().join("keys/master.key")).unwrap();
        let target_before = std::fs::read(target.path().join("holdfast.redb")).unwrap();
        killed_after(
            &["backup", "restore", good.to_str().unwrap(), "--passphrase-file", &work.pass(), "--force"],
            target.path(),
            delay,
        );
        let aside = std::fs::read_dir(target.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("pre-restore-"));
        if !aside {
            let after = std::fs::read(target.path().join("holdfast.redb")).unwrap();
            assert!(after == target_before, "untouched before the swap ({delay} ms)");
        } else {
            // Interrupted during or after the swap: the previous data is whole, kept aside.
            let aside = std::fs::read_dir(target.path())
                .unwrap()
                .flatten()
                .find(|e| e.file_name().to_string_lossy().starts_with("pre-restore-"))
                .unwrap()
                .path();
            let kept = std::fs::read(aside.join("holdfast.redb")).unwrap();
            assert!(kept == target_before, "the previous data is intact aside ({delay} ms)");
        }
    }
}
