//! `spawn_app()`: a real server on 127.0.0.1 port 0, a temporary data directory, a steppable
//! clock, and an HTTPS client that trusts exactly the server's generated certificate.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use holdfast::app::clock::{Clock, ManualClock};
use holdfast::config::{Config, HttpListen};
use holdfast::startup::Application;
use holdfast::tls::CertManager;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::oneshot;

pub struct TestApp {
    pub app: holdfast::app::App,
    pub addr: SocketAddr,
    pub http_addr: Option<SocketAddr>,
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub dir: Arc<tempfile::TempDir>,
    pub setup_url: Option<String>,
    pub tls: Arc<CertManager>,
    /// TOTP secrets of enrolled test users, by email, shared by all browsers of this app.
    pub secrets: Secrets,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub async fn spawn_app() -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    spawn_app_in(dir, Arc::new(ManualClock::starting_now())).await
}

/// Starts a server whose config `adjust` changes first.
pub async fn spawn_app_configured(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    spawn_app_with(dir, Arc::new(ManualClock::starting_now()), adjust).await
}

/// Starts a server on an existing data directory (e.g. to test a restart).
pub async fn spawn_app_in(dir: Arc<tempfile::TempDir>, clock: Arc<ManualClock>) -> TestApp {
    spawn_app_with(dir, clock, |_| {}).await
}

/// Starts a server on an existing data directory, with `adjust`ed configuration.
pub async fn spawn_app_in_configured(
    dir: Arc<tempfile::TempDir>,
    clock: Arc<ManualClock>,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    spawn_app_with(dir, clock, adjust).await
}

async fn spawn_app_with(
    dir: Arc<tempfile::TempDir>,
    clock: Arc<ManualClock>,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.http_listen = HttpListen::On("127.0.0.1:0".parse().unwrap());
    adjust(&mut config);
    let trusted = match config.tls.mode {
        holdfast::config::TlsMode::Files => config.tls.cert_file.clone(),
        // The ACME tests make clients that trust the CA's root once it issued.
        holdfast::config::TlsMode::Acme => config.tls.acme_ca_file.clone(),
        _ => dir.path().join("tls/cert.pem"),
    };
    let application = Application::build(config, clock.clone()).await.expect("server starts");
    let addr = application.https_addr();
    let http_addr = application.http_addr();
    let setup_url = application.setup_url().map(str::to_owned);
    let tls = application.cert_manager().expect("TLS is on by default");
    let app = application.app().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let run = application.run(async move {
        let _ = stopped.await;
    });
    let task = tokio::spawn(async move {
        run.await;
    });
    TestApp {
        app,
        addr,
        http_addr,
        base: format!("https://localhost:{}", addr.port()),
        client: client_trusting(&trusted, addr, clock.clone()),
        clock,
        dir,
        setup_url,
        tls,
        secrets: Secrets::default(),
        stop: Some(stop),
        task: Some(task),
    }
}

/// reqwest needs a process-wide provider even for plain HTTP clients.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Certificate validity is checked against the test's clock, so stepping time is seen by TLS.
#[derive(Debug)]
struct TestTime(Arc<ManualClock>);

impl rustls::time_provider::TimeProvider for TestTime {
    fn current_time(&self) -> Option<rustls::pki_types::UnixTime> {
        let secs = u64::try_from(self.0.now().unix_timestamp()).ok()?;
        Some(rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs)))
    }
}

/// An HTTPS client with a cookie jar that trusts only `cert`, resolves localhost to `addr` and
/// checks certificate validity at the test clock's time.
pub fn client_trusting(cert: &Path, addr: SocketAddr, clock: Arc<ManualClock>) -> reqwest::Client {
    install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cert).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_details(provider, Arc::new(TestTime(clock)))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .tls_info(true)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .resolve("localhost", addr)
        .build()
        .unwrap()
}

