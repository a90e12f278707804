//! The `holdfast` binary as an operator runs it: exit codes and messages of CONTRACT.md.

use std::os::unix::fs::PermissionsExt;
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
