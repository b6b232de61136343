// The service worker (templates/pwa/sw.js as /sw.js serves it): which pages it keeps and how, what it shows
// without network, how many pages it keeps, the staff copies of a prepared tablet, and the outbox on `sync`.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const {
  ORIGIN, Clock, FakeIndexedDB, appFixtures, dispatch, evaluate, fakeFetch, fetchEvent, html, json, loadServiceWorker, plain,
  redirected, settle,
} = require("./harness");

const PAGE = "<!doctype html><html><head><title>Moisling &amp; Buntekuh · Digitalwerkstatt-Bus</title></head>"
  + "<body class=\"page\"><main id=\"main\">today</main></body></html>";

function worker(routes = {}, options = {}) {
  const fetch = fakeFetch(routes);
  const sw = loadServiceWorker({fetch, ...options});
  return {sw, fetch, caches: sw.__harness.caches, clock: sw.__harness.clock, config: evaluate(sw, "CONFIG")};
}

async function navigate(sw, url) {
  const event = fetchEvent(url);
  dispatch(sw, "fetch", event);
  assert.ok(event.responded, `the worker answers ${url}`);
  const response = await event.responded;
  await event.done();
  return response;
}

async function keptPages(caches, name) {
  const cache = await caches.open(name);
  return (await cache.keys()).map((r) => new URL(r.url).pathname + new URL(r.url).search);
}

test("a public page is answered from the network and a copy kept, without its cookies or validators", async () => {
  const {sw, caches, clock, config} = worker({
    "GET /s/12": html(PAGE, 200, {"Set-Cookie": "session=secret", "ETag": "\"abc\"", "Cache-Control": "no-cache"}),
  });
  const response = await navigate(sw, "/s/12");
  assert.equal(response.status, 200);
  assert.equal(await response.text(), PAGE);
  const copy = await (await caches.open(config.pagesCache)).match(ORIGIN + "/s/12");
  assert.ok(copy, "the stop page is kept");
  assert.equal(copy.headers.get("X-Saved-At"), String(clock.now));
  assert.equal(decodeURIComponent(copy.headers.get("X-Saved-Title")), "Moisling & Buntekuh · Digitalwerkstatt-Bus");
  assert.equal(copy.headers.get("Set-Cookie"), null);
  assert.equal(copy.headers.get("ETag"), null);
});

test("only the public pages are kept, and never an answer that says no-store, redirects or is no page", async () => {
  const {sw, caches, config} = worker({
    "GET /": html(PAGE),
    "GET /d/moisling": html(PAGE),
    "GET /t/hGq3w-_Y1pQ9": html(PAGE),
    "GET /admin": html(PAGE),
    "GET /staff/": html(PAGE),
    "GET /s/1": html(PAGE, 200, {"Cache-Control": "private, no-store"}),
    "GET /s/2": redirected(html(PAGE), "/s/3"),
    "GET /s/4": json({not: "a page"}),
    "GET /s/5": html("gone", 404),
  });
  for (const path of ["/", "/d/moisling", "/t/hGq3w-_Y1pQ9", "/admin", "/staff/", "/s/1", "/s/2", "/s/4", "/s/5"]) {
    await navigate(sw, path);
  }
  assert.deepEqual((await keptPages(caches, config.pagesCache)).sort(), ["/", "/d/moisling", "/t/hGq3w-_Y1pQ9"]);
});

test("without network a kept page is shown as a saved copy that says when it was saved", async () => {
  const routes = {"GET /d/moisling": html(PAGE)};
  const {sw, clock} = worker(routes);
  await navigate(sw, "/d/moisling");
  const savedAt = clock.now;
  clock.advance(3 * 3600 * 1000);
  delete routes["GET /d/moisling"];  // the network is gone
  const response = await navigate(sw, "/d/moisling");
  assert.equal(response.status, 200);
  const body = await response.text();
  assert.match(body, new RegExp(`<body data-saved-at="${savedAt}" class="page">`));
});

