//! One Chromium profile driven like a person: open a page, fill fields by label or name,
//! press buttons by their text, read what the page says. Every page reached is checked with
//! axe-core and for CSP violations; a failing step saves a screenshot and the page's HTML under
//! `target/browser-failures/`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use axum::http::Method;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};

use super::driver;
use crate::helpers::TestApp;

/// Collects `securitypolicyviolation` events from the first moment of every document.
const CSP_LISTENER: &str = r#"
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});
"#;

/// Runs axe on the page and answers its serious and critical violations, one line each.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ["violations"] }).then(
  (result) => done(result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")})`)),
  (error) => done([`axe failed: ${error}`]));
"#;

/// A chromedriver command outside the W3C set: a DevTools protocol call.
#[derive(Debug)]
struct DevTools {
    method: &'static str,
    params: serde_json::Value,
}

impl WebDriverCompatibleCommand for DevTools {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (Method::POST, Some(serde_json::json!({ "cmd": self.method, "params": self.params }).to_string()))
    }
}

pub struct Page {
    client: Client,
    base: String,
    axe: Arc<String>,
    /// Names this profile's artifacts (`journey-profile`).
    label: String,
    /// Paths checked with axe so far (each once per profile).
    checked: std::sync::Mutex<Vec<String>>,
}

impl Page {
    /// A fresh Chromium profile on `app`, or `None` when the machine has no browser (outside CI).
    pub async fn open(app: &TestApp, label: &str) -> Option<Page> {
        let tools = driver::tools()?;
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(driver::capabilities(&app.data_dir().join("tls/cert.pem")))
            .connect(&tools.webdriver_url)
            .await
            .expect("Chromium session starts");
        let page = Page {
            client,
            base: app.base.clone(),
            axe: Arc::new(tools.axe_source),
            label: label.to_owned(),
            checked: Default::default(),
        };
        page.devtools("Page.addScriptToEvaluateOnNewDocument", serde_json::json!({ "source": CSP_LISTENER }))
            .await
            .expect("CSP listener installed");
        Some(page)
    }

    async fn devtools(&self, method: &'static str, params: serde_json::Value) -> Result<serde_json::Value> {
        Ok(self.client.issue_cmd(DevTools { method, params }).await?)
    }

    /// Navigates to a path of the server and checks the page.
    pub async fn goto(&self, path: &str) -> Result<()> {
        self.client.goto(&format!("{}{path}", self.base)).await.with_context(|| format!("open {path}"))?;
        self.check().await
    }

    /// Navigates to an absolute URL (a link from a log or an email).
    pub async fn goto_url(&self, url: &str) -> Result<()> {
        self.client.goto(url).await.context("open link")?;
        self.check().await
    }

