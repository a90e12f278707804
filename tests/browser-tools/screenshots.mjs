// Screenshots of a signed-in Holdfast (run by scripts/screenshots.sh, which starts the seeded
// server): each page at a desktop (1366×900) and a phone (390×844) viewport, in light and dark
// (prefers-color-scheme emulated), as viewport-sized PNGs named PAGE-FORM-SCHEME.png.
// Env: HF_BASE (https://localhost:PORT), HF_COOKIE (name=value of the session cookie),
// HF_SPKI (the server certificate's SPKI hash, trusted alone), HF_PAGES ("name=/path" lines),
// HF_OUT (the folder written), CHROME_PATH (default /usr/bin/chromium).
import puppeteer from "puppeteer-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.HF_BASE;
const [cookieName, ...rest] = process.env.HF_COOKIE.split("=");
const cookieValue = rest.join("=");
const out = process.env.HF_OUT;
const pages = process.env.HF_PAGES.trim().split("\n").map((line) => line.split("="));
mkdirSync(out, { recursive: true });

const forms = [
  { name: "desktop", viewport: { width: 1366, height: 900, deviceScaleFactor: 1 } },
  { name: "mobile", viewport: { width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true } },
];
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--host-resolver-rules=MAP localhost 127.0.0.1",
    `--ignore-certificate-errors-spki-list=${process.env.HF_SPKI}`,
    "--hide-scrollbars",
    "--font-render-hinting=none",
  ],
});
try {
  for (const form of forms) {
    for (const scheme of ["light", "dark"]) {
      const page = await browser.newPage();
      await page.setViewport(form.viewport);
      await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
      await browser.setCookie({
        name: cookieName, value: cookieValue, url: base, secure: true, httpOnly: true, sameSite: "Lax",
      });
      for (const [name, path] of pages) {
        const response = await page.goto(base + path, { waitUntil: "networkidle0" });
        if (!response.ok() || new URL(page.url()).pathname === "/login") {
          throw new Error(`${path}: ${response.status()} at ${page.url()}`);
        }
        // No caret blinking in a focused field, no hover state left from the last page.
        await page.evaluate(() => document.activeElement && document.activeElement.blur());
        await page.mouse.move(0, 0);
        const file = join(out, `${name}-${form.name}-${scheme}.png`);
        await page.screenshot({ path: file, captureBeyondViewport: false });
        console.log(file);
      }
      await page.close();
    }
  }
} finally {
  await browser.close();
}
