//! The application shell as staff see it: the sidebar with the CRM sections (collapsible, the
//! choice remembered), settings in their own area with only the pages one may open, the user
//! menu, the phone menu (with and without JavaScript), no sideways scrolling on a 360 px
//! phone, dense lists, dark mode and print.

use anyhow::{Context, Result, ensure};
use serde_json::json;

use super::journeys::{next_code, set_up_firm};
use super::{Page, finish, in_browser};
use crate::helpers::{Api, OWNER_EMAIL, TestApp, USER_PASSWORD, spawn_app};

/// The gzipped sizes of the page, its stylesheet and its script, as `[url, bytes]` pairs.
const WEIGHT: &str = r#"
const done = arguments[arguments.length - 1];
const urls = [location.href, document.querySelector("link[rel=stylesheet]").href, document.querySelector("script[src]").src];
const gzipped = async (url) => {
  const body = (await fetch(url, { credentials: "same-origin" })).body.pipeThrough(new CompressionStream("gzip"));
  return [url, (await new Response(body).arrayBuffer()).byteLength];
};
Promise.all(urls.map(gzipped)).then(done, (error) => done([[String(error), 0]]));
"#;

/// A laptop's viewport, and a small phone's.
const LAPTOP: (u32, u32) = (1366, 900);
const PHONE: (u32, u32) = (360, 740);

/// The owner's API, to fill the CRM quickly.
async fn owner_api(app: &TestApp) -> Api {
    let token = app.app.tokens().create_for_email(OWNER_EMAIL, "test data").await.expect("token");
    Api { client: app.client.clone(), base: app.base.clone(), token }
}

/// Confirms the second factor ahead of the sensitive settings (valid for ten minutes).
async fn confirm_second_factor(app: &TestApp, page: &Page, secret: &str) -> Result<()> {
    page.goto("/account/confirm?next=/settings/users").await?;
    page.fill("code", &next_code(app, secret)).await?;
    page.press_within("form[action='/account/confirm']", "Confirm").await?;
    page.expect_path("/settings/users").await
}

/// The texts of the links matching `css` that are showing.
async fn shown_links(page: &Page, css: &str) -> Result<Vec<String>> {
    let script = "return [...document.querySelectorAll(arguments[0])].filter((a) => a.checkVisibility({ visibilityProperty: true })).map((a) => a.textContent.trim().replace(/\\s+/g, ' '))";
    Ok(serde_json::from_value(page.script(script, vec![json!(css)]).await?)?)
}

/// The sidebar's width in CSS pixels (0: not shown).
async fn sidebar_width(page: &Page) -> Result<f64> {
    let width = page.script("return document.querySelector('.side').getBoundingClientRect().width", vec![]).await?;
    width.as_f64().context("a width")
}

/// Whether the first element matching `css` is showing.
async fn showing(page: &Page, css: &str) -> Result<bool> {
    let shown = page
        .script(
            "const e = document.querySelector(arguments[0]); return !!e && e.checkVisibility({ visibilityProperty: true })",
            vec![json!(css)],
        )
        .await?;
    Ok(shown == true)
}

/// Clicks the first element matching `css` (and waits for a page it leads to).
async fn click(page: &Page, css: &str) -> Result<()> {
    page.script("document.querySelector(arguments[0]).click()", vec![json!(css)])
        .await
        .with_context(|| format!("click {css}"))?;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    Ok(())
}

/// Adds a colleague with `role` and signs them in on a fresh browser (enrolling their second
/// factor as the first sign-in asks).
async fn colleague(app: &TestApp, role: holdfast::domain::role::Role, email: &str) -> Result<Option<Page>> {
    let password = secrecy::SecretString::from(USER_PASSWORD.to_owned());
    app.app.users().create("Acme Ltd", email, "Sam Staff", role, None, &password).await?;
    let Some(page) = Page::open(app, "shell-colleague").await else { return Ok(None) };
    page.goto("/login").await?;
    page.fill("email", email).await?;
    page.fill("password", USER_PASSWORD).await?;
    page.press("Sign in").await?;
    let key = page.text_of("li code").await?;
    page.fill("code", &next_code(app, &key)).await?;
    page.press("Turn on").await?;
    page.press("I have saved them").await?;
    page.expect_path("/").await?;
    Ok(Some(page))
}

