// Holdfast's service worker: offline reading. Online, every page the server marks as keepable
// (x-holdfast-offline: 1) is stored encrypted (AES-GCM, a key the browser cannot export) in
// IndexedDB, at most 100 per module and for 24 hours; static assets go in the Cache API.
// Offline, a kept page is shown as a dated copy (the page's script shows the banner and turns
// its actions off), any other page as /offline. Pages are one user's: a page of another user
// wipes them first; signed-out pages, sign-out (Clear-Site-Data) and the setting turned off
// wipe everything.
"use strict";
const DB = "holdfast-offline";
const ASSETS = "holdfast-static";
const DAY = 24 * 60 * 60 * 1000;
const PER_MODULE = 100;

const open = () => new Promise((done, fail) => {
  const request = indexedDB.open(DB, 1);
  request.onupgradeneeded = () => {
    request.result.createObjectStore("pages", { keyPath: "url" });
    request.result.createObjectStore("meta");
  };
  request.onsuccess = () => done(request.result);
  request.onerror = () => fail(request.error);
});

// Runs `work(store)` in one transaction and answers what its last request gave.
const inStore = async (name, mode, work) => {
  const db = await open();
  return new Promise((done, fail) => {
    const tx = db.transaction(name, mode);
    const request = work(tx.objectStore(name));
    tx.oncomplete = () => { db.close(); done(request && request.result); };
    tx.onerror = () => { db.close(); fail(tx.error); };
  });
};

const key = async () => {
  const kept = await inStore("meta", "readonly", (s) => s.get("key"));
  if (kept) return kept;
  const made = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  await inStore("meta", "readwrite", (s) => s.put(made, "key"));
  return made;
};

const wipe = async () => {
  await inStore("pages", "readwrite", (s) => s.clear());
  await inStore("meta", "readwrite", (s) => s.delete("user"));
};

const moduleOf = (url) => new URL(url, self.location.origin).pathname.split("/")[1] || "dashboard";

// Keeps the newest PER_MODULE pages of each module, none older than a day.
const prune = async () => {
  const pages = (await inStore("pages", "readonly", (s) => s.getAll())) || [];
  const now = Date.now();
  const seen = {};
  const stale = pages
    .sort((a, b) => b.at - a.at)
    .filter((page) => {
      seen[page.module] = (seen[page.module] || 0) + 1;
      return now - page.at > DAY || seen[page.module] > PER_MODULE;
    });
  if (stale.length) await inStore("pages", "readwrite", (s) => { stale.forEach((p) => s.delete(p.url)); });
};

const keep = async (url, response) => {
  const user = response.headers.get("x-holdfast-user") || "";
  const owner = await inStore("meta", "readonly", (s) => s.get("user"));
  if (owner !== user) {
    await wipe();
    await inStore("meta", "readwrite", (s) => s.put(user, "user"));
  }
  const plain = JSON.stringify({ body: await response.text(), csp: response.headers.get("content-security-policy") });
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await key(), new TextEncoder().encode(plain));
  await inStore("pages", "readwrite", (s) => s.put({ url, module: moduleOf(url), at: Date.now(), iv, data }));
  await prune();
};

const kept = async (url) => {
  const page = await inStore("pages", "readonly", (s) => s.get(url));
  if (!page || Date.now() - page.at > DAY) return null;
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: page.iv }, await key(), page.data);
  const { body, csp } = JSON.parse(new TextDecoder().decode(plain));
  const dated = body.replace("<head>", `<head><meta name="hf-offline-copy" content="${page.at}">`);
  const headers = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };
  if (csp) headers["content-security-policy"] = csp;
  return new Response(dated, { headers });
};

// The offline page and the assets it needs, fetched while online.
const stockUp = async () => {
  const cache = await caches.open(ASSETS);
  const response = await fetch("/offline", { cache: "no-store" });
  const html = await response.clone().text();
  await cache.put("/offline", response);
  await cache.addAll([...new Set(html.match(/\/static\/[\w.-]+/g) || [])]);
};

self.addEventListener("install", (event) => {
  event.waitUntil(stockUp().then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("message", (event) => {
  if (event.data === "wipe") event.waitUntil(wipe());
});

const navigate = async (event, url) => {
  try {
    const response = await fetch(event.request);
    if (response.ok && response.headers.get("x-holdfast-offline") === "1") {
      event.waitUntil(keep(url, response.clone()).catch(() => {}));
    }
    return response;
  } catch (offline) {
    const copy = await kept(url).catch(() => null);
    return copy || (await caches.match("/offline")) || Response.error();
  }
};

const asset = async (request) => {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) (await caches.open(ASSETS)).put(request, response.clone());
  return response;
};

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(asset(request));
  } else if (request.mode === "navigate") {
    event.respondWith(navigate(event, url.pathname + url.search));
  }
});
