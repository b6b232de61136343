/* Digitalwerkstatt-Bus service worker (busapp/pwa.py fills in CONFIG).
 *
 * Static files: cache first; their URLs carry a content hash, so a cached copy is never stale.
 * Pages: network first with a short timeout; then the copy saved on this phone (marked with the time it was saved);
 * then the offline page. Only public pages from CONFIG.pages are saved, and never a response that says no-store.
 * Bookings and feedback made offline wait in the IndexedDB outbox (outbox.js) and are sent on `sync`.
 * Staff pages (CONFIG.staffPages): network first too; without network, the copy a prepared tablet keeps in its own
 * cache, for the person signed in when it was kept (why that is safe: STAFF_PAGES in busapp/pwa/views.py). Any
 * other page of the bus team (CONFIG.staffArea), or one without a copy: the offline page says in plain words that
 * this page is not saved on the tablet and links to the staff pages that are.
 */
"use strict";

const CONFIG = {{ config|tojson }};
const STATIC_CACHE = CONFIG.prefix + "static-" + CONFIG.version;
const PAGES_CACHE = CONFIG.pagesCache;
const PAGE_PATTERNS = CONFIG.pages.map((p) => new RegExp(p));
const STAFF_PATTERNS = CONFIG.staffPages.map((p) => new RegExp(p));
const MAX_PAGES = 60;
// Headers that describe the stored bytes as they came over the wire, not the copy we keep.
const DROP_HEADERS = ["content-encoding", "content-length", "set-cookie", "etag", "last-modified"];

importScripts(CONFIG.outboxScript);