#[tokio::test]
async fn the_sidebar_holds_the_sections_and_settings_have_their_own_area() {
    let app = spawn_app().await;
    let Some(owner) = Page::open(&app, "shell-owner").await else { return };
    let mut pages = Vec::new();
    let journey = async {
        owner.viewport(LAPTOP.0, LAPTOP.1).await?;
        let secret = set_up_firm(&app, &owner).await?;
        owner.goto("/contacts").await?;
        let sections = shown_links(&owner, ".side nav a").await?;
        ensure!(
            sections == ["Dashboard", "Contacts", "Companies", "Deals", "Tasks", "Client activity", "Settings"],
            "the sidebar lists the CRM sections and Settings: {sections:?}"
        );
        ensure!(
            owner.attribute_of(".side nav a[href='/contacts']", "aria-current").await? == "page",
            "the current section is marked"
        );
        ensure!(!showing(&owner, "details.menu").await?, "no phone menu on a laptop");
        ensure!(shown_links(&owner, ".subnav a").await?.is_empty(), "no settings sub-navigation on a CRM page");

        // The user menu: initials, Account, Sign out.
        ensure!(owner.text_of(".user-menu .avatar").await? == "OO", "Olive Owner's initials");
        ensure!(!showing(&owner, ".user-menu .menu-panel").await?, "the user menu starts closed");
        owner.open_user_menu().await?;
        ensure!(showing(&owner, ".user-menu .menu-panel").await?, "the user menu opens");
        owner.expect_text("Account").await?;
        owner.expect_text("Sign out").await?;

        // Settings: one entry, leading to a page whose sub-navigation lists every settings page.
        confirm_second_factor(&app, &owner, &secret).await?;
        owner.goto("/").await?;
        owner.press("Settings").await?;
        owner.expect_path("/settings/users").await?;
        let settings = shown_links(&owner, ".subnav a").await?;
        ensure!(
            settings
                == [
                    "Users",
                    "Security",
                    "Email",
                    "Backups",
                    "System",
                    "Encryption keys",
                    "Audit",
                    "Portal",
                    "Offline",
                    "Pipeline & tags"
                ],
            "the owner's settings pages: {settings:?}"
        );
        owner.press("Audit").await?;
        owner.expect_heading("Audit log").await?;
        ensure!(owner.attribute_of(".subnav a[href='/settings/audit']", "aria-current").await? == "page");
        ensure!(owner.attribute_of(".side a.settings-entry", "aria-current").await? == "page");

        // Collapsing the sidebar leaves the icons; the choice survives a reload.
        let open = sidebar_width(&owner).await?;
        ensure!(open > 150.0, "the sidebar is open at first: {open}px");
        ensure!(showing(&owner, "button[data-nav-toggle]").await?, "the collapse button shows with script");
        click(&owner, "button[data-nav-toggle]").await?;
        let collapsed = sidebar_width(&owner).await?;
        ensure!(collapsed < 80.0, "collapsed to icons: {collapsed}px");
        let word = owner
            .script(
                "return document.querySelector(\".side nav a[href='/contacts'] .label\").getBoundingClientRect().width",
                vec![],
            )
            .await?;
        ensure!(word.as_f64().unwrap_or(99.0) <= 1.0, "the words are hidden: {word}px wide");
        ensure!(owner.attribute_of(".side nav a[href='/deals']", "title").await? == "Deals", "the icon's tooltip");
        owner.goto("/contacts").await?;
        let reloaded = sidebar_width(&owner).await?;
        ensure!(reloaded < 80.0, "still collapsed after a reload: {reloaded}px");
        owner.press("Contacts").await?;
        owner.expect_path("/contacts").await?;
        click(&owner, "button[data-nav-toggle]").await?;
        owner.goto("/contacts").await?;
        let reopened = sidebar_width(&owner).await?;
        ensure!(reopened > 150.0, "open again after a reload: {reopened}px");

        // A member of staff: the sections, no Settings, no settings link anywhere.
        let Some(staff) = colleague(&app, holdfast::domain::role::Role::Staff, "sam@acme.example").await? else {
            return Ok(());
        };
        pages.push(staff);
        let staff = &pages[0];
        staff.viewport(LAPTOP.0, LAPTOP.1).await?;
        staff.goto("/contacts").await?;
        let sections = shown_links(staff, ".side nav a").await?;
        ensure!(
            sections == ["Dashboard", "Contacts", "Companies", "Deals", "Tasks", "Client activity"],
            "staff see the CRM sections only: {sections:?}"
        );
        let settings_links =
            staff.script("return document.querySelectorAll('a[href^=\"/settings\"]').length", vec![]).await?;
        ensure!(settings_links == 0, "no settings link for staff: {settings_links}");
        staff.open_user_menu().await?;
        staff.expect_text("Account").await?;
        ensure!(staff.text_of(".user-menu .avatar").await? == "SS", "Sam Staff's initials");
        Ok(())
    };
    let result = journey.await;
    pages.insert(0, owner);
    finish(result, pages).await;
}

