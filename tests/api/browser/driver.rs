//! Starts one chromedriver for the test process and opens Chromium sessions on it: each
//! session is a fresh profile (its own cookies) that trusts exactly the test server's
//! certificate.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::Digest;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// What the suite needs from the machine, or why it can't run.
pub struct Tools {
    pub webdriver_url: String,
    pub axe_source: String,
}

struct Driver {
    url: String,
    _child: Child,
}

static DRIVER: OnceLock<Mutex<Option<Driver>>> = OnceLock::new();

/// The browser tools, or `None` after a loud notice (a panic instead when `CI=true`: the suite
/// must run there).
pub fn tools() -> Option<Tools> {
    let missing = missing_tools();
    if let Some(what) = missing {
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("browser suite cannot run in CI: {what}");
        }
        eprintln!(
            "\n!!! BROWSER SUITE SKIPPED: {what}. Install chromium, chromium-driver and \
                   `npm ci --prefix tests/browser-tools` to run it.\n"
        );
        return None;
    }
    let axe_source = std::fs::read_to_string(axe_path()).ok()?;
    let mut driver = DRIVER.get_or_init(|| Mutex::new(None)).lock().unwrap();
    if driver.as_ref().is_none() {
        *driver = Some(start_chromedriver());
    }
    Some(Tools { webdriver_url: driver.as_ref().unwrap().url.clone(), axe_source })
}

fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser-tools/node_modules/axe-core/axe.min.js")
}

fn missing_tools() -> Option<String> {
    if !Path::new(CHROMEDRIVER).exists() {
        return Some(format!("{CHROMEDRIVER} not found"));
    }
    if !Path::new(CHROMIUM).exists() {
        return Some(format!("{CHROMIUM} not found"));
    }
    if !axe_path().exists() {
        return Some(format!("{} not found", axe_path().display()));
    }
    None
}

fn start_chromedriver() -> Driver {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // A watchdog shell ends chromedriver and its browsers once this test process is gone
    // (statics are never dropped, so nothing else would).
    let parent = std::process::id();
    let script = format!(
        "{CHROMEDRIVER} --port={port} >/dev/null 2>&1 & driver=$!; \
         while kill -0 {parent} 2>/dev/null; do sleep 1; done; pkill -TERM -P $driver; kill $driver"
    );
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver { url: format!("http://127.0.0.1:{port}"), _child: child }
}

/// Chromium's capabilities for one test profile: headless, trusting only `cert_pem`'s key,
/// `localhost` pinned to loopback IPv4 (where the test server listens).
pub fn capabilities(cert_pem: &Path) -> serde_json::Map<String, serde_json::Value> {
    let spki = spki_sha256_base64(cert_pem);
    let caps = serde_json::json!({
        "browserName": "chrome",
        "acceptInsecureCerts": false,
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--lang=en-GB",
                format!("--ignore-certificate-errors-spki-list={spki}"),
                "--host-resolver-rules=MAP localhost 127.0.0.1",
            ],
        },
    });
    caps.as_object().unwrap().clone()
}

fn spki_sha256_base64(cert_pem: &Path) -> String {
    let pem = std::fs::read(cert_pem).expect("server certificate");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM");
    let cert = pem.parse_x509().expect("certificate");
    let digest = sha2::Sha256::digest(cert.tbs_certificate.subject_pki.raw);
    base64::engine::general_purpose::STANDARD.encode(digest)
}