impl TestApp {
    /// Waits (at most 5 s) until the search indexer has drained its outbox: every write so far
    /// is searchable, and found by exact phone / tax id lookups.
    pub async fn search_settled(&self) {
        let started = std::time::Instant::now();
        while self.app.search().status().await.unwrap().backlog > 0 {
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "the search outbox never drained");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// The default browser's request helpers, for requests without a page.
    pub fn url(&self, path: &str) -> String {
        self.browser().url(path)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.browser().get(path).await
    }

    /// A second browser: its own cookie jar, same server.
    pub fn new_browser(&self) -> Browser {
        let client = client_trusting(&self.dir.path().join("tls/cert.pem"), self.addr, self.clock.clone());
        Browser { base: self.base.clone(), client, clock: self.clock.clone(), secrets: self.secrets.clone() }
    }

    /// The default browser of this app.
    pub fn browser(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            client: self.client.clone(),
            clock: self.clock.clone(),
            secrets: self.secrets.clone(),
        }
    }

    /// Completes first-run setup as the owner and returns that signed-in browser.
    pub async fn setup_owner(&self) -> Browser {
        let browser = self.browser();
        let url = self.setup_url.clone().expect("setup pending");
        let token = url.split("token=").nth(1).unwrap().to_owned();
        let response = browser
            .submit(
                &format!("/setup?token={token}"),
                "/setup",
                &[
                    ("token", token.as_str()),
                    ("workspace_name", "Acme Ltd"),
                    ("name", "Olive Owner"),
                    ("email", OWNER_EMAIL),
                    ("password", OWNER_PASSWORD),
                ],
            )
            .await;
        assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER, "setup failed");
        browser.enroll_mfa(OWNER_EMAIL).await;
        browser
    }

    /// Adds a user with a password to a workspace (the offline admin path) and signs them in
    /// with a fresh browser.
    /// A client is a client of a company: one is made for them, through the owner's API.
    pub async fn user_with_role(&self, workspace: &str, email: &str, role: holdfast::domain::role::Role) -> Browser {
        let password = secrecy::SecretString::from(USER_PASSWORD.to_owned());
        let company = match role {
            holdfast::domain::role::Role::Client => {
                let token = self.app.tokens().create_for_email(OWNER_EMAIL, "client's company").await.expect("token");
                let owner = Api { client: self.client.clone(), base: self.base.clone(), token };
                let company = owner.create("/api/v1/companies", serde_json::json!({"name": "Client Company"})).await;
                company["id"].as_str().and_then(|id| id.parse().ok())
            }
            _ => None,
        };
        self.app.users().create(workspace, email, "Test Person", role, company, &password).await.expect("user created");
        let browser = self.new_browser();
        browser.sign_in_fully(email, USER_PASSWORD).await;
        browser
    }

    /// Adds a user (offline admin path) and returns an API client acting with their token.
    pub async fn api_user(&self, workspace: &str, email: &str, role: holdfast::domain::role::Role) -> Api {
        let password = secrecy::SecretString::from(USER_PASSWORD.to_owned());
        self.app.users().create(workspace, email, "Api Person", role, None, &password).await.expect("user created");
        let token = self.app.tokens().create_for_email(email, "tests").await.expect("token");
        Api { client: self.client.clone(), base: self.base.clone(), token }
    }

    /// Stops the server and waits until it has released the data directory.
    pub async fn stop(mut self) -> Arc<tempfile::TempDir> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        self.dir.clone()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The DER of the certificate the server presented for this response.
pub fn peer_certificate(response: &reqwest::Response) -> Vec<u8> {
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("TLS info")
        .to_vec()
}

pub const OWNER_EMAIL: &str = "olive@acme.example";
pub const OWNER_PASSWORD: &str = "granite lantern orchard velvet";
pub const USER_PASSWORD: &str = "quiet harbor maple seventeen";

/// TOTP secrets by email.
pub type Secrets = Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>;

/// A browser: a cookie jar that fetches pages and submits their forms with the CSRF token, and
/// an authenticator app (codes computed by `totp` below, independently of Holdfast's code).
#[derive(Clone)]
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub secrets: Secrets,
}

/// RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s), written from the RFC for the tests.
pub fn totp(secret_base32: &str, unix: i64, offset_steps: i64) -> String {
    use hmac::Mac;
    let secret = base32_decode(secret_base32);
    let counter = (unix / 30 + offset_steps) as u64;
    let mut mac = <hmac::Hmac<sha1::Sha1> as Mac>::new_from_slice(&secret).unwrap();
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let value = u32::from_be_bytes(digest[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", value % 1_000_000)
}

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let index = ALPHABET.iter().position(|&a| a == c.to_ascii_uppercase()).expect("base32") as u32;
        value = (value << 5) | index;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
        }
    }
    out
}

