//! Offline reading in a real Chromium, the server stopped and started again on its address:
//! pages read online are shown offline as dated copies with their actions off, others as the
//! offline page, copies older than a day are not shown, the page comes back by itself, and
//! sign-out and another user leave nothing of the first user's pages.

use anyhow::{Context, Result, ensure};

use super::journeys::{next_code, set_up_firm};
use super::{Page, finish};
use crate::helpers::{TestApp, USER_PASSWORD, spawn_app_configured, spawn_app_in_configured};

/// How many pages the worker keeps (0 when there is no store at all; never creates one).
const KEPT: &str = "const done = arguments[arguments.length - 1]; \
    indexedDB.databases().then((dbs) => { \
      if (!dbs.some((d) => d.name === 'holdfast-offline')) return done(0); \
      const open = indexedDB.open('holdfast-offline'); \
      open.onerror = () => done(-1); \
      open.onsuccess = () => { const db = open.result; \
        if (!db.objectStoreNames.contains('pages')) { db.close(); return done(0); } \
        const count = db.transaction('pages').objectStore('pages').count(); \
        count.onsuccess = () => { db.close(); done(count.result); }; }; });";

/// Makes the kept copy of `arguments[0]` a day and an hour old.
const AGE: &str = "const [url, done] = arguments; \
    const open = indexedDB.open('holdfast-offline'); \
    open.onsuccess = () => { const db = open.result; const tx = db.transaction('pages', 'readwrite'); \
      const pages = tx.objectStore('pages'); const get = pages.get(url); \
      get.onsuccess = () => { const page = get.result; page.at -= 25 * 3600 * 1000; pages.put(page); }; \
      tx.oncomplete = () => { db.close(); done(true); }; tx.onerror = () => done(false); };";

/// Visits `paths` until the worker controls the page and has kept them all (up to 10 s: a
/// page is kept as the worker sees it go by).
async fn kept(page: &Page, paths: &[&str]) -> Result<()> {
    for _ in 0..40 {
        for path in paths {
            page.goto(path).await?;
        }
        let count = page.script_async(KEPT, vec![]).await?;
        if count.as_u64().is_some_and(|n| n >= paths.len() as u64) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    anyhow::bail!("the worker did not keep {paths:?}")
}

/// The server on `port`, started again on the data directory of the one before.
async fn start_again(
    dir: std::sync::Arc<tempfile::TempDir>,
    clock: std::sync::Arc<holdfast::app::clock::ManualClock>,
    port: u16,
) -> TestApp {
    spawn_app_in_configured(dir, clock, move |config| {
        config.server.listen = format!("127.0.0.1:{port}").parse().unwrap()
    })
    .await
}

#[tokio::test]
async fn pages_read_online_are_read_offline_and_leave_with_their_user() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app =
        spawn_app_configured(move |config| config.server.listen = format!("127.0.0.1:{port}").parse().unwrap()).await;
    let Some(page) = Page::open(&app, "offline").await else { return };
    let (dir, clock) = (app.dir.clone(), app.clock.clone());
    let mut server = Some(app);
    let journey = async {
        let app = server.take().context("the server")?;
        set_up_firm(&app, &page).await?;
        page.goto("/contacts/new").await?;
        page.fill("first_name", "Ada").await?;
        page.fill("last_name", "Lovelace").await?;
        page.press("Save").await?;
        page.expect_text("Saved.").await?;
        let contact = page.path().await?.split('?').next().context("a path")?.to_owned();
        kept(&page, &[&contact, "/contacts"]).await?;

        // The server goes away.
        drop(app.stop().await);
        page.goto(&contact).await?;
        page.expect_text("Ada Lovelace").await?;
        page.expect_text("Offline mode").await?;
        page.expect_text("last synced").await?;
        ensure!(page.text_of(".offline-badge").await?.trim() == "Offline", "the header says Offline");
        let off = page
            .script("return [...document.querySelectorAll('main form button')].every((b) => b.disabled)", vec![])
            .await?;
        ensure!(off == true, "the page's actions are off");
        page.goto("/contacts").await?;
        page.expect_text("Ada").await?;
        page.goto("/deals").await?;
        page.expect_text("This page was not saved for reading offline.").await?;
        ensure!(page.script_async(AGE, vec![serde_json::json!(contact)]).await? == true, "the copy was aged");
        page.goto(&contact).await?;
        page.expect_text("You are offline").await?;
        page.expect_no_text("Ada Lovelace").await?;

        // Back online, the page comes back by itself.
        let app = start_again(dir.clone(), clock.clone(), port).await;
        page.wait_for_text_of("main", |text| text.contains("Ada Lovelace") && !text.contains("offline")).await?;

        // Signing out leaves nothing behind.
        page.press("Sign out").await?;
        page.expect_path("/login").await?;
        ensure!(page.script_async(KEPT, vec![]).await? == 0, "sign-out wiped the kept pages");

        // Someone else on the same browser never sees the first user's pages.
        let password = secrecy::SecretString::from(USER_PASSWORD.to_owned());
        let role = holdfast::domain::role::Role::Staff;
        app.app.users().create("Acme Ltd", "sam@acme.example", "Sam Staff", role, None, &password).await?;
        page.fill("email", "sam@acme.example").await?;
        page.fill("password", USER_PASSWORD).await?;
        page.press("Sign in").await?;
        let key = page.text_of("li code").await?;
        page.fill("code", &next_code(&app, &key)).await?;
        page.press("Turn on").await?;
        page.press("I have saved them").await?;
        kept(&page, &["/tasks"]).await?;
        drop(app.stop().await);
        page.goto(&contact).await?;
        page.expect_text("You are offline").await?;
        page.expect_no_text("Ada Lovelace").await?;
        Ok(())
    };
    let result = journey.await;
    drop(server);
    finish(result, vec![page]).await;
}
