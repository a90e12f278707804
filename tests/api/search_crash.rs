//! The search index survives a crash: the real `holdfast` binary takes contacts at full speed
//! through the API, is killed with SIGKILL, restarts, drains what the outbox kept, and then
//! the index matches the store exactly (every record has its document, no document is extra).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use holdfast::app::App;
use holdfast::app::clock::ManualClock;
use holdfast::datadir::DataDir;
use serde_json::{Value, json};

use crate::helpers::{USER_PASSWORD, client_trusting};

const WRITERS: usize = 6;

/// Runs the `holdfast` binary on `data` to success; answers its trimmed standard output.
pub(crate) fn holdfast(data: &Path, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("HOLDFAST_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run holdfast");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn serve(data: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--http-listen", "off", "--data-dir"])
        .arg(data)
        .env_remove("HOLDFAST_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start holdfast")
}

/// Waits until the server answers `/health` (at most 30 s).
async fn until_up(client: &reqwest::Client, base: &str) {
    let started = Instant::now();
    while !client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(started.elapsed() < Duration::from_secs(30), "the server never came up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Makes `data` hold the workspace "Crash Test" with one manager, cat@crash.example, and
/// answers their new API token.
pub(crate) fn crash_test_firm(data: &Path) -> String {
    holdfast(data, &["admin", "create-workspace", "--name", "Crash Test"], None);
    let user = ["admin", "create-user", "--workspace", "Crash Test", "--email", "cat@crash.example"];
    holdfast(data, &[&user[..], &["--name", "Cat", "--role", "manager"]].concat(), Some(&format!("{USER_PASSWORD}\n")));
    holdfast(data, &["admin", "create-token", "--email", "cat@crash.example", "--label", "crash"], None)
}

/// The real binary serving `data` on a free port, once it answers: the process, a client that
/// trusts its certificate, its base URL and its port (to serve again after a kill).
pub(crate) async fn served(data: &Path) -> (Child, reqwest::Client, String, u16) {
    let port = free_port();
    let base = format!("https://localhost:{port}");
    let server = serve(data, port);
    let started = Instant::now();
    while !data.join("tls/cert.pem").exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "no certificate");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let client = client_trusting(&data.join("tls/cert.pem"), addr, Arc::new(ManualClock::starting_now()));
    until_up(&client, &base).await;
    (server, client, base, port)
}

/// Serves `data` again on `port` (after a kill), once it answers.
pub(crate) async fn serve_again(data: &Path, port: u16, client: &reqwest::Client, base: &str) -> Child {
    let server = serve(data, port);
    until_up(client, base).await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_matches_the_store_after_a_sigkill_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = crash_test_firm(&data);
    holdfast(&data, &["admin", "settings", "set", "rate_limit.enabled", "false"], None);
    let (mut server, client, base, port) = served(&data).await;

    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (client, base, token, acked, stop) =
            (client.clone(), base.clone(), token.clone(), acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let body = json!({"first_name": "Crash", "last_name": format!("W{w}N{n}")});
                let sent = client.post(format!("{base}/api/v1/contacts")).bearer_auth(&token).json(&body).send().await;
                match sent {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                        let created: Value = r.json().await.unwrap_or_default();
                        if let Some(id) = created["id"].as_str() {
                            acked.lock().unwrap().push(id.to_owned());
                        }
                    }
                    _ => break,
                }
            }
        }));
    }
    let started = Instant::now();
    while acked.lock().unwrap().len() < 300 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300, "only {} writes were acknowledged", acked.len());

    let mut server = serve_again(&data, port, &client, &base).await;
    let started = Instant::now();
    loop {
        let health: Value = client.get(format!("{base}/health/detailed")).send().await.unwrap().json().await.unwrap();
        let index = &health["checks"]["index"];
        if index["backlog"] == 0 && index["rebuilding"] == false {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the outbox never drained: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let probe = &acked[acked.len() / 2];
    let found: Value = client
        .get(format!("{base}/api/v1/search?q=crash&limit=50"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(found["total"].as_u64().unwrap() >= acked.len() as u64, "{probe}: {}", found["total"]);
    server.kill().unwrap();
    server.wait().unwrap();

    let app = tokio::task::spawn_blocking(move || {
        App::open(DataDir::open(&data).unwrap(), Arc::new(ManualClock::starting_now())).unwrap()
    })
    .await
    .unwrap();
    let audit = app.search().audit().await.unwrap();
    assert!(audit.records >= acked.len(), "acknowledged writes lost: {audit:?} < {}", acked.len());
    assert_eq!((audit.missing, audit.extra, audit.documents), (0, 0, audit.records), "{audit:?}");
    assert_eq!(app.search().status().await.unwrap().backlog, 0);
}