test("a server in trouble (5xx) is no better than none: the saved copy is shown, else the error", async () => {
  const routes = {"GET /s/7": html(PAGE)};
  const {sw} = worker(routes);
  await navigate(sw, "/s/7");
  routes["GET /s/7"] = html("database away", 503);
  assert.match(await (await navigate(sw, "/s/7")).text(), /data-saved-at=/);
  routes["GET /s/8"] = html("database away", 503);
  const response = await navigate(sw, "/s/8");
  assert.equal(response.status, 503);
  assert.equal(await response.text(), "database away");
});

test("a page never opened before shows the offline page in the language the visitor last used", async () => {
  const {sw, caches, config} = worker();
  const statics = await caches.open("dwb-static-" + config.version);
  for (const [tag, url] of Object.entries(config.offline)) await statics.put(url, html(`offline in ${tag}`));
  assert.equal(await (await navigate(sw, "/s/99")).text(), `offline in ${config.defaultLang}`);
  await sw.Outbox.setMeta("lang", "uk");
  assert.equal(await (await navigate(sw, "/s/99")).text(), "offline in uk");
  await sw.Outbox.setMeta("lang", "xx");
  assert.equal(await (await navigate(sw, "/s/99")).text(), `offline in ${config.defaultLang}`);
});

test("a phone set to English that never opened a page here gets the English offline page", async () => {
  const {sw, caches, config} = worker();
  const statics = await caches.open("dwb-static-" + config.version);
  for (const [tag, url] of Object.entries(config.offline)) await statics.put(url, html(`offline in ${tag}`));
  sw.navigator.languages = ["en-GB", "en"];
  assert.equal(await (await navigate(sw, "/s/99")).text(), "offline in en");
  // A language asked for in the address comes first, then the one last used here, then the phone's.
  assert.equal(await (await navigate(sw, "/s/99?lang=ar")).text(), "offline in ar");
  await sw.Outbox.setMeta("lang", "uk");
  assert.equal(await (await navigate(sw, "/s/99")).text(), "offline in uk");
});

test("at most 60 pages are kept: the oldest go first, tickets last", async () => {
  const {sw, caches, clock, config} = worker({"*": () => html(PAGE)});
  await navigate(sw, "/t/oldest-ticket");
  for (let i = 1; i <= 60; i++) {
    clock.advance(1000);
    await navigate(sw, `/s/${i}`);
  }
  const kept = await keptPages(caches, config.pagesCache);
  assert.equal(kept.length, 60);
  assert.ok(kept.includes("/t/oldest-ticket"), "the ticket stays although it is the oldest");
  assert.ok(!kept.includes("/s/1"), "the oldest stop page went");
  assert.ok(kept.includes("/s/2") && kept.includes("/s/60"));
});

test("a phone without staff pages stores no staff file on install", async () => {
  const {sw, caches, config} = worker({"*": () => new Response("file", {status: 200})});
  const install = {waits: [], waitUntil(p) { this.waits.push(p); }};
  dispatch(sw, "install", install);
  await Promise.all(install.waits);
  const statics = await keptPages(caches, "dwb-static-" + config.version);
  assert.deepEqual(statics.sort(), [...config.precache, ...Object.values(config.offline)].sort());
  assert.ok(config.staffPrecache.some((u) => u.startsWith("/static/js/checkin.js?v=")));
  assert.ok(config.staffPrecache.every((u) => !statics.includes(u)));
});

