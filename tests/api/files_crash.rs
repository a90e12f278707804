//! An upload cut off by SIGKILL leaves nothing behind: the real `holdfast` binary is killed
//! while a file is streaming in; after the restart no half file is stored or readable, the
//! temporary blob and any orphan are swept, and the file acknowledged before is whole.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::search_crash::{crash_test_firm, served};

/// A 1×1 PNG's first bytes (enough to be recognised), then `len` more.
fn png_of(len: usize) -> Vec<u8> {
    let head = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    [&head[..], &vec![7u8; len]].concat()
}

fn blobs(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_off_by_sigkill_leaves_no_half_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = crash_test_firm(&data);
    let (mut server, client, base, port) = served(&data).await;
    let post = |path: &str| client.post(format!("{base}{path}")).bearer_auth(&token);
    let contact: Value =
        post("/api/v1/contacts").json(&json!({"first_name": "Ada"})).send().await.unwrap().json().await.unwrap();
    let files_url = format!("/api/v1/contacts/{}/files", contact["id"].as_str().unwrap());

    let kept = png_of(300 * 1024);
    let part = reqwest::multipart::Part::bytes(kept.clone()).file_name("kept.png");
    let acked = post(&files_url).multipart(reqwest::multipart::Form::new().part("file", part)).send().await.unwrap();
    assert_eq!(acked.status(), reqwest::StatusCode::CREATED);
    let acked: Value = acked.json().await.unwrap();
    let files_dir = data.join("files");
    let stored = blobs(&files_dir);
    assert_eq!(stored.len(), 1);

    // A second upload streams its first 2 MiB, then waits: the server is killed mid-file.
    let (feed, chunks) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let stream =
        futures_util::stream::unfold(chunks, |mut chunks| async move { chunks.recv().await.map(|c| (c, chunks)) });
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream)).file_name("half.png");
    let upload = tokio::spawn(post(&files_url).multipart(reqwest::multipart::Form::new().part("file", part)).send());
    feed.send(Ok(png_of(2 * 1024 * 1024))).await.unwrap();
    let started = Instant::now();
    while !blobs(&files_dir).iter().any(|n| n.ends_with(".tmp")) {
        assert!(started.elapsed() < Duration::from_secs(30), "the upload never reached the disk");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    drop(feed);
    // The cut-off upload got no answer worth trusting; only what is stored after the restart counts.
    let _ = upload.await;
    std::fs::write(files_dir.join("0123456789abcdef0123456789abcdef"), b"an orphan: no file names it").unwrap();

    let mut server = crate::search_crash::serve_again(&data, port, &client, &base).await;
    assert_eq!(blobs(&files_dir), stored, "the half file and the orphan were swept, the stored one kept");
    let listed: Value =
        client.get(format!("{base}{files_url}")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["kept.png"], "only the acknowledged file is listed");
    let link: Value = client
        .get(format!("{base}/api/v1/files/{}/link", acked["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let got = client.get(format!("{base}{}", link["url"].as_str().unwrap())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(got.status(), reqwest::StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), kept.as_slice(), "the acknowledged file is whole");
    server.kill().unwrap();
    server.wait().unwrap();
}
