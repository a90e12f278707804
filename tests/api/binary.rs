//! The `holdfast` binary as an operator runs it: exit codes and messages of CONTRACT.md.

use std::os::unix::fs::PermissionsExt;

use redb::ReadableTable;
use std::process::{Command, Output};

use crate::helpers::spawn_app;

fn holdfast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(args)
        .env_remove("HOLDFAST_DATA_DIR")
        .env_remove("HOLDFAST_CONFIG")
        .output()
        .expect("run holdfast")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn config_errors_exit_2_and_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("holdfast.toml");
    let data = dir.path().join("data");
    for (text, key) in [
        ("[server]\nlisen = \"0.0.0.0:1\"\n", "lisen"),
        ("[server]\nlisten = \"not an address\"\n", "server.listen"),
        ("[tls]\nmin_version = \"1.0\"\n", "tls.min_version"),
        ("colour = \"blue\"\n", "colour"),
    ] {
        std::fs::write(&file, text).unwrap();
        let output =
            holdfast(&["check-config", "--config", file.to_str().unwrap(), "--data-dir", data.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{text}");
        assert!(stderr(&output).contains(key), "{text}: {}", stderr(&output));
    }
    let output = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["check-config", "--data-dir", data.to_str().unwrap()])
        .env("HOLDFAST_SERVER__LISTN", "127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("listn"));
}

#[test]
fn check_config_prints_the_effective_config() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["check-config", "--data-dir", data.to_str().unwrap()])
        .env("HOLDFAST_SERVER__HTTP_LISTEN", "off")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("http_listen = \"off\"") && stdout.contains("listen = \"0.0.0.0:8443\""), "{stdout}");
}

#[tokio::test]
async fn serve_refuses_a_data_dir_in_use_with_exit_3() {
    let app = spawn_app().await;
    let dir = app.data_dir();
    let output = tokio::task::spawn_blocking(move || {
        holdfast(&["serve", "--data-dir", dir.to_str().unwrap(), "--listen", "127.0.0.1:0", "--http-listen", "off"])
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(stderr(&output).contains("in use"));
}

#[tokio::test]
async fn serve_refuses_an_exposed_or_missing_master_key() {
    let app = spawn_app().await;
    let dir = app.stop().await;
    let key = dir.path().join("keys/master.key");
    let data = dir.path().to_str().unwrap().to_owned();
    let serve = ["serve", "--data-dir", &data, "--listen", "127.0.0.1:0", "--http-listen", "off"];

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = holdfast(&serve);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("readable by group or others"), "{}", stderr(&output));

    std::fs::remove_file(&key).unwrap();
    let output = holdfast(&serve);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("missing but the store exists"), "{}", stderr(&output));
}

