/* Digitalwerkstatt-Bus service worker (busapp/pwa.py fills in CONFIG).
 *
 * Static files: cache first; their URLs carry a content hash, so a cached copy is never stale.
 * Pages: network first with a short timeout; then the copy saved on this phone (marked with the time it was saved);
 * then the offline page. Only public pages from CONFIG.pages are saved, and never a response that says no-store.
 * Bookings and feedback made offline wait in the IndexedDB outbox (outbox.js) and are sent on `sync`.
 */
"use strict";

const CONFIG = {{ config|tojson }};
const STATIC_CACHE = CONFIG.prefix + "static-" + CONFIG.version;
const PAGES_CACHE = CONFIG.pagesCache;
const PAGE_PATTERNS = CONFIG.pages.map((p) => new RegExp(p));
const MAX_PAGES = 60;
// Headers that describe the stored bytes as they came over the wire, not the copy we keep.
const DROP_HEADERS = ["content-encoding", "content-length", "set-cookie", "etag", "last-modified"];

importScripts(CONFIG.outboxScript);

self.addEventListener("install", (event) => {
  // If any file fails, the install fails and the old worker with its complete caches stays in charge.
  event.waitUntil(
    caches.open(STATIC_CACHE)
      .then((cache) => cache.addAll(CONFIG.precache.concat(Object.values(CONFIG.offline))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keep = new Set([STATIC_CACHE, PAGES_CACHE]);
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith(CONFIG.prefix) && !keep.has(n)).map((n) => caches.delete(n)));
    if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(page(event, url));
  } else if (url.pathname.startsWith(CONFIG.staticPrefix)) {
    event.respondWith(staticFile(request, url));
  }
  // Everything else (htmx fragments, calendar files, POSTs) goes to the network untouched.
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "keep" && typeof data.url === "string") event.waitUntil(fetchAndKeep(data.url));
});

self.addEventListener("sync", (event) => {
  if (event.tag !== Outbox.SYNC_TAG) return;
  // Rejecting tells the browser to try the sync again later, with its own backoff.
  event.waitUntil(Outbox.flush().then((result) => {
    if (result && result.retry) throw new Error("outbox: items are still waiting");
  }));
});

Outbox.keepPage = fetchAndKeep;

async function page(event, url) {
  let saving = null;
  const network = (async () => {
    const response = (await event.preloadResponse) || (await fetch(event.request));
    if (storable(url, response)) saving = keep(url, response.clone());
    return response;
  })();
  event.waitUntil(network.then(() => saving).catch(() => null));

  let response;
  try {
    response = await Promise.race([network, delay(CONFIG.timeout)]);
  } catch (err) {
    return (await savedCopy(url)) || offlinePage();
  }
  if (response) return unlessBroken(response, url);
  // The network is slow: show the saved copy now if there is one, else keep waiting for the network.
  const copy = await savedCopy(url);
  if (copy) return copy;
  try {
    return unlessBroken(await network, url);
  } catch (err) {
    return offlinePage();
  }
}

// A server in trouble (5xx) is no better than no server: a saved copy is more use to the visitor.
async function unlessBroken(response, url) {
  if (response.status < 500) return response;
  return (await savedCopy(url)) || response;
}

function storable(url, response) {
  if (!response || response.status !== 200 || response.type !== "basic" || response.redirected) return false;
  if (!/^text\/html/i.test(response.headers.get("Content-Type") || "")) return false;
  if (/no-store/i.test(response.headers.get("Cache-Control") || "")) return false;
  return PAGE_PATTERNS.some((re) => re.test(url.pathname));
}

function pageKey(url) {
  return url.origin + url.pathname + url.search;
}

async function keep(url, response) {
  const body = await response.text();
  const headers = new Headers(response.headers);
  DROP_HEADERS.forEach((h) => headers.delete(h));
  headers.set("X-Saved-At", String(Date.now()));
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(body);
  headers.set("X-Saved-Title", encodeURIComponent(title ? unescapeHtml(title[1].trim()) : url.pathname));
  const cache = await caches.open(PAGES_CACHE);
  await cache.put(pageKey(url), new Response(body, {status: 200, headers}));
  await trim(cache);
}

async function fetchAndKeep(href) {
  const url = new URL(href, self.location.origin);
  if (url.origin !== self.location.origin || !PAGE_PATTERNS.some((re) => re.test(url.pathname))) return;
  try {
    const response = await fetch(pageKey(url), {credentials: "same-origin", headers: {Accept: "text/html"}});
    if (storable(url, response)) await keep(url, response);
  } catch (err) {
    // Offline again: the page is saved the next time it is opened.
  }
}

// The oldest pages go first when too many are kept; tickets go last, they matter most offline.
async function trim(cache) {
  const requests = await cache.keys();
  if (requests.length <= MAX_PAGES) return;
  const entries = await Promise.all(requests.map(async (request) => {
    const response = await cache.match(request);
    const ticket = new URL(request.url).pathname.startsWith(CONFIG.ticketPrefix);
    return {request, rank: (ticket ? 1e15 : 0) + Number(response && response.headers.get("X-Saved-At") || 0)};
  }));
  entries.sort((a, b) => a.rank - b.rank);
  await Promise.all(entries.slice(0, requests.length - MAX_PAGES).map((e) => cache.delete(e.request)));
}

async function savedCopy(url) {
  const cache = await caches.open(PAGES_CACHE);
  const response = await cache.match(pageKey(url), {ignoreVary: true});
  if (!response) return null;
  // The page's script reads this attribute and shows "saved copy from <time>" (no inline script needed).
  const savedAt = Number(response.headers.get("X-Saved-At")) || 0;
  const body = (await response.text()).replace(/<body\b/i, `<body data-saved-at="${savedAt}"`);
  return new Response(body, {status: 200, headers: response.headers});
}

async function offlinePage() {
  let lang = null;
  try {
    lang = await Outbox.getMeta("lang");
  } catch (err) {
    // No IndexedDB: the offline page in the default language.
  }
  const url = CONFIG.offline[lang] || CONFIG.offline[CONFIG.defaultLang];
  const response = await caches.match(url, {ignoreVary: true});
  return response || new Response("Offline", {status: 503, headers: {"Content-Type": "text/plain; charset=utf-8"}});
}

async function staticFile(request, url) {
  const cache = await caches.open(STATIC_CACHE);
  const hit = await cache.match(request, {ignoreVary: true});
  if (hit) return hit;
  try {
    const response = await fetch(request);
    if (response.ok && url.searchParams.has("v")) await cache.put(request, response.clone());
    return response;
  } catch (err) {
    // A saved page may ask for a file of an older release: any stored version of it beats none.
    const other = await caches.match(request, {ignoreSearch: true, ignoreVary: true});
    if (other) return other;
    throw err;
  }
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms));
}

function unescapeHtml(text) {
  return text
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&quot;/g, "\"").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
