//! A full disk: writes fail cleanly (503 E3001) and health says why; once space is back the
//! store reopens by itself, every acknowledged write is there, and nobody was signed out.
//! Runs on a 64 MiB tmpfs (CI runs as root); where mounting is not permitted it says so and
//! skips.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use holdfast::app::clock::ManualClock;
use holdfast::domain::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app_in;

/// A tmpfs mounted over a temporary directory, unmounted when dropped.
struct SmallDisk {
    dir: Arc<tempfile::TempDir>,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = Arc::new(tempfile::tempdir().ok()?);
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(SmallDisk { dir }),
            Ok(out) => {
                eprintln!(
                    "\n!!! FULL-DISK TEST SKIPPED: cannot mount a tmpfs here ({})\n",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("\n!!! FULL-DISK TEST SKIPPED: cannot run mount ({e})\n");
                None
            }
        }
    }

    /// Fills the disk with a ballast file until the filesystem refuses more.
    fn fill(&self) -> PathBuf {
        let ballast = self.dir.path().join("ballast");
        let mut file = std::fs::File::create(&ballast).unwrap();
        let chunk = vec![0u8; 256 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let small = vec![0u8; 4096];
        while file.write_all(&small).is_ok() {}
        let _ = file.sync_all();
        ballast
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

async fn wait_for(what: &str, mut ready: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !ready().await {
        assert!(started.elapsed() < Duration::from_secs(30), "{what} did not happen within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn path_of(dir: &Path) -> String {
    dir.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_cleanly_and_the_store_recovers_by_itself() {
    if !is_root() {
        eprintln!("\n!!! FULL-DISK TEST SKIPPED: mounting a tmpfs needs root\n");
        return;
    }
    let Some(disk) = SmallDisk::mount(64) else { return };
    let app = spawn_app_in(disk.dir.clone(), Arc::new(ManualClock::starting_now())).await;
    let owner = app.setup_owner().await;
    // How many writes fit on the disk varies; reading every one back must not meet a rate
    // limit (limits are not what this test checks).
    let mut limits = app.app.rate_limit_policy();
    limits.enabled = false;
    app.app.settings().save_rate_limits(None, limits, &Default::default()).await.unwrap();
    let api = app.api_user("Acme Ltd", "script@acme.example", Role::Admin).await;
    let mut acknowledged = Vec::new();
    for n in 0..20 {
        let created =
            api.create("/api/v1/contacts", json!({"first_name": "Before", "last_name": format!("Fill {n}")})).await;
        acknowledged.push(created["id"].as_str().unwrap().to_owned());
    }

    let ballast = disk.fill();
    // Writes now fail, cleanly: 503 E3001, never a 500 and never a lost answered write.
    let mut refused = false;
    for n in 0..3000 {
        let response =
            api.post("/api/v1/contacts", json!({"first_name": "During", "last_name": format!("Full {n}")})).await;
        match response.status() {
            StatusCode::CREATED => {
                let body: serde_json::Value = response.json().await.unwrap();
                acknowledged.push(body["id"].as_str().unwrap().to_owned());
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(response.text().await.unwrap().contains("E3001"));
                refused = true;
                break;
            }
            other => panic!("a write on a full disk answered {other}: {}", response.text().await.unwrap()),
        }
    }
    assert!(refused, "the disk at {} never filled", path_of(disk.dir.path()));
    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE, "health says writes fail");
    let body: serde_json::Value = health.json().await.unwrap();
    assert!(body["reason"].as_str().unwrap_or_default().contains("cannot write"), "{body}");
    eprintln!("full disk: {} writes acknowledged, health {body}", acknowledged.len());
    // A token whose last-used stamp can't be written still authenticates (E3001, not E1004).
    app.clock.advance(time::Duration::minutes(2));
    let read = api.get("/api/v1/contacts?limit=1").await;
    assert_ne!(read.status(), StatusCode::UNAUTHORIZED, "a full disk signs no one out");

    std::fs::remove_file(&ballast).unwrap();
    wait_for("recovery", async || app.get("/health").await.status() == StatusCode::OK).await;
    let after = api.create("/api/v1/contacts", json!({"first_name": "After", "last_name": "Recovery"})).await;
    acknowledged.push(after["id"].as_str().unwrap().to_owned());
    for id in &acknowledged {
        let response = api.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(response.status(), StatusCode::OK, "acknowledged contact {id} is still there");
    }
    assert_eq!(owner.get("/account").await.status(), StatusCode::OK, "the owner is still signed in");
    drop(app);
}
