//! Sign-in load: many clients, each with a fresh cookie jar, fetch `/login` for its CSRF token
//! and post the credentials. Reports sign-ins per second and latency percentiles of the POST.
//!
//! Run through `scripts/bench-login.sh`, which prepares a data dir and starts a release server.
//! Environment: HF_URL (https://localhost:PORT), HF_CERT (the server's cert.pem), HF_EMAIL,
//! HF_PASSWORD, HF_CONCURRENCY (e.g. "1,8,32,200"), HF_REQUESTS (sign-ins per level).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

fn client(cert: &str) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cert).expect("cert file") {
        roots.add(cert.unwrap()).unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

async fn one_sign_in(url: &str, cert: &str, email: &str, password: &str) -> Duration {
    let browser = client(cert);
    let page = browser.get(format!("{url}/login")).send().await.unwrap().text().await.unwrap();
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).expect("csrf token") + marker.len();
    let token = page[start..].split('"').next().unwrap().to_owned();
    let began = Instant::now();
    let response = browser
        .post(format!("{url}/login"))
        .form(&[("csrf_token", token.as_str()), ("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    let took = began.elapsed();
    assert_eq!(response.status(), 303, "sign-in failed");
    took
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = env("HF_URL", "https://localhost:18443");
    let cert = env("HF_CERT", "bench-data/tls/cert.pem");
    let email = env("HF_EMAIL", "bench@bench.example");
    let password = env("HF_PASSWORD", "walrus ceiling paprika tundra");
    let requests: usize = env("HF_REQUESTS", "400").parse().unwrap();
    for level in env("HF_CONCURRENCY", "1,8,32,200").split(',') {
        let concurrency: usize = level.trim().parse().unwrap();
        let per_task = requests.div_ceil(concurrency);
        let began = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let (url, cert, email, password) = (url.clone(), cert.clone(), email.clone(), password.clone());
            tasks.spawn(async move {
                let mut times = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    times.push(one_sign_in(&url, &cert, &email, &password).await);
                }
                times
            });
        }
        let mut times: Vec<Duration> = Vec::new();
        while let Some(result) = tasks.join_next().await {
            times.extend(result.unwrap());
        }
        let elapsed = began.elapsed().as_secs_f64();
        times.sort();
        println!(
            "concurrency {concurrency:>3}: {} sign-ins in {elapsed:.2} s = {:.1}/s; POST /login p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
            times.len(),
            times.len() as f64 / elapsed,
            percentile(&times, 0.50),
            percentile(&times, 0.95),
            percentile(&times, 0.99),
        );
    }
}