    /// The current path and query.
    pub async fn path(&self) -> Result<String> {
        let url = self.client.current_url().await?;
        Ok(match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        })
    }

    /// Types into the field labelled `label` (or named `label`), replacing what it held.
    pub async fn fill(&self, label: &str, value: &str) -> Result<()> {
        let field = self.field(label).await?;
        field.clear().await?;
        field.send_keys(value).await.with_context(|| format!("type into {label}"))?;
        Ok(())
    }

    /// Chooses an option by its visible text in the select labelled `label`.
    /// A searchable picker (script over a select) is typed into and its option clicked, as a
    /// person does.
    pub async fn choose(&self, label: &str, option: &str) -> Result<()> {
        let field = self.field(label).await?;
        if field.attr("role").await?.as_deref() == Some("combobox") {
            return self.pick(&field, option).await;
        }
        if !field.is_displayed().await.unwrap_or(true)
            && let Ok(input) = field.find(Locator::XPath("preceding-sibling::span[@class='picker']//input")).await
        {
            return self.pick(&input, option).await;
        }
        field.select_by_label(option).await.with_context(|| format!("choose {option} in {label}"))?;
        Ok(())
    }

    /// Types `option` into a picker's box and clicks it in the list that opens.
    async fn pick(&self, input: &fantoccini::elements::Element, option: &str) -> Result<()> {
        input.clear().await?;
        input.send_keys(option).await.with_context(|| format!("type {option} into the picker"))?;
        let literal = xpath_literal(option);
        let xpath =
            format!("//ul[@role='listbox' and not(@hidden)]/li[@role='option' and normalize-space(.)={literal}]");
        let started = Instant::now();
        loop {
            if let Ok(item) = self.client.find(Locator::XPath(&xpath)).await {
                item.click().await.with_context(|| format!("pick {option}"))?;
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(5) {
                bail!("the picker never offered {option:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn field(&self, label: &str) -> Result<fantoccini::elements::Element> {
        let by_name = format!("[name=\"{label}\"]");
        if let Ok(field) = self.client.find(Locator::Css(&by_name)).await {
            return Ok(field);
        }
        let literal = xpath_literal(label);
        let xpath = format!(
            "//label[normalize-space(text())={literal} or starts-with(normalize-space(.), {literal})]//*[self::input or self::select or self::textarea] \
             | //*[@id=//label[starts-with(normalize-space(.), {literal})]/@for] \
             | //*[@aria-label={literal}]"
        );
        self.client.find(Locator::XPath(&xpath)).await.with_context(|| format!("no field labelled {label:?}"))
    }

    /// Presses the first visible button (or link styled as one) whose text is `text`, then
    /// checks the page it leads to.
    pub async fn press(&self, text: &str) -> Result<()> {
        let literal = xpath_literal(text);
        let xpath = format!(
            "//button[normalize-space(.)={literal}] | //input[@type='submit' and @value={literal}] | //a[normalize-space(.)={literal}]"
        );
        // A list that script redraws (suggestions as one types) may replace the element between
        // finding and clicking it: then it is found again.
        for attempt in 1.. {
            let mut chosen = None;
            for candidate in self.client.find_all(Locator::XPath(&xpath)).await? {
                if candidate.is_displayed().await.unwrap_or(false) {
                    chosen = Some(candidate);
                    break;
                }
            }
            let Some(button) = chosen else {
                // In a closed menu (a `<details>`, like the user menu): opened first, as a person
                // does.
                if attempt == 1 && self.open_menu_holding(&xpath).await? {
                    continue;
                }
                return Err(anyhow!("no button or link {text:?} on {}", self.path().await.unwrap_or_default()));
            };
            match button.click().await {
                Err(fantoccini::error::CmdError::Standard(e))
                    if attempt < 3 && e.error == fantoccini::error::ErrorStatus::StaleElementReference => {}
                clicked => {
                    clicked.with_context(|| format!("press {text}"))?;
                    break;
                }
            }
        }
        self.settle().await;
        self.check().await
    }

    /// Opens the closed `<details>` menu (its summary showing) that holds an element matching
    /// `xpath`; answers whether one was opened.
    async fn open_menu_holding(&self, xpath: &str) -> Result<bool> {
        for candidate in self.client.find_all(Locator::XPath(xpath)).await? {
            let Ok(summary) = candidate.find(Locator::XPath("ancestor::details[not(@open)][1]/summary")).await else {
                continue;
            };
            if summary.is_displayed().await.unwrap_or(false) {
                summary.click().await.context("open the menu")?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Opens the user menu (name and avatar: Account, Sign out).
    pub async fn open_user_menu(&self) -> Result<()> {
        let summary = self.client.find(Locator::Css("details.user-menu > summary")).await.context("no user menu")?;
        summary.click().await.context("open the user menu")?;
        Ok(())
    }

    /// Shows pages in a viewport of `width` × `height` CSS pixels (a phone, a laptop).
    pub async fn viewport(&self, width: u32, height: u32) -> Result<()> {
        let metrics = serde_json::json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false });
        self.devtools("Emulation.setDeviceMetricsOverride", metrics).await.context("set the viewport")?;
        Ok(())
    }

    /// Pages as a browser with JavaScript off shows them: their script (`/static/app.….js`, the
    /// only one they load, which also registers the service worker) is never fetched. (Turning
    /// script off in DevTools would stop the suite's own checks as well.)
    pub async fn without_javascript(&self) -> Result<()> {
        self.devtools("Network.enable", serde_json::json!({})).await.context("network domain")?;
        let blocked = serde_json::json!({ "urls": ["*/static/app.*.js"] });
        self.devtools("Network.setBlockedURLs", blocked).await.context("block the page script")?;
        Ok(())
    }

    /// Tells pages the system prefers a dark colour scheme.
    pub async fn prefer_dark(&self) -> Result<()> {
        let features = serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] });
        self.devtools("Emulation.setEmulatedMedia", features).await.context("emulate dark mode")?;
        Ok(())
    }

    /// Shows pages as printed (on paper, from a system preferring dark).
    pub async fn as_printed(&self) -> Result<()> {
        let print =
            serde_json::json!({ "media": "print", "features": [{ "name": "prefers-color-scheme", "value": "dark" }] });
        self.devtools("Emulation.setEmulatedMedia", print).await.context("emulate print")?;
        Ok(())
    }

    /// Presses the button `text` inside the first element matching `css` (where the same words
    /// appear elsewhere on the page, like "Sign out" in the header and in a table).
    pub async fn press_within(&self, css: &str, text: &str) -> Result<()> {
        let scope = self.client.find(Locator::Css(css)).await.with_context(|| format!("no {css}"))?;
        let literal = xpath_literal(text);
        let button = scope.find(Locator::XPath(&format!(".//button[normalize-space(.)={literal}]"))).await?;
        button.click().await.with_context(|| format!("press {text} in {css}"))?;
        self.settle().await;
        self.check().await
    }

    /// Presses a button that asks "are you sure?" first, and says yes.
    pub async fn press_confirming(&self, text: &str) -> Result<()> {
        let literal = xpath_literal(text);
        let button = self.client.find(Locator::XPath(&format!("//button[normalize-space(.)={literal}]"))).await?;
        button.click().await.with_context(|| format!("press {text}"))?;
        self.client.accept_alert().await.context("the confirmation dialog")?;
        self.settle().await;
        self.check().await
    }

    /// Focuses the first element matching `css` and presses Enter on it, as a keyboard user
    /// does (then waits for a page the key may have loaded).
    pub async fn press_enter_on(&self, css: &str) -> Result<()> {
        let element = self.client.find(Locator::Css(css)).await.with_context(|| format!("no {css}"))?;
        element.send_keys("\u{E007}").await.with_context(|| format!("Enter on {css}"))?;
        self.settle().await;
        self.check().await
    }

    /// Opens a `<details>` by its summary text.
    pub async fn open_details(&self, summary: &str) -> Result<()> {
        let literal = xpath_literal(summary);
        let element = self.client.find(Locator::XPath(&format!("//summary[normalize-space(.)={literal}]"))).await?;
        element.click().await?;
        Ok(())
    }

    /// Waits for the document to finish loading after a click.
    async fn settle(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            let state = self.client.execute("return document.readyState", vec![]).await;
            if matches!(state, Ok(serde_json::Value::String(ref s)) if s == "complete") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The visible text of the page.
    pub async fn text(&self) -> Result<String> {
        Ok(self.client.find(Locator::Css("body")).await?.text().await?)
    }

    /// Waits (up to 5 s) until the page shows `expected`.
    pub async fn expect_text(&self, expected: &str) -> Result<()> {
        let started = Instant::now();
        loop {
            let text = self.text().await.unwrap_or_default();
            if text.contains(expected) {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(5) {
                bail!("{} does not show {expected:?}; it shows:\n{}", self.path().await?, excerpt(&text));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fails if the page shows `unexpected` (checked once, after the page has settled).
    pub async fn expect_no_text(&self, unexpected: &str) -> Result<()> {
        let text = self.text().await?;
        if text.contains(unexpected) {
            bail!("{} shows {unexpected:?}:\n{}", self.path().await?, excerpt(&text));
        }
        Ok(())
    }

    /// Waits until the current path starts with `prefix`.
    pub async fn expect_path(&self, prefix: &str) -> Result<()> {
        let started = Instant::now();
        loop {
            let path = self.path().await?;
            if path.starts_with(prefix) {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(5) {
                bail!("expected to be on {prefix}, but on {path}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> Result<String> {
        Ok(self.client.find(Locator::Css(css)).await.with_context(|| format!("no {css}"))?.text().await?)
    }

    /// Waits (up to 5 s) until the text of the first element matching `css` satisfies `ok`.
    pub async fn wait_for_text_of(&self, css: &str, ok: impl Fn(&str) -> bool) -> Result<()> {
        let started = Instant::now();
        loop {
            let text = self.text_of(css).await.unwrap_or_default();
            if ok(&text) {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(5) {
                bail!("{css} on {} never became what was expected; it reads {text:?}", self.path().await?);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page's main heading reads `heading`.
    pub async fn expect_heading(&self, heading: &str) -> Result<()> {
        self.wait_for_text_of("h1", |t| t.trim() == heading).await
    }

    /// Runs a script in the page (for what a person does with a mouse that WebDriver can't
    /// replay, such as an HTML drag and drop).
    pub async fn script(&self, source: &str, args: Vec<serde_json::Value>) -> Result<serde_json::Value> {
        Ok(self.client.execute(source, args).await?)
    }

    /// Runs an asynchronous script (its last argument is the callback with the answer).
    pub async fn script_async(&self, source: &str, args: Vec<serde_json::Value>) -> Result<serde_json::Value> {
        Ok(self.client.execute_async(source, args).await?)
    }

    /// Chooses a file for the file input named `name`, as the file picker does.
    pub async fn attach(&self, name: &str, file: &std::path::Path) -> Result<()> {
        let input = self.field(name).await?;
        input.send_keys(&file.display().to_string()).await.with_context(|| format!("attach {}", file.display()))?;
        Ok(())
    }

    /// An attribute of the first element matching `css`.
    pub async fn attribute_of(&self, css: &str, attribute: &str) -> Result<String> {
        let element = self.client.find(Locator::Css(css)).await.with_context(|| format!("no {css}"))?;
        element.attr(attribute).await?.with_context(|| format!("{css} has no {attribute}"))
    }

    /// Sends keys to whatever has the focus (the page itself when nothing does), as a keyboard
    /// does: WebDriver's key codes (`\u{E009}` Control, `\u{E007}` Enter, `\u{E00C}` Escape,
    /// `\u{E000}` releasing the modifiers) included.
    pub async fn keys(&self, keys: &str) -> Result<()> {
        let focused = self.client.active_element().await.context("no focused element")?;
        focused.send_keys(keys).await.with_context(|| format!("press keys {keys:?}"))?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }

    /// Presses keys in the focused field one at a time, as typing does.
    pub async fn type_slowly(&self, label: &str, text: &str) -> Result<()> {
        let field = self.field(label).await?;
        field.click().await?;
        for c in text.chars() {
            field.send_keys(&c.to_string()).await?;
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        Ok(())
    }

    /// Accessibility (axe-core: nothing serious or critical) and CSP (no violation) of the
    /// current page, each path once per profile.
    pub async fn check(&self) -> Result<()> {
        let path = self.path().await?;
        // `null` would mean the listener never ran: then nothing was checked.
        let found = self.client.execute("return window.__cspViolations ?? null", vec![]).await?;
        let csp: Vec<String> =
            serde_json::from_value(found).with_context(|| format!("the CSP listener is missing on {path}"))?;
        if !csp.is_empty() {
            bail!("CSP violations on {path}: {csp:#?}");
        }
        let key = path.split('?').next().unwrap_or_default().to_owned();
        if self.checked.lock().unwrap().contains(&key) {
            return Ok(());
        }
        self.client.execute(&format!("{}\nreturn typeof axe;", self.axe), vec![]).await.context("inject axe")?;
        let violations: Vec<String> = serde_json::from_value(self.client.execute_async(AXE_RUN, vec![]).await?)?;
        if !violations.is_empty() {
            bail!("accessibility violations on {path}:\n{}", violations.join("\n"));
        }
        self.checked.lock().unwrap().push(key);
        Ok(())
    }

    /// Saves a screenshot and the HTML of the current page under `target/browser-failures/`.
    pub async fn save_artifacts(&self) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-failures");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{}.png", self.label)), png);
        }
        if let Ok(html) = self.client.source().await {
            let _ = std::fs::write(dir.join(format!("{}.html", self.label)), html);
        }
        eprintln!("browser artifacts saved: {}/{}.{{png,html}}", dir.display(), self.label);
    }

    /// Ends the session (closing the browser).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Runs a one-browser journey on `app` in a fresh profile named `label` (skipped, loudly, where
/// there is no browser), then [`finish`]es it.
pub async fn in_browser(app: &TestApp, label: &str, journey: impl AsyncFnOnce(&Page) -> Result<()>) {
    let Some(page) = Page::open(app, label).await else { return };
    let result = journey(&page).await;
    finish(result, vec![page]).await;
}

/// Ends a journey: on failure saves every profile's screenshot and HTML, then fails the test
/// with the step's error; closes the browsers either way.
pub async fn finish(result: Result<()>, pages: Vec<Page>) {
    if let Err(error) = &result {
        for page in &pages {
            page.save_artifacts().await;
        }
        for page in pages {
            page.close().await;
        }
        panic!("browser journey failed: {error:#}");
    }
    for page in pages {
        page.close().await;
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(1500).collect()
}

/// An XPath string literal for any text (XPath 1.0 has no escapes).
fn xpath_literal(text: &str) -> String {
    if !text.contains('"') {
        format!("\"{text}\"")
    } else if !text.contains('\'') {
        format!("'{text}'")
    } else {
        let parts: Vec<String> = text.split('"').map(|p| format!("\"{p}\"")).collect();
        format!("concat({})", parts.join(", '\"', "))
    }
}