/// The value of the first hidden `csrf_token` input on a page.
pub fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("page has a CSRF token") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

impl Browser {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), reqwest::StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// Loads `form_page`, takes its CSRF token and posts `fields` to `action`.
    pub async fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = csrf_token(&self.page(form_page).await);
        self.post_with_token(action, &token, fields).await
    }

    pub async fn post_with_token(&self, action: &str, token: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", token)];
        form.extend_from_slice(fields);
        self.client.post(self.url(action)).form(&form).send().await.expect("request")
    }

    /// The password step of sign-in only.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.submit("/login", "/login", &[("email", email), ("password", password)]).await
    }

    /// A fresh TOTP code for `email`, one time step after the last (codes are single use).
    pub fn next_code(&self, email: &str) -> String {
        self.clock.advance(time::Duration::seconds(30));
        let secret = self.secrets.lock().unwrap().get(email).cloned().expect("enrolled");
        totp(&secret, holdfast::app::clock::Clock::now(self.clock.as_ref()).unix_timestamp(), 0)
    }

    /// Password, then the second factor (enrolling first if the role requires it).
    pub async fn sign_in_fully(&self, email: &str, password: &str) {
        let response = self.sign_in(email, password).await;
        assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER, "password step for {email}");
        let next = response.headers().get("location").unwrap().to_str().unwrap().to_owned();
        match next.as_str() {
            "/login/mfa" => {
                let code = self.next_code(email);
                let done = self.submit("/login/mfa", "/login/mfa", &[("code", &code)]).await;
                assert_eq!(done.headers().get("location").unwrap(), "/", "second factor for {email}");
            }
            "/account/mfa/setup" => {
                self.enroll_mfa(email).await;
            }
            _ => assert_eq!(next, "/"),
        }
    }

    /// Enrols TOTP from the setup page, remembers the secret and returns the backup codes.
    pub async fn enroll_mfa(&self, email: &str) -> Vec<String> {
        let page = self.page("/account/mfa/setup").await;
        let secret = page.split("Key: <code>").nth(1).unwrap().split('<').next().unwrap().to_owned();
        self.secrets.lock().unwrap().insert(email.to_owned(), secret);
        let code = self.next_code(email);
        let response = self.submit("/account/mfa/setup", "/account/mfa/setup", &[("code", &code)]).await;
        assert_eq!(response.status(), reqwest::StatusCode::OK, "enrolment of {email}");
        let body = response.text().await.unwrap();
        body.split("<li><code>").skip(1).map(|s| s.split('<').next().unwrap().to_owned()).collect()
    }

    /// Step-up: confirms the second factor so sensitive actions are allowed for 10 minutes.
    pub async fn confirm_second_factor(&self, email: &str) {
        let code = self.next_code(email);
        let response = self
            .submit("/account/confirm?next=/account", "/account/confirm", &[("code", &code), ("next", "/account")])
            .await;
        assert_eq!(response.headers().get("location").unwrap(), "/account", "step-up for {email}");
    }
}

/// A script calling the JSON API with a bearer token.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(&self.token).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(&self.token).json(&body).send().await.unwrap()
    }

    pub async fn patch(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client.patch(self.url(path)).bearer_auth(&self.token).json(&body).send().await.unwrap()
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client.delete(self.url(path)).bearer_auth(&self.token).send().await.unwrap()
    }

    /// POSTs and returns the created record's JSON (asserting 201).
    pub async fn create(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let response = self.post(path, body).await;
        let status = response.status();
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, reqwest::StatusCode::CREATED, "{json}");
        json
    }
}

/// Where a `303 See Other` leads, without the one-time "Saved." notice a record save adds (so
/// a saved record's location is its path).
pub fn location(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER, "expected a redirect");
    let to = response.headers()["location"].to_str().unwrap();
    to.trim_end_matches("?notice=record-saved").to_owned()
}