test("install stores every precached file and the offline pages; activate removes old releases only", async () => {
  const {sw, caches, fetch, config} = worker({"*": () => new Response("file", {status: 200})});
  await caches.open("dwb-static-0123456789abcdef");
  await caches.open(config.pagesCache);
  await caches.open(config.staffCachePrefix + "a".repeat(32));
  await caches.open("another-app");
  const install = {waits: [], waitUntil(p) { this.waits.push(p); }};
  dispatch(sw, "install", install);
  await Promise.all(install.waits);
  const statics = await keptPages(caches, "dwb-static-" + config.version);
  // A device that keeps staff pages (a prepared tablet) stores the staff pages' files with every release too.
  assert.deepEqual(statics.sort(),
    [...config.precache, ...config.staffPrecache, ...Object.values(config.offline)].sort());
  assert.ok(config.precache.length > 5 && fetch.calls.length >= config.precache.length);

  const activate = {waits: [], waitUntil(p) { this.waits.push(p); }};
  dispatch(sw, "activate", activate);
  await Promise.all(activate.waits);
  assert.deepEqual((await caches.keys()).sort(), [
    "another-app", "dwb-static-" + config.version, config.pagesCache, config.staffCachePrefix + "a".repeat(32),
  ].sort());
});

test("a static file comes from the cache; offline, an older release's copy beats none", async () => {
  const routes = {};
  const {sw, caches, config} = worker(routes);
  const file = config.precache.find((u) => u.startsWith("/static/css/"));
  await (await caches.open("dwb-static-old")).put(file.replace(/\?v=.*/, "?v=0000"), new Response("old css"));
  const event = fetchEvent(file, {mode: "no-cors"});
  dispatch(sw, "fetch", event);
  assert.equal(await (await event.responded).text(), "old css");
  routes[`GET ${file.split("?")[0]}`] = new Response("new css");
  const online = fetchEvent(file, {mode: "no-cors"});
  dispatch(sw, "fetch", online);
  assert.equal(await (await online.responded).text(), "new css");
  const again = fetchEvent(file, {mode: "no-cors"});
  delete routes[`GET ${file.split("?")[0]}`];
  dispatch(sw, "fetch", again);
  assert.equal(await (await again.responded).text(), "new css", "the versioned file is kept once fetched");
});

test("requests the worker leaves alone: other hosts, posts, htmx fragments", async () => {
  const {sw} = worker();
  for (const [url, options] of [
    ["https://tiles.example/1.png", {mode: "no-cors"}],
    ["/workshops/7/book", {method: "POST"}],
    ["/s/7/workshops", {mode: "cors"}],
  ]) {
    const event = fetchEvent(url, options);
    dispatch(sw, "fetch", event);
    assert.equal(event.responded, null, url);
  }
});

test("'keep' messages keep public pages of this site and nothing else", async () => {
  const {sw, caches, config} = worker({"*": () => html(PAGE)});
  for (const url of ["/t/new-ticket", "/admin/people", "https://evil.example/t/x"]) {
    const message = {data: {type: "keep", url}, ports: [], waits: [], waitUntil(p) { this.waits.push(p); }};
    dispatch(sw, "message", message);
    await Promise.all(message.waits);
  }
  assert.deepEqual(await keptPages(caches, config.pagesCache), ["/t/new-ticket"]);
});

test("title entities are read back as text", () => {
  const {sw} = worker();
  assert.equal(sw.unescapeHtml("Caf&#233; &amp; Kiosk &#x2013; &quot;B&quot; &lt;3&gt;"), "Café & Kiosk – \"B\" <3>");
  assert.equal(sw.unescapeHtml("&amp;lt;"), "&lt;", "decoded once, not twice");
});

// --- staff copies of a prepared tablet -----------------------------------------------------------------------

const KEY = "0123456789abcdef0123";

function staffPage(text, {key = KEY, until} = {}) {
  return html(`<html><body class="staff">${text}</body></html>`, 200,
    {"X-Staff-Copy": `${key} ${until}`, "Cache-Control": "no-store"});
}

function message(data) {
  const replies = [];
  return {
    data, replies, waits: [],
    ports: [{postMessage: (m) => replies.push(m)}],
    waitUntil(p) { this.waits.push(p); },
  };
}