#[tokio::test]
async fn without_javascript_the_sidebar_and_the_phone_menu_still_work() {
    let app = spawn_app().await;
    in_browser(&app, "shell-nojs", async |owner| {
        set_up_firm(&app, owner).await?;
        owner.without_javascript().await?;
        owner.viewport(LAPTOP.0, LAPTOP.1).await?;
        owner.goto("/").await?;
        // The script would show the collapse button: hidden, so no script ran.
        ensure!(!showing(owner, "button[data-nav-toggle]").await?, "no collapse button without script");
        ensure!(sidebar_width(owner).await? > 150.0, "the sidebar stays open");
        owner.press("Companies").await?;
        owner.expect_path("/companies").await?;
        owner.expect_heading("Companies").await?;
        owner.press("Tasks").await?;
        owner.expect_path("/tasks").await?;

        // A phone: the sections behind "Menu", a <details> that opens without script.
        owner.viewport(PHONE.0, PHONE.1).await?;
        owner.goto("/").await?;
        ensure!(sidebar_width(owner).await? == 0.0, "no sidebar on a phone");
        ensure!(showing(owner, "details.menu > summary").await?, "the menu button shows");
        ensure!(!showing(owner, "details.menu nav a[href='/deals']").await?, "the menu starts closed");
        owner.open_details("Menu").await?;
        ensure!(showing(owner, "details.menu nav a[href='/deals']").await?, "the menu opens");
        owner.press("Deals").await?;
        owner.expect_path("/deals").await?;
        owner.press("Sign out").await?;
        owner.expect_path("/login").await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn on_a_phone_the_menu_opens_and_no_page_scrolls_sideways() {
    let app = spawn_app().await;
    in_browser(&app, "shell-phone", async |owner| {
        let secret = set_up_firm(&app, owner).await?;
        let api = owner_api(&app).await;
        let company = api.create("/api/v1/companies", json!({"name": "Extraordinarily Long Company Name Holdings International"})).await;
    let contact = api
        .create(
            "/api/v1/contacts",
            json!({"first_name": "Maximiliana", "last_name": "Wolfeschlegelsteinhausenbergerdorff",
                   "company_id": company["id"],
                   "emails": [{"address": "maximiliana.wolfeschlegelsteinhausenbergerdorff@an-extremely-long-domain-name.example", "kind": "work"}],
                   "phones": [{"number": "+44 20 7946 0958", "kind": "work"}]}),
        )
        .await;
        let contact_path = format!("/contacts/{}", contact["id"].as_str().context("an id")?);
        let company_path = format!("/companies/{}", company["id"].as_str().context("an id")?);
        confirm_second_factor(&app, owner, &secret).await?;
        owner.viewport(PHONE.0, PHONE.1).await?;
        owner.goto("/").await?;
        ensure!(!showing(owner, "details.menu nav a[href='/contacts']").await?, "the menu starts closed");
        click(owner, "details.menu > summary").await?;
        let links = shown_links(owner, "details.menu nav a").await?;
        ensure!(links.contains(&"Contacts".to_owned()) && links.contains(&"Settings".to_owned()), "the menu: {links:?}");
        owner.press("Contacts").await?;
        owner.expect_path("/contacts").await?;
        // The top bar stays slim.
        let bar = owner.script("return document.querySelector('header.top').getBoundingClientRect().height", vec![]).await?;
        ensure!(bar.as_f64().unwrap_or(999.0) <= 64.0, "the top bar is slim: {bar}px");

        for path in ["/", "/contacts", contact_path.as_str(), "/companies", "/deals", "/tasks", "/client-activity", "/search?q=Maximiliana", "/contacts/new", "/deals/new", "/settings/users", "/settings/security", "/settings/audit", "/settings/system", "/settings/pipeline", "/settings/backups", "/settings/keys", "/settings/email", "/settings/portal", "/settings/offline", company_path.as_str(), "/account"] {
            owner.goto(path).await?;
            let widths = owner.script("return [document.documentElement.scrollWidth, window.innerWidth]", vec![]).await?;
            let (scroll, inner) = (widths[0].as_f64().unwrap_or(0.0), widths[1].as_f64().unwrap_or(0.0));
            ensure!(inner == 360.0, "a 360 px viewport: {inner}");
            ensure!(scroll <= inner, "{path} scrolls sideways on a phone: {scroll}px wide in {inner}px");
        }
        owner.goto(&contact_path).await?;
        owner.expect_text("Wolfeschlegelsteinhausenbergerdorff").await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn lists_are_dense_with_a_sticky_header() {
    let app = spawn_app().await;
    in_browser(&app, "shell-dense", async |owner| {
        owner.viewport(LAPTOP.0, LAPTOP.1).await?;
        set_up_firm(&app, owner).await?;
        let api = owner_api(&app).await;
        let acme = api.create("/api/v1/companies", json!({"name": "Acme Widgets International Holdings and Subsidiaries"})).await;
    for n in 0..22 {
        api.create(
            "/api/v1/contacts",
            json!({"first_name": format!("Person{n:02}"), "last_name": "Example", "company_id": acme["id"], "title": "Head of Procurement and Strategic Sourcing", "tags": ["vip", "newsletter"],
                   "emails": [{"address": format!("person{n:02}@example.com"), "kind": "work"}],
                   "phones": [{"number": "+44 20 7946 0958", "kind": "work"}], "status": "customer"}),
        )
        .await;
    }
        owner.goto("/contacts").await?;
        let visible = owner
            .script(
                "return [...document.querySelectorAll('table tbody tr')].filter((r) => r.getBoundingClientRect().bottom <= window.innerHeight).length",
                vec![],
            )
            .await?;
        let rows = owner.script("return document.querySelectorAll('table tbody tr').length", vec![]).await?;
        ensure!(rows.as_u64() >= Some(20), "twenty contacts listed: {rows}");
        ensure!(visible.as_u64() >= Some(15), "at least 15 rows above the fold at 1366×900, saw {visible}");
        let underline =
            owner.script("return getComputedStyle(document.querySelector('table tbody a')).textDecorationLine", vec![]).await?;
        ensure!(underline == "none", "list links are not underlined: {underline}");
        // The page with its stylesheet and script, gzipped, stays small.
        let weight = owner.script_async(WEIGHT, vec![]).await?;
        let sizes: Vec<(String, u64)> = serde_json::from_value(weight)?;
        let total: u64 = sizes.iter().map(|(_, size)| size).sum();
        ensure!(sizes.len() == 3 && sizes.iter().all(|(_, size)| *size > 500), "page, CSS and script measured: {sizes:?}");
        ensure!(total <= 30 * 1024, "the list with its CSS and script weighs {total} bytes gzipped: {sizes:?}");
        let rows_height = owner
            .script("return document.querySelector('table tbody tr').getBoundingClientRect().height", vec![])
            .await?;
        ensure!(rows_height.as_f64() <= Some(34.0), "one compact line a row: {rows_height}px");
        // Scrolled down past the header row's place, the header row stays at the window's top,
        // and the list never widens the page.
        let before = owner.script("return document.querySelector('table thead th').getBoundingClientRect().top", vec![]).await?;
        let before = before.as_f64().context("a position")?;
        owner.script("window.scrollBy(0, arguments[0])", vec![json!(before + 200.0)]).await?;
        let scrolled = owner.script("return window.scrollY", vec![]).await?;
        ensure!(scrolled.as_f64() > Some(before), "the page scrolled past the header row: {scrolled}");
        let top = owner.script("return document.querySelector('table thead th').getBoundingClientRect().top", vec![]).await?;
        let top = top.as_f64().context("a position")?;
        ensure!(top.abs() < 1.0, "the header row sticks at the top: {top}px (was {before}px)");
        let widths = owner.script("return [document.documentElement.scrollWidth, window.innerWidth]", vec![]).await?;
        ensure!(widths[0].as_f64() <= widths[1].as_f64(), "the list fits the window: {widths}");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn dark_mode_follows_the_system_and_records_print_black_on_white() {
    let app = spawn_app().await;
    in_browser(&app, "shell-dark", async |owner| {
        set_up_firm(&app, owner).await?;
        let api = owner_api(&app).await;
        let contact = api.create("/api/v1/contacts", json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
        let contact_path = format!("/contacts/{}", contact["id"].as_str().context("an id")?);
        let luminance = "const c = getComputedStyle(arguments[0] ? document.querySelector(arguments[0]) : document.body)[arguments[1]].match(/\\d+(\\.\\d+)?/g).map(Number); \
             return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255";
        owner.goto(&contact_path).await?;
        let light = owner.script(luminance, vec![json!(null), json!("backgroundColor")]).await?.as_f64().context("a colour")?;
        ensure!(light > 0.8, "light by default: {light}");

        owner.prefer_dark().await?;
        // Pages seen first in the dark: axe checks their colour contrast there.
        for path in ["/contacts", "/companies", "/deals", "/tasks", "/account"] {
            owner.goto(path).await?;
        }
        owner.goto(&contact_path).await?;
        let dark = owner.script(luminance, vec![json!(null), json!("backgroundColor")]).await?.as_f64().context("a colour")?;
        ensure!(dark < 0.15, "the page is dark when the system is: {dark}");
        let text = owner.script(luminance, vec![json!("main h1"), json!("color")]).await?.as_f64().context("a colour")?;
        ensure!(text > 0.7, "light text on the dark page: {text}");

        // Printed (even from dark mode): no navigation, black on white, the record's content.
        owner.as_printed().await?;
        ensure!(!showing(owner, ".side").await? && !showing(owner, "header.top").await?, "no navigation on paper");
        ensure!(!showing(owner, "main form").await?, "no forms on paper");
        let paper = owner.script(luminance, vec![json!(null), json!("backgroundColor")]).await?.as_f64().context("a colour")?;
        let ink = owner.script(luminance, vec![json!("main h1"), json!("color")]).await?.as_f64().context("a colour")?;
        ensure!(paper > 0.99 && ink < 0.01, "black on white: paper {paper}, ink {ink}");
        ensure!(showing(owner, "main h1").await?, "the record's name is printed");
        Ok(())
    })
    .await;
}
