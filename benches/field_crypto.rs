//! Cost of field encryption through the API: contacts created and read per second with every
//! sensitive field filled (date of birth, tax id, phones, address: all sealed) versus left
//! empty, in alternating rounds so both see the same server state.
//!
//! Run through `scripts/bench-field-crypto.sh` (release server, rate limits off).
//! Environment: HF_URL, HF_CERT, HF_TOKEN, HF_CONTACTS (per mode and round, default 2000),
//! HF_CONCURRENCY (default 16), HF_ROUNDS (default 3).

use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

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
    reqwest::Client::builder().tls_backend_preconfigured(tls).build().unwrap()
}

fn body(n: usize, filled: bool) -> Value {
    // Names and emails in no particular order, as real contacts arrive (sequential names would
    // make every name-index insert land on the same hot page).
    let tag = (n as u32).wrapping_mul(2_654_435_761);
    let mut contact = json!({"first_name": "Bench", "last_name": format!("Person {tag:08x}"),
        "emails": [{"address": format!("p{tag:08x}@bench.example"), "kind": "work"}]});
    if filled {
        let extra = json!({
            "date_of_birth": "1980-02-29",
            "tax_id": format!("GB{n:09}"),
            "phones": [{"number": format!("+44 20 7946 {:04}", n % 10_000), "kind": "work"},
                       {"number": format!("+44 7700 9{:05}", n % 100_000), "kind": "mobile"}],
            "address": {"street": format!("{n} Long Lane"), "city": "Camberwell", "postal_code": "SE5 8AB",
                        "region": "London", "country": "GB"},
        });
        contact.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    }
    contact
}

/// Runs `count` requests over `concurrency` tasks; returns requests per second and the ids.
async fn run(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    count: usize,
    concurrency: usize,
    work: Arc<dyn Fn(usize) -> (bool, Value, Option<String>) + Send + Sync>,
) -> (f64, Vec<String>) {
    let began = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..concurrency {
        let (http, url, token, work) = (http.clone(), url.to_owned(), token.to_owned(), work.clone());
        tasks.spawn(async move {
            let mut ids = Vec::new();
            for n in (task..count).step_by(concurrency) {
                let (create, payload, id) = work(n);
                let response = if create {
                    http.post(format!("{url}/api/v1/contacts")).bearer_auth(&token).json(&payload).send().await
                } else {
                    http.get(format!("{url}/api/v1/contacts/{}", id.unwrap())).bearer_auth(&token).send().await
                }
                .unwrap();
                assert!(response.status().is_success(), "{}", response.status());
                let answer: Value = response.json().await.unwrap();
                ids.push(answer["id"].as_str().unwrap().to_owned());
            }
            ids
        });
    }
    let mut ids = Vec::new();
    while let Some(result) = tasks.join_next().await {
        ids.extend(result.unwrap());
    }
    (count as f64 / began.elapsed().as_secs_f64(), ids)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = env("HF_URL", "https://localhost:18447");
    let http = client(&env("HF_CERT", "bench-data/tls/cert.pem"));
    let token = env("HF_TOKEN", "");
    let count: usize = env("HF_CONTACTS", "2000").parse().unwrap();
    let concurrency: usize = env("HF_CONCURRENCY", "16").parse().unwrap();
    let rounds: usize = env("HF_ROUNDS", "3").parse().unwrap();
    let mut totals = [[0.0f64; 2]; 2];
    for round in 1..=rounds {
        for (mode, filled) in [(0, true), (1, false)] {
            let offset = (round * 2 + mode) * count;
            let create = Arc::new(move |n: usize| (true, body(offset + n, filled), None));
            let (created, ids) = run(&http, &url, &token, count, concurrency, create).await;
            let ids = Arc::new(ids);
            let read = Arc::new(move |n: usize| (false, Value::Null, Some(ids[n].clone())));
            let (read, _) = run(&http, &url, &token, count, concurrency, read).await;
            totals[mode][0] += created;
            totals[mode][1] += read;
            let label = if filled { "filled" } else { "empty " };
            println!("round {round} {label}: create {created:>7.0}/s  read {read:>7.0}/s");
        }
    }
    let avg = |mode: usize, op: usize| totals[mode][op] / rounds as f64;
    for (op, name) in [(0, "create"), (1, "read")] {
        let (filled, empty) = (avg(0, op), avg(1, op));
        println!(
            "{name:<6} mean: filled {filled:.0}/s, empty {empty:.0}/s, difference {:+.1} %",
            (filled - empty) / empty * 100.0
        );
    }
}