async function keepStaff(sw, urls) {
  const m = message({type: "keep-staff", urls});
  dispatch(sw, "message", m);
  await Promise.all(m.waits);
  return plain(m.replies[0]);
}

test("a prepared tablet keeps the day's staff pages under the signed-in person's key, until the sign-in ends", async () => {
  const clock = new Clock();
  const until = clock.now + 8 * 3600 * 1000;
  const routes = {
    "GET /staff/": staffPage("today", {until}),
    "GET /staff/workshops/4": staffPage("door list", {until}),
  };
  const {sw, caches, config} = worker(routes, {clock});
  const answer = await keepStaff(sw, ["/staff/", "/staff/workshops/4", "/admin/people", "https://evil.example/staff/"]);
  assert.deepEqual(answer, {ok: true, at: clock.now, count: 2});
  assert.deepEqual(await caches.keys(), [config.staffCachePrefix + KEY]);

  // Offline, the copy opens and says how old it is.
  delete routes["GET /staff/workshops/4"];
  clock.advance(3600 * 1000);
  const copy = await navigate(sw, "/staff/workshops/4");
  assert.match(await copy.text(), new RegExp(`<body data-staff-saved-at="${clock.now - 3600 * 1000}" class="staff">`));

  // Past the end of the sign-in it is gone, and the offline page is shown instead.
  clock.set(until + 1);
  const late = await navigate(sw, "/staff/workshops/4");
  assert.doesNotMatch(await late.text(), /door list/);
  assert.deepEqual(await caches.keys(), []);
});

test("keeping staff pages is all or nothing: one page not made for the person leaves the old copies as they were", async () => {
  const clock = new Clock();
  const until = clock.now + 3600 * 1000;
  const routes = {"GET /staff/": staffPage("today", {until}), "GET /staff/workshops/4": staffPage("door", {until})};
  const {sw, caches, config} = worker(routes, {clock});
  assert.equal((await keepStaff(sw, ["/staff/", "/staff/workshops/4"])).ok, true);
  routes["GET /staff/workshops/4"] = html("<html><body>no mark</body></html>");
  routes["GET /staff/workshops/5"] = staffPage("other door", {until});
  assert.deepEqual(await keepStaff(sw, ["/staff/", "/staff/workshops/5", "/staff/workshops/4"]), {ok: false});
  assert.deepEqual(await keptPages(caches, config.staffCachePrefix + KEY), ["/staff/", "/staff/workshops/4"]);
  // Pages answered for someone else (a new sign-in while they were fetched) are not mixed in either.
  routes["GET /staff/workshops/4"] = staffPage("door", {until, key: "f".repeat(20)});
  assert.deepEqual(await keepStaff(sw, ["/staff/", "/staff/workshops/4"]), {ok: false});
  assert.deepEqual(await caches.keys(), [config.staffCachePrefix + KEY]);
});

test("the staff copies go when someone signs in or out here, or the server says nobody is signed in", async () => {
  const clock = new Clock();
  const until = clock.now + 3600 * 1000;
  const routes = {"GET /staff/": staffPage("today", {until})};
  const {sw, caches, config} = worker(routes, {clock});
  const keep = async () => assert.equal((await keepStaff(sw, ["/staff/"])).ok, true);

  await keep();
  const signin = fetchEvent(config.signPaths[0], {method: "POST"});
  dispatch(sw, "fetch", signin);
  await signin.done();
  assert.deepEqual(await caches.keys(), [], "sign-in");

  await keep();
  routes["GET /staff/"] = redirected(html("sign in"), "/signin?next=/staff/");
  await navigate(sw, "/staff/");
  assert.deepEqual(await caches.keys(), [], "redirected to sign-in");

  routes["GET /staff/"] = staffPage("today", {until});
  await keep();
  routes["GET /staff/"] = staffPage("today, someone else", {until, key: "e".repeat(20)});
  await navigate(sw, "/staff/");
  assert.deepEqual(await caches.keys(), [], "another person's answer");
  assert.deepEqual(config.signPaths.length, 2);
});

