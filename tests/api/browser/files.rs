//! A photo attached to a contact in the browser: seen as a preview, downloaded through the
//! link the page gives, a file of a refused type explained on the page, then deleted.

use anyhow::ensure;
use base64::Engine;

use super::in_browser;
use super::journeys::set_up_firm;
use crate::helpers::spawn_app;

/// A real 1×1 PNG (decodable, so the preview has a width).
const PHOTO: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// Waits for the preview image to load and answers its natural width.
const PREVIEW_WIDTH: &str = "const done = arguments[arguments.length - 1]; \
    const img = document.querySelector('.file img'); \
    if (!img) { done(-1); } else if (img.complete) { done(img.naturalWidth); } \
    else { img.onload = () => done(img.naturalWidth); img.onerror = () => done(0); }";

/// Follows the file's download link as the browser would: status, type, length, final URL.
const DOWNLOAD: &str = "const done = arguments[arguments.length - 1]; \
    fetch(document.querySelector('.file a[download]').href) \
      .then(r => r.arrayBuffer().then(b => done([r.status, r.headers.get('content-type'), b.byteLength, r.url]))) \
      .catch(e => done([0, String(e), 0, '']));";

#[tokio::test]
async fn a_photo_is_attached_seen_downloaded_and_deleted() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let photo = base64::engine::general_purpose::STANDARD.decode(PHOTO).unwrap();
    let (photo_path, page_path) = (dir.path().join("ada at the office.png"), dir.path().join("invoice.png"));
    std::fs::write(&photo_path, &photo).unwrap();
    std::fs::write(&page_path, b"<!DOCTYPE html><html><script>alert(1)</script></html>").unwrap();
    in_browser(&app, "files", async |owner| {
        set_up_firm(&app, owner).await?;
        owner.goto("/contacts/new").await?;
        owner.fill("first_name", "Ada").await?;
        owner.fill("last_name", "Lovelace").await?;
        owner.press("Save").await?;
        owner.expect_text("Saved.").await?;
        owner.expect_text("No files attached.").await?;

        owner.attach("file", &photo_path).await?;
        owner.press("Attach").await?;
        owner.expect_text("The file was attached.").await?;
        let listed = owner.text_of(".file").await?;
        ensure!(listed.contains("ada at the office.png") && listed.contains("image/png"), "listed: {listed}");
        ensure!(listed.contains("Olive Owner") && listed.contains("not scanned"), "uploader and scan state: {listed}");
        let width = owner.script_async(PREVIEW_WIDTH, vec![]).await?;
        ensure!(width == 1, "the preview shows the photo (natural width {width})");

        let fetched = owner.script_async(DOWNLOAD, vec![]).await?;
        ensure!(fetched[0] == 200 && fetched[1] == "image/png", "downloaded: {fetched}");
        ensure!(fetched[2] == photo.len(), "the whole photo came back: {fetched}");
        ensure!(fetched[3].as_str().is_some_and(|url| url.contains("/download?expires=")), "a signed link: {fetched}");

        owner.attach("file", &page_path).await?;
        owner.press("Attach").await?;
        owner.expect_text("Unable to attach the file (E2005)").await?;
        owner.expect_text("not allowed here").await?;
        let files = owner.script("return document.querySelectorAll('.file').length", vec![]).await?;
        ensure!(files == 1, "the refused file was not kept: {files} listed");

        owner.press_confirming("Delete file").await?;
        owner.expect_text("The file was deleted.").await?;
        owner.expect_text("No files attached.").await?;
        Ok(())
    })
    .await;
}
