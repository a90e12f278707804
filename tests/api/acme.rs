//! ACME against Pebble, Let's Encrypt's test CA, started here on loopback with its own DNS
//! (pebble-challtestsrv) so that `crm.holdfast.test` leads to this server: a certificate is
//! obtained by HTTP-01 and by TLS-ALPN-01, served without a restart, renewed at two thirds of
//! Pebble's short lifetime, kept over a restart; a failing validation keeps the certificate in
//! use and raises the alert (health check, security page).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use holdfast::app::clock::ManualClock;
use holdfast::config::{HttpListen, TlsMode};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;

use crate::helpers::*;

const DOMAIN: &str = "crm.holdfast.test";
/// Pebble's certificates live this long: renewal is due after two thirds of it.
const VALIDITY_S: u64 = 30;

/// Pebble and its DNS, stopped when dropped.
struct Pebble {
    pebble: Child,
    dns: Child,
    _dir: tempfile::TempDir,
    /// The CA behind Pebble's own HTTPS listener (what Holdfast's `acme_ca_file` trusts).
    ca_file: PathBuf,
    directory: String,
    management: SocketAddr,
    dns_management: SocketAddr,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in [&mut self.pebble, &mut self.dns] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Pebble {
    /// Starts Pebble validating on `http_port` (HTTP-01) and `tls_port` (TLS-ALPN-01), or
    /// `None` when it isn't installed outside CI.
    fn start(http_port: u16, tls_port: u16) -> Option<Pebble> {
        if !Path::new("/usr/bin/pebble").exists() {
            if std::env::var_os("CI").is_some() {
                panic!("pebble is not installed: .ci/run installs it");
            }
            eprintln!("NOTICE: pebble is not installed (apt-get install pebble); the ACME tests are skipped");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        // Pebble ships no certificate for its own listener: a CA and a leaf made here.
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "Pebble listener test CA");
        let issuer = rcgen::Issuer::new(ca.clone(), &ca_key);
        let ca = ca.self_signed(&ca_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        std::fs::write(dir.path().join("cert.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), leaf_key.serialize_pem()).unwrap();

        let (listen, management) = (free_port(), free_port());
        let (dns_port, dns_management) = (free_port(), free_port());
        let config = serde_json::json!({ "pebble": {
            "listenAddress": format!("127.0.0.1:{listen}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.path().join("cert.pem"),
            "privateKey": dir.path().join("key.pem"),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": VALIDITY_S,
        }});
        std::fs::write(dir.path().join("pebble.json"), config.to_string()).unwrap();
        let log = |name: &str| Stdio::from(std::fs::File::create(dir.path().join(name)).unwrap());
        let dns = Command::new("/usr/bin/pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{dns_port}"), "-management", &format!("127.0.0.1:{dns_management}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", "", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(log("dns.log"))
            .stderr(log("dns.err"))
            .spawn()
            .unwrap();
        let pebble = Command::new("/usr/bin/pebble")
            .arg("-config")
            .arg(dir.path().join("pebble.json"))
            .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
            // No random sleeps, no refused nonces, no reused authorizations: every order is
            // validated for real, at once.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(log("pebble.log"))
            .stderr(log("pebble.err"))
            .spawn()
            .unwrap();
        let pebble = Pebble {
            pebble,
            dns,
            ca_file,
            directory: format!("https://127.0.0.1:{listen}/dir"),
            management: ([127, 0, 0, 1], management).into(),
            dns_management: ([127, 0, 0, 1], dns_management).into(),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", listen)).is_err()
            || std::net::TcpStream::connect(pebble.dns_management).is_err()
        {
            assert!(Instant::now() < deadline, "pebble did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(pebble)
    }

    fn client(&self) -> reqwest::Client {
        install_crypto_provider();
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&self.ca_file).unwrap()).unwrap();
        reqwest::Client::builder().tls_certs_only([ca]).build().unwrap()
    }

    /// The root Pebble issues under (new at every start).
    async fn issuing_root(&self) -> Vec<u8> {
        let url = format!("https://{}/roots/0", self.management);
        self.client().get(url).send().await.unwrap().bytes().await.unwrap().to_vec()
    }

    /// Points `DOMAIN` at `ip` in Pebble's DNS (127.0.0.2: nobody listens there).
    async fn point_domain_at(&self, ip: &str) {
        install_crypto_provider();
        let url = format!("http://{}/add-a", self.dns_management);
        let body = serde_json::json!({ "host": format!("{DOMAIN}."), "addresses": [ip] });
        let response = reqwest::Client::new().post(url).json(&body).send().await.unwrap();
        assert!(response.status().is_success());
    }
}

/// Starts Holdfast in ACME mode against `pebble`, on the ports Pebble validates.
async fn spawn_acme_app(pebble: &Pebble, https: u16, http: Option<u16>, dir: Arc<tempfile::TempDir>) -> TestApp {
    let (directory, ca_file) = (pebble.directory.clone(), pebble.ca_file.clone());
    spawn_app_in_configured(dir, Arc::new(ManualClock::starting_now()), move |config| {
        config.server.listen = ([127, 0, 0, 1], https).into();
        config.server.http_listen = match http {
            Some(port) => HttpListen::On(([127, 0, 0, 1], port).into()),
            None => HttpListen::Off,
        };
        config.tls.mode = TlsMode::Acme;
        config.tls.acme_domains = vec![DOMAIN.to_owned()];
        config.tls.acme_email = "it@holdfast.test".to_owned();
        config.tls.acme_directory = directory;
        config.tls.acme_ca_file = ca_file;
    })
    .await
}

/// A client that trusts only Pebble's issuing root and finds `DOMAIN` at `addr`: it connects
/// only once the CA's certificate is served.
fn client_for_issued(root_pem: &[u8], addr: SocketAddr) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(root_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    // A resumed session reports the certificate of its first handshake.
    tls.resumption = rustls::client::Resumption::disabled();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .tls_info(true)
        .cookie_store(true)
        // A new handshake per request: a kept connection would show the old certificate.
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(DOMAIN, addr)
        .build()
        .unwrap()
}

/// The certificate the server presents to a client trusting Pebble's root, once it does
/// (waits up to `within`; fails with the server's renewal status otherwise).
async fn served_certificate(
    app: &TestApp,
    client: &reqwest::Client,
    within: Duration,
    unlike: Option<&[u8]>,
) -> Vec<u8> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(response) = client.get(format!("https://{DOMAIN}:{}/health", app.addr.port())).send().await {
            let served = peer_certificate(&response);
            if unlike != Some(served.as_slice()) {
                return served;
            }
        }
        if Instant::now() > deadline {
            let detail = detailed_certificate(app).await;
            panic!("no new certificate from the CA within {within:?}: {detail}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// /health/detailed's certificate check (asked from loopback).
async fn detailed_certificate(app: &TestApp) -> Value {
    let insecure = reqwest::Client::builder().tls_danger_accept_invalid_certs(true).build().unwrap();
    let body: Value = insecure
        .get(format!("https://127.0.0.1:{}/health/detailed", app.addr.port()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["checks"]["certificate"].clone()
}

fn names_and_serial(der: &[u8]) -> (Vec<String>, Vec<u8>) {
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    let names =
        cert.subject_alternative_name().unwrap().unwrap().value.general_names.iter().map(|n| n.to_string()).collect();
    (names, cert.raw_serial().to_vec())
}

#[tokio::test]
async fn http01_certificate_is_obtained_served_renewed_and_kept_over_a_restart() {
    let (https, http) = (free_port(), free_port());
    let Some(pebble) = Pebble::start(http, https) else { return };
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = spawn_acme_app(&pebble, https, Some(http), dir.clone()).await;
    assert_eq!(detailed_certificate(&app).await["source"], "self-signed stand-in while the ACME CA is asked");

    let client = client_for_issued(&pebble.issuing_root().await, app.addr);
    let first = served_certificate(&app, &client, Duration::from_secs(30), None).await;
    let (names, first_serial) = names_and_serial(&first);
    assert_eq!(names, [format!("DNSName({DOMAIN})")]);
    let check = detailed_certificate(&app).await;
    assert_eq!(check["source"], "from the ACME CA, renewed automatically", "{check}");
    assert_eq!(check["status"], "warn", "30 s left is under the 14-day warning: {check}");
    assert!(check["renewal_failing"].is_null(), "{check}");
    // Pages are served over the CA's certificate, no restart needed.
    let page = client.get(format!("https://{DOMAIN}:{}/login", app.addr.port())).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);

    // Renewal at two thirds of the 30-second lifetime (+ up to 1.5 s of jitter).
    let renewed = served_certificate(&app, &client, Duration::from_secs(40), Some(&first)).await;
    assert_ne!(names_and_serial(&renewed).1, first_serial);

    // The account is sealed in the store: no key file anywhere but the certificate's.
    let tls_files: Vec<String> = std::fs::read_dir(dir.path().join("tls"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(tls_files.iter().all(|f| f.starts_with("acme-")), "{tls_files:?}");

    // A restart serves the kept certificate at once (no stand-in, no new order first).
    app.stop().await;
    let again = spawn_acme_app(&pebble, https, Some(http), dir).await;
    let check = detailed_certificate(&again).await;
    assert_eq!(check["source"], "from the ACME CA, renewed automatically", "{check}");
    let served = served_certificate(&again, &client, Duration::from_secs(5), None).await;
    assert!(served == renewed || names_and_serial(&served).0 == names_and_serial(&renewed).0);
}

#[tokio::test]
async fn tls_alpn01_certificate_is_obtained_and_a_failed_renewal_keeps_it_and_alerts() {
    let https = free_port();
    // No plain-HTTP listener: the CA must validate over TLS-ALPN-01 on the HTTPS port.
    let Some(pebble) = Pebble::start(free_port(), https) else { return };
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut app = spawn_acme_app(&pebble, https, None, dir).await;
    assert!(app.http_addr.is_none());

    let client = client_for_issued(&pebble.issuing_root().await, app.addr);
    let issued = served_certificate(&app, &client, Duration::from_secs(30), None).await;

    // From now on the CA's validation reaches nobody.
    pebble.point_domain_at("127.0.0.2").await;
    let deadline = Instant::now() + Duration::from_secs(45);
    let check = loop {
        let check = detailed_certificate(&app).await;
        if check["renewal_failing"].is_string() {
            break check;
        }
        assert!(Instant::now() < deadline, "the renewal did not fail: {check}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(check["status"], "warn", "{check}");
    assert!(check["renewal_failing"].as_str().unwrap().contains(DOMAIN), "{check}");
    assert!(check["next_renewal_attempt"].is_number(), "{check}");
    let still = served_certificate(&app, &client, Duration::from_secs(5), None).await;
    assert_eq!(still, issued, "the certificate in use keeps serving");

    // The operators see the alert on the security page.
    app.base = format!("https://{DOMAIN}:{}", app.addr.port());
    app.client = client;
    let owner = app.setup_owner().await;
    let security = owner.page("/settings/security").await;
    assert!(security.contains("ops.certificate_renewal_failed"), "{security}");
}