// --- the outbox on `sync` ------------------------------------------------------------------------------------

test("Background Sync sends the outbox, and asks the browser to try again while items wait", async () => {
  const indexedDB = new FakeIndexedDB();
  const routes = {};
  const {sw} = worker(routes, {indexedDB});
  await sw.Outbox.add({
    key: "k1", kind: "feedback", action: "/f/3", fields: [["idempotency_key", "k1"], ["rating", "5"]], page: "",
  });
  const first = {tag: sw.Outbox.SYNC_TAG, waits: [], waitUntil(p) { this.waits.push(p); }};
  dispatch(sw, "sync", first);
  await assert.rejects(first.waits[0], /still waiting/);

  routes["POST /f/3"] = json({ok: true, state: "thanks"});
  sw.__harness.clock.advance(60 * 1000);  // past the pause after the first try
  const second = {tag: sw.Outbox.SYNC_TAG, waits: [], waitUntil(p) { this.waits.push(p); }};
  dispatch(sw, "sync", second);
  await second.waits[0];
  assert.equal((await sw.Outbox.all())[0].state, "done");

  const other = {tag: "something-else", waits: [], waitUntil(p) { this.waits.push(p); }};
  dispatch(sw, "sync", other);
  assert.equal(other.waits.length, 0);
  await settle();
});

test("the worker is this app's: its config names this app's pages and files", () => {
  const {config} = worker();
  assert.equal(config.outboxScript.split("?")[0], "/static/js/outbox.js");
  assert.deepEqual(Object.keys(config.offline).sort(), Object.keys(appFixtures().strings).sort());
  assert.equal(config.pagesCache, appFixtures().paths.pagesCache);
});

// --- the kill switch ---------------------------------------------------------------------------------------------

test("with the kill switch on, the worker removes this app's caches and itself, keeps the outbox, reloads pages", async () => {
  const indexedDB = new FakeIndexedDB();
  const fetch = fakeFetch({"POST /f/3": json({ok: true})});
  // A phone with the normal worker: pages kept, an answer waiting in the outbox.
  const before = loadServiceWorker({fetch, indexedDB});
  await before.Outbox.add({key: "k1", kind: "feedback", action: "/f/3", fields: [["rating", "5"]], page: ""});

  let unregistered = false;
  const navigated = [];
  const windows = ["/s/1", "/t/abc"].map((path) => ({
    url: ORIGIN + path,
    navigate: async (url) => { navigated.push(new URL(url).pathname); },
  }));
  const retired = loadServiceWorker({
    fetch, indexedDB, file: "templates/pwa/sw_retire.js", source: appFixtures().sw_retire,
    globals: {
      registration: {unregister: async () => { unregistered = true; return true; }},
      clients: {claim: async () => {}, matchAll: async () => windows},
    },
  });
  const caches = retired.__harness.caches;
  for (const name of ["dwb-static-0123456789abcdef", "dwb-pages-1", "dwb-staff-" + "a".repeat(20), "another-app"]) {
    await caches.open(name);
  }
  const install = {waits: [], waitUntil(p) { this.waits.push(p); }};
  dispatch(retired, "install", install);
  await Promise.all(install.waits);
  const activate = {waits: [], waitUntil(p) { this.waits.push(p); }};
  dispatch(retired, "activate", activate);
  await Promise.all(activate.waits);

  assert.deepEqual(await caches.keys(), ["another-app"]);
  assert.equal(unregistered, true);
  assert.deepEqual(navigated, ["/s/1", "/t/abc"]);
  // It answers nothing itself: every request goes to the network.
  assert.equal((retired.__harness.listeners.fetch || []).length, 0);
  // What waits in the outbox stays for the pages to send.
  assert.deepEqual(indexedDB.dump("dwb-outbox", "items").map((i) => [i.key, i.state]), [["k1", "waiting"]]);
});