self.addEventListener("install", (event) => {
  // If any file fails, the install fails and the old worker with its complete caches stays in charge.
  // The staff pages' files only on a device that keeps staff pages (a prepared tablet): see STAFF_FILES.
  event.waitUntil((async () => {
    const staff = (await staffCacheNames()).length > 0;
    const cache = await caches.open(STATIC_CACHE);
    await cache.addAll(CONFIG.precache.concat(staff ? CONFIG.staffPrecache : [], Object.values(CONFIG.offline)));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keep = new Set([STATIC_CACHE, PAGES_CACHE]);
    const names = await caches.keys();
    // The staff copies stay across releases: they belong to a sign-in, not to a release, and go at sign-out.
    await Promise.all(names.filter((n) => n.startsWith(CONFIG.prefix) && !keep.has(n)
      && !n.startsWith(CONFIG.staffCachePrefix)).map((n) => caches.delete(n)));
    if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && request.method === "POST" && CONFIG.signPaths.includes(url.pathname)) {
    // Someone signs in or out on this device: the staff copies of the sign-in before go, whatever the answer.
    event.waitUntil(dropStaffPages());
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(isStaffPage(url) ? staffPage(event, url) : page(event, url));
  } else if (CONFIG.staticPrefixes.some((prefix) => url.pathname.startsWith(prefix))) {
    event.respondWith(staticFile(request, url));
  }
  // Everything else (htmx fragments, calendar files, POSTs) goes to the network untouched.
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "keep" && typeof data.url === "string") event.waitUntil(fetchAndKeep(data.url));
  const port = event.ports && event.ports[0];
  const reply = (result) => { if (port) port.postMessage(result); };
  if (data.type === "keep-staff" && Array.isArray(data.urls)) {
    event.waitUntil(keepStaffPages(data.urls).catch(() => ({ok: false})).then(reply));
  } else if (data.type === "drop-staff") {
    event.waitUntil(dropStaffPages().then(() => reply({ok: true})));
  }
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
    return (await savedCopy(url)) || offlineFor(url);
  }
  if (response) return unlessBroken(response, url);
  // The network is slow: show the saved copy now if there is one, else keep waiting for the network.
  const copy = await savedCopy(url);
  if (copy) return copy;
  try {
    return unlessBroken(await network, url);
  } catch (err) {
    return offlineFor(url);
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

// The browser's own languages, best first, as tags the app offers ("en-GB" -> "en").
function browserLanguage() {
  for (const tag of (self.navigator && self.navigator.languages) || []) {
    if (CONFIG.offline[tag]) return tag;
    const base = String(tag).split("-")[0];
    if (CONFIG.offline[base]) return base;
  }
  return null;
}

// The offline page in the language the address asks for (?lang=), else the one of the last page seen, else the
// browser's (a phone set to English that never opened a page here), else German.
async function offlinePage(url) {
  let lang = url ? url.searchParams.get("lang") : null;
  if (!CONFIG.offline[lang]) {
    try {
      lang = await Outbox.getMeta("lang");
    } catch (err) {
      lang = null;  // no IndexedDB
    }
  }
  if (!CONFIG.offline[lang]) lang = browserLanguage();
  const page = CONFIG.offline[lang] || CONFIG.offline[CONFIG.defaultLang];
  const response = await caches.match(page, {ignoreVary: true});
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

// --- staff pages of a prepared tablet ---------------------------------------------------------------------------

function isStaffPage(url) {
  return STAFF_PATTERNS.some((re) => re.test(url.pathname));
}

// "<copy key> <until, ms>" from a staff page made for someone signed in, else null.
function staffMark(response) {
  const m = /^([0-9a-f]{16,64}) (\d{10,16})$/.exec(response.headers.get(CONFIG.staffCopyHeader) || "");
  return m ? {key: m[1], until: Number(m[2])} : null;
}

async function staffCacheNames() {
  return (await caches.keys()).filter((n) => n.startsWith(CONFIG.staffCachePrefix));
}

async function dropStaffPages(except) {
  await Promise.all((await staffCacheNames()).filter((n) => n !== except).map((n) => caches.delete(n)));
}

async function staffPage(event, url) {
  const network = (async () => {
    const response = (await event.preloadResponse) || (await fetch(event.request));
    await checkStaffAnswer(response);
    return response;
  })();
  event.waitUntil(network.catch(() => null));
  let response;
  try {
    response = await Promise.race([network, delay(CONFIG.timeout)]);
  } catch (err) {
    return (await staffCopy(url)) || staffOfflinePage(url);
  }
  if (response) return response.status < 500 ? response : ((await staffCopy(url)) || response);
  const copy = await staffCopy(url);
  if (copy) return copy;
  try {
    return await network;
  } catch (err) {
    return staffOfflinePage(url);
  }
}

function offlineFor(url) {
  return url.pathname.startsWith(CONFIG.staffArea) ? staffOfflinePage(url) : offlinePage(url);
}

// The staff pages this tablet keeps for the person signed in, with their titles: [{href, title}], or none when
// there is no copy or it is no longer to be shown (the sign-in it was made for has expired, or the day is over).
async function savedStaffPages() {
  const names = await staffCacheNames();
  if (names.length !== 1) return [];
  const cache = await caches.open(names[0]);
  const pages = [];
  for (const request of await cache.keys()) {
    const response = await cache.match(request, {ignoreVary: true});
    if (!response || !(Number(response.headers.get("X-Staff-Until")) > Date.now())) return [];
    let title = decodeURIComponent(response.headers.get("X-Saved-Title") || "");
    if (!title) {
      const found = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(await response.text());
      title = found ? unescapeHtml(found[1].trim()) : "";
    }
    const href = new URL(request.url).pathname;
    pages.push({href, title: title.split(" · ")[0].split(" – ")[0] || href});
  }
  // Today's page first, then each workshop's door list before its scan page.
  return pages.sort((a, b) => a.href.length - b.href.length || a.href.localeCompare(b.href));
}

// The offline page for a page of the bus team that is not saved here: it says so, and lists what is saved.
async function staffOfflinePage(url) {
  const page = await offlinePage(url);
  let body = await page.text();
  const saved = await savedStaffPages();
  const links = saved.map((p) => `<li><a class="button button--secondary" href="${escapeHtml(p.href)}">`
    + `${escapeHtml(p.title)}</a></li>`).join("");
  body = body
    .replace(/<body\b/i, "<body data-staff-offline=\"true\"")
    .replace('id="offline-main"', 'id="offline-main" hidden')
    .replace('id="staff-offline" hidden', 'id="staff-offline"')
    .replace('id="staff-saved"></ul>', `id="staff-saved">${links}</ul>`)
    .replace(saved.length ? 'id="staff-saved-none"' : 'id="staff-saved-intro"',
             saved.length ? 'id="staff-saved-none" hidden' : 'id="staff-saved-intro" hidden');
  const headers = new Headers(page.headers);
  DROP_HEADERS.forEach((h) => headers.delete(h));
  return new Response(body, {status: page.status, headers});
}

// What the server says about who is signed in: nobody (a redirect to sign-in, 401, 403), or someone whose copy
// key is not the one kept here. Either way the kept copies are not theirs and go.
async function checkStaffAnswer(response) {
  if (response.type === "opaqueredirect" || response.redirected || response.status === 401
      || response.status === 403) {
    await dropStaffPages();
    return;
  }
  const mark = staffMark(response);
  if (mark) await dropStaffPages(CONFIG.staffCachePrefix + mark.key);
}

async function staffCopy(url) {
  const names = await staffCacheNames();
  if (names.length !== 1) return null;
  const cache = await caches.open(names[0]);
  const response = await cache.match(url.origin + url.pathname, {ignoreVary: true});
  if (!response) return null;
  if (!(Number(response.headers.get("X-Staff-Until")) > Date.now())) {
    // The sign-in it was made for has expired, or the day is over.
    await dropStaffPages();
    return null;
  }
  // The tablet's script reads this attribute and says the page is offline and how old its data is.
  const savedAt = Number(response.headers.get("X-Saved-At")) || 0;
  const body = (await response.text()).replace(/<body\b/i, `<body data-staff-saved-at="${savedAt}"`);
  return new Response(body, {status: 200, headers: response.headers});
}

// Fetches the day's staff pages for the person signed in and keeps them under their copy key. All or nothing:
// if one page cannot be had, the copies kept before stay as they were.
async function keepStaffPages(urls) {
  const pages = [];
  let mark = null;
  for (const href of urls.slice(0, 200)) {
    const url = new URL(href, self.location.origin);
    if (url.origin !== self.location.origin || !isStaffPage(url)) continue;
    const response = await fetch(url.pathname, {
      credentials: "same-origin", redirect: "manual", cache: "no-store", headers: {Accept: "text/html"},
    });
    const pageMark = staffMark(response);
    if (response.status !== 200 || response.type !== "basic" || !pageMark
        || !/^text\/html/i.test(response.headers.get("Content-Type") || "")) {
      await checkStaffAnswer(response);
      return {ok: false};
    }
    if (mark && pageMark.key !== mark.key) return {ok: false};  // signed in anew while these were fetched
    mark = pageMark;
    pages.push({url, response});
  }
  if (!mark) return {ok: false};
  const name = CONFIG.staffCachePrefix + mark.key;
  await dropStaffPages(name);
  const cache = await caches.open(name);
  const at = Date.now();
  for (const {url, response} of pages) {
    const headers = new Headers(response.headers);
    DROP_HEADERS.forEach((h) => headers.delete(h));
    headers.set("X-Saved-At", String(at));
    headers.set("X-Staff-Until", String(mark.until));
    const body = await response.text();
    const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(body);
    headers.set("X-Saved-Title", encodeURIComponent(title ? unescapeHtml(title[1].trim()) : ""));
    await cache.put(url.origin + url.pathname, new Response(body, {status: 200, headers}));
  }
  // Pages of workshops that are no longer in the day's data go.
  const kept = new Set(pages.map(({url}) => url.origin + url.pathname));
  await Promise.all((await cache.keys()).filter((r) => !kept.has(r.url)).map((r) => cache.delete(r)));
  return {ok: true, at, count: pages.length};
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms));
}

function escapeHtml(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function unescapeHtml(text) {
  return text
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&quot;/g, "\"").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