fn holdfast_with_stdin(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(args)
        .env_remove("HOLDFAST_DATA_DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn admin_commands_manage_workspaces_users_tokens_and_links_offline() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let d = ["--data-dir", data.as_str()];
    let run = |args: &[&str]| holdfast(&[args, &d[..]].concat());

    let created = run(&["admin", "create-workspace", "--name", "Initech"]);
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let duplicate = run(&["admin", "create-workspace", "--name", "initech"]);
    assert_eq!(duplicate.status.code(), Some(1));
    assert!(stderr(&duplicate).contains("E5001"));

    let user_args = [
        "admin",
        "create-user",
        "--workspace",
        "Initech",
        "--email",
        "peter@initech.example",
        "--name",
        "Peter",
        "--role",
        "admin",
        "--data-dir",
        data.as_str(),
    ];
    let weak = holdfast_with_stdin(&user_args, "password\n");
    assert_ne!(weak.status.code(), Some(0));
    assert!(stderr(&weak).contains("E2007"));
    let user = holdfast_with_stdin(&user_args, "stapler basement tuesday flair\n");
    assert_eq!(user.status.code(), Some(0), "{}", stderr(&user));

    let token = run(&["admin", "create-token", "--email", "peter@initech.example", "--label", "cli"]);
    assert_eq!(token.status.code(), Some(0), "{}", stderr(&token));
    let stdout = String::from_utf8(token.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one line, nothing else");
    assert!(stdout.starts_with("hf_") && stdout.trim().len() > 40);

    let link = run(&["admin", "reset-link", "--email", "peter@initech.example"]);
    let url = String::from_utf8(link.stdout).unwrap();
    assert!(url.starts_with("https://localhost:8443/password/reset?token="), "{url}");
    let nobody = run(&["admin", "reset-link", "--email", "nobody@initech.example"]);
    assert_eq!(nobody.status.code(), Some(1));

    // The server then accepts that user and token.
    let mut config = holdfast::config::Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.http_listen = holdfast::config::HttpListen::Off;
    let clock = std::sync::Arc::new(holdfast::app::clock::ManualClock::starting_now());
    let application = holdfast::startup::Application::build(config, clock.clone()).await.unwrap();
    assert!(application.setup_url().is_none(), "users exist: no setup");
    let addr = application.https_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.run(async move {
        let _ = stopped.await;
    }));
    let client = crate::helpers::client_trusting(&dir.path().join("tls/cert.pem"), addr, clock);
    let me: serde_json::Value = client
        .get(format!("https://localhost:{}/api/v1/me", addr.port()))
        .bearer_auth(stdout.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
    let company: serde_json::Value = client
        .post(format!("https://localhost:{}/api/v1/companies", addr.port()))
        .bearer_auth(stdout.trim())
        .json(&serde_json::json!({"name": "Initrode"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let company = company["id"].as_str().unwrap().to_owned();
    // While the server runs, offline commands refuse at once with exit 3.
    let busy = tokio::task::spawn_blocking(move || {
        holdfast(&["admin", "create-workspace", "--name", "Other", "--data-dir", &data])
    })
    .await
    .unwrap();
    assert_eq!(busy.status.code(), Some(3));
    let _ = stop.send(());
    server.await.unwrap();

    // A client belongs to one of the workspace's companies: --company is required for them and
    // refused for anyone else.
    let client_args = |role: &'static str, company: Option<&str>| {
        let mut args = vec!["admin", "create-user", "--workspace", "Initech", "--email", "carla@initrode.example"];
        args.extend(["--name", "Carla", "--role", role, "--data-dir", dir.path().to_str().unwrap()]);
        args.extend(company.map(|c| ["--company", c]).into_iter().flatten());
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run_user = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        holdfast_with_stdin(&args, "stapler basement tuesday flair\n")
    };
    let missing = run_user(client_args("client", None));
    assert_ne!(missing.status.code(), Some(0));
    assert!(stderr(&missing).contains("E2001"), "{}", stderr(&missing));
    let misplaced = run_user(client_args("staff", Some(&company)));
    assert_ne!(misplaced.status.code(), Some(0), "--company is for clients only");
    let unknown = run_user(client_args("client", Some("00000000000000000000000000000000")));
    assert!(stderr(&unknown).contains("E3002"), "an unknown company: {}", stderr(&unknown));
    let made = run_user(client_args("client", Some(&company)));
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
}

#[test]
fn admin_settings_read_and_change_policies_offline_with_validation() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let run = |args: &[&str]| holdfast(&[args, &["--data-dir", data.as_str()][..]].concat());
    let list = run(&["admin", "settings", "list"]);
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(listed.contains("rate_limit.enabled = true"), "{listed}");
    assert!(listed.contains("security.mfa_required_roles = owner,admin,manager,staff,viewonly,client"), "{listed}");
    assert!(listed.contains("security.password_history = 5"), "{listed}");
    assert_eq!(run(&["admin", "settings", "set", "security.password_history", "8"]).status.code(), Some(0));
    let value = run(&["admin", "settings", "get", "security.password_history"]);
    assert_eq!(String::from_utf8(value.stdout).unwrap().trim(), "8");
    let too_many = run(&["admin", "settings", "set", "security.password_history", "25"]);
    assert_eq!(too_many.status.code(), Some(2), "at most 24 are kept");

    assert_eq!(run(&["admin", "settings", "set", "rate_limit.enabled", "false"]).status.code(), Some(0));
    let value = run(&["admin", "settings", "get", "rate_limit.enabled"]);
    assert_eq!(String::from_utf8(value.stdout).unwrap().trim(), "false");

    let bad = run(&["admin", "settings", "set", "rate_limit.unauthenticated_per_minute", "0"]);
    assert_eq!(bad.status.code(), Some(2), "validated like the settings page: {}", stderr(&bad));
    let not_number = run(&["admin", "settings", "set", "security.session_idle_minutes", "soon"]);
    assert_eq!(not_number.status.code(), Some(2));
    let unknown = run(&["admin", "settings", "set", "rate_limit.turbo", "1"]);
    assert_eq!(unknown.status.code(), Some(1));
    let value = run(&["admin", "settings", "get", "rate_limit.unauthenticated_per_minute"]);
    assert_eq!(String::from_utf8(value.stdout).unwrap().trim(), "100", "a refused change changes nothing");
    assert_eq!(run(&["admin", "unlock", "--email", "nobody@acme.example"]).status.code(), Some(1));
}

/// The audit table as stored: workspace id ‖ sequence number → entry.
const AUDIT: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("audit");

/// A copy of `from`'s store and key in a fresh data dir, with `change` applied to its audit
/// table directly in the file (as an attacker with file access would).
fn tampered_copy(
    from: &std::path::Path,
    change: impl FnOnce(&mut redb::Table<&[u8], &[u8]>, &[Vec<u8>]),
) -> tempfile::TempDir {
    use redb::ReadableTableMetadata;
    let copy = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(copy.path().join("keys")).unwrap();
    std::fs::copy(from.join("holdfast.redb"), copy.path().join("holdfast.redb")).unwrap();
    std::fs::copy(from.join("keys/master.key"), copy.path().join("keys/master.key")).unwrap();
    let db = redb::Database::open(copy.path().join("holdfast.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(AUDIT).unwrap();
        assert!(table.len().unwrap() >= 4);
        let keys: Vec<Vec<u8>> = table.iter().unwrap().map(|r| r.unwrap().0.value().to_vec()).collect();
        change(&mut table, &keys);
    }
    txn.commit().unwrap();
    copy
}

#[tokio::test]
async fn audit_verify_names_the_first_edited_deleted_or_reordered_entry() {
    let app = spawn_app().await;
    let owner = crate::helpers::TestApp::setup_owner(&app).await;
    for label in ["one", "two", "three"] {
        owner.submit("/account", "/account/tokens", &[("label", label)]).await;
    }
    let dir = app.stop().await;
    let intact = holdfast(&["audit", "verify", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(intact.status.code(), Some(0), "{}", stderr(&intact));
    assert!(String::from_utf8_lossy(&intact.stdout).starts_with("intact: "));

    let verify = |copy: &tempfile::TempDir| {
        let output = holdfast(&["audit", "verify", "--data-dir", copy.path().to_str().unwrap()]);
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let edited = tampered_copy(dir.path(), |table, keys| {
        let value = table.get(keys[1].as_slice()).unwrap().unwrap().value().to_vec();
        let text = String::from_utf8(value).unwrap().replacen("\"success\"", "\"failure\"", 1);
        table.insert(keys[1].as_slice(), text.as_bytes()).unwrap();
    });
    let (code, out) = verify(&edited);
    assert_eq!(code, Some(1));
    assert!(out.contains("entry 2: the entry was modified"), "{out}");

    let deleted = tampered_copy(dir.path(), |table, keys| {
        table.remove(keys[1].as_slice()).unwrap();
    });
    let (code, out) = verify(&deleted);
    assert_eq!(code, Some(1));
    assert!(out.contains("entry 2: an entry before this one is missing"), "{out}");

    let reordered = tampered_copy(dir.path(), |table, keys| {
        let a = table.get(keys[1].as_slice()).unwrap().unwrap().value().to_vec();
        let b = table.get(keys[2].as_slice()).unwrap().unwrap().value().to_vec();
        table.insert(keys[1].as_slice(), b.as_slice()).unwrap();
        table.insert(keys[2].as_slice(), a.as_slice()).unwrap();
    });
    let (code, out) = verify(&reordered);
    assert_eq!(code, Some(1));
    assert!(out.contains("entry 2:"), "{out}");

    let truncated = tampered_copy(dir.path(), |table, keys| {
        table.remove(keys[keys.len() - 1].as_slice()).unwrap();
    });
    let (code, out) = verify(&truncated);
    assert_eq!(code, Some(1));
    assert!(out.contains("entries after this one are missing"), "{out}");
}

/// Waits up to 10 s for a datagram on `socket` that contains `wanted`.
fn notified(socket: &std::os::unix::net::UnixDatagram, wanted: &str) -> bool {
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 512];
    while started.elapsed() < std::time::Duration::from_secs(10) {
        if let Ok(n) = socket.recv(&mut buffer)
            && String::from_utf8_lossy(&buffer[..n]).contains(wanted)
        {
            return true;
        }
    }
    false
}

#[test]
fn under_systemd_the_server_says_ready_pings_the_watchdog_and_says_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
    // systemd names the main process in WATCHDOG_PID: the shell's pid, which `exec` keeps.
    let mut server = Command::new("sh")
        .args(["-c", "WATCHDOG_PID=$$ exec \"$0\" serve --listen 127.0.0.1:0 --http-listen off --data-dir \"$1\""])
        .arg(env!("CARGO_BIN_EXE_holdfast"))
        .arg(dir.path().join("data"))
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "1000000")
        .env_remove("HOLDFAST_DATA_DIR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(notified(&socket, "READY=1"), "ready once it listens");
    assert!(notified(&socket, "WATCHDOG=1"), "the watchdog is pinged");
    assert!(notified(&socket, "WATCHDOG=1"), "and again");
    Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(notified(&socket, "STOPPING=1"), "stopping when asked to");
    assert_eq!(server.wait().unwrap().code(), Some(0), "a clean exit");
}
