// The offline outbox (static/js/outbox.js): bookings and feedback kept on the phone until the server has answered,
// each sent exactly once, oldest first; what is kept and what is dropped once answered.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const {
  ORIGIN, Clock, FakeIndexedDB, FakeLocks, fakeFetch, html, json, loadScripts, plain, settle,
} = require("./harness");

const BOOK = "/workshops/7/book";

function outbox(options = {}) {
  const context = loadScripts("static/js/outbox.js", {url: ORIGIN + "/workshops/7/book", ...options});
  return {context, Outbox: context.Outbox, clock: context.__harness.clock, fetch: context.__harness.fetch};
}

function item(key, extra = {}) {
  return {
    key,
    kind: "booking",
    action: BOOK,
    fields: [["csrf_token", "old-token"], ["idempotency_key", key], ["name", "Erika Muster"], ["party_size", "2"]],
    title: "Video calls",
    summary: "Seats: 2",
    page: ORIGIN + BOOK,
    ...extra,
  };
}

function confirmed(call) {
  const key = new URLSearchParams(call.body).get("idempotency_key");
  return json({ok: true, state: "confirmed", url: `/t/ticket-${key}`, message: "Booked"});
}

function sentKeys(fetchImpl) {
  return fetchImpl.calls.filter((c) => c.method === "POST").map((c) => new URLSearchParams(c.body).get("idempotency_key"));
}

test("items are listed and sent in the order they were made, not in key order", async () => {
  const {Outbox, clock, fetch} = outbox({fetch: fakeFetch({[`POST ${BOOK}`]: confirmed})});
  await Outbox.add(item("zz-first"));
  clock.advance(1000);
  await Outbox.add(item("aa-second"));
  clock.advance(1000);
  await Outbox.add(item("mm-third"));
  assert.deepEqual((await Outbox.all()).map((i) => i.key), ["zz-first", "aa-second", "mm-third"]);

  const report = await Outbox.flush();
  assert.deepEqual(plain(report), {sent: 3, retry: false, busy: false});
  assert.deepEqual(sentKeys(fetch), ["zz-first", "aa-second", "mm-third"]);
});

test("a queued item is sent as the form was filled in, marked as a replay and asking for JSON", async () => {
  const {Outbox, fetch} = outbox({fetch: fakeFetch({[`POST ${BOOK}`]: confirmed})});
  await Outbox.add(item("k1"));
  await Outbox.flush();
  assert.equal(fetch.calls.length, 1);
  const call = fetch.calls[0];
  assert.equal(call.url, ORIGIN + BOOK);
  assert.deepEqual([...new URLSearchParams(call.body)], item("k1").fields);
  assert.equal(call.headers["X-Outbox"], "1");
  assert.equal(call.headers.Accept, "application/json");
});

test("the second submit of the same form is refused and leaves the first as it was", async () => {
  const {Outbox} = outbox();
  await Outbox.add(item("same", {summary: "Seats: 2"}));
  await assert.rejects(Outbox.add(item("same", {summary: "Seats: 4"})), {name: "ConstraintError"});
  const items = await Outbox.all();
  assert.equal(items.length, 1);
  assert.equal(items[0].summary, "Seats: 2");
});

test("only forms of this site are kept: the replay carries the person's cookies", async () => {
  const {Outbox} = outbox();
  await assert.rejects(Outbox.add(item("elsewhere", {action: "https://evil.example/book"})), {name: "TypeError"});
  assert.equal((await Outbox.all()).length, 0);
});

test("an answered booking keeps the answer and drops what the person typed", async () => {
  const kept = [];
  const {Outbox} = outbox({fetch: fakeFetch({[`POST ${BOOK}`]: confirmed})});
  Outbox.keepPage = (url) => kept.push(url);
  await Outbox.add(item("k1"));
  await Outbox.flush();
  const [stored] = await Outbox.all();
  assert.equal(stored.state, "done");
  assert.equal(stored.status, 200);
  assert.deepEqual(plain(stored.fields), []);
  assert.equal(stored.result.state, "confirmed");
  assert.equal(stored.result.url, "/t/ticket-k1");
  assert.ok(!JSON.stringify(stored).includes("Erika"), "the name stays on the phone after the answer");
  // The ticket is kept for offline use.
  assert.deepEqual(kept, ["/t/ticket-k1"]);
});

test("an item is sent exactly once when two pages flush at the same moment (Web Locks)", async () => {
  const shared = {indexedDB: new FakeIndexedDB(), locks: new FakeLocks(), clock: new Clock()};
  let answers = 0;
  const server = fakeFetch({
    [`POST ${BOOK}`]: async (call) => {
      answers += 1;
      await settle(5);
      return confirmed(call);
    },
  });
  const a = outbox({...shared, fetch: server});
  const b = outbox({...shared, fetch: server});
  await a.Outbox.add(item("k1"));
  await a.Outbox.add(item("k2"));
  const [ra, rb] = await Promise.all([a.Outbox.flush(), b.Outbox.flush()]);
  assert.deepEqual(sentKeys(server).sort(), ["k1", "k2"]);
  assert.equal(answers, 2);
  assert.equal(ra.sent + rb.sent, 2);
  assert.ok(ra.busy || rb.busy, "the second sender stands back while the first holds the lock");
});

test("an item is sent exactly once when two senders flush without Web Locks (a lease in IndexedDB)", async () => {
  const shared = {indexedDB: new FakeIndexedDB(), clock: new Clock()};
  const server = fakeFetch({
    [`POST ${BOOK}`]: async (call) => {
      await settle(5);
      return confirmed(call);
    },
  });
  const a = outbox({...shared, fetch: server});
  const b = outbox({...shared, fetch: server});
  await a.Outbox.add(item("k1"));
  await a.Outbox.add(item("k2"));
  await a.Outbox.add(item("k3"));
  await Promise.all([a.Outbox.flush(), b.Outbox.flush(), a.Outbox.flush({force: true})]);
  assert.deepEqual(sentKeys(server).sort(), ["k1", "k2", "k3"]);
  // Once all is sent, the lease is given back: the next sender is not told to wait.
  assert.equal(shared.indexedDB.dump("dwb-outbox", "meta").filter((m) => m.k === "send-lease").length, 0);
});

test("without a connection an item stays waiting, with a growing pause, and the rest wait behind it", async () => {
  const {Outbox, clock, fetch} = outbox();  // every request fails: no network
  await Outbox.add(item("k1"));
  clock.advance(10);
  await Outbox.add(item("k2"));
  const report = await Outbox.flush();
  assert.deepEqual(plain(report), {sent: 0, retry: true, busy: false});
  // Only the first was tried: the others would fare no better now.
  assert.deepEqual(sentKeys(fetch), ["k1"]);
  let [first, second] = await Outbox.all();
  assert.equal(first.state, "waiting");
  assert.equal(first.attempts, 1);
  assert.equal(first.last_error, "network");
  assert.equal(first.lease_until, 0);
  assert.deepEqual(plain(first.fields), item("k1").fields, "what was typed is kept until it is sent");
  const pause = first.next_at - clock.now;
  assert.ok(pause >= 4000 && pause <= 6000, `first pause about 5 s, was ${pause}`);
  assert.equal(second.attempts, 0);

  // A normal flush skips the first (its pause has not run out) and tries the second, never tried yet.
  fetch.calls.length = 0;
  await Outbox.flush();
  assert.deepEqual(sentKeys(fetch), ["k2"]);

  // The pause doubles with each failure, up to ten minutes (with a fifth of jitter either way).
  for (let attempt = 2; attempt <= 12; attempt++) {
    clock.advance(13 * 60 * 1000);
    fetch.calls.length = 0;
    await Outbox.flush();
    [first] = await Outbox.all();
    assert.equal(first.attempts, attempt);
    const base = Math.min(600000, 5000 * 2 ** (attempt - 1));
    const wait = first.next_at - clock.now;
    assert.ok(wait >= base * 0.8 && wait <= base * 1.2, `attempt ${attempt}: ${wait} for ${base}`);
  }
});

test("'Send now' sends an item whose pause has not run out", async () => {
  const routes = {};
  const {Outbox, fetch} = outbox({fetch: fakeFetch(routes)});
  await Outbox.add(item("k1"));
  await Outbox.flush();
  routes[`POST ${BOOK}`] = confirmed;
  fetch.calls.length = 0;
  await Outbox.flush();
  assert.deepEqual(sentKeys(fetch), [], "not due yet");
  await Outbox.flush({force: true});
  assert.deepEqual(sentKeys(fetch), ["k1"]);
  assert.equal((await Outbox.all())[0].state, "done");
});

test("a server in trouble keeps the item waiting; Retry-After sets the pause, 429 says busy", async () => {
  const routes = {[`POST ${BOOK}`]: new Response("down", {status: 503, headers: {"Retry-After": "30"}})};
  const {Outbox, clock} = outbox({fetch: fakeFetch(routes)});
  await Outbox.add(item("k1"));
  await Outbox.flush();
  let [stored] = await Outbox.all();
  assert.equal(stored.state, "waiting");
  assert.equal(stored.status, 503);
  assert.equal(stored.last_error, "server");
  assert.equal(stored.next_at, clock.now + 30000);

  routes[`POST ${BOOK}`] = new Response("slow down", {status: 429});
  await Outbox.flush({force: true});
  [stored] = await Outbox.all();
  assert.equal(stored.state, "waiting");
  assert.equal(stored.last_error, "busy");
  assert.equal(stored.attempts, 2);
});

test("an ended sign-in (401) keeps the item waiting, whole, with the server's words, until signed in again", async () => {
  const routes = {[`POST ${BOOK}`]: json({ok: false, error: 401, message: "Please sign in again."}, 401)};
  const {Outbox, fetch} = outbox({fetch: fakeFetch(routes)});
  await Outbox.add(item("k1"));
  const report = await Outbox.flush();
  assert.equal(report.retry, true);
  let [stored] = await Outbox.all();
  assert.equal(stored.state, "waiting");
  assert.equal(stored.last_error, "signin");
  assert.equal(stored.last_message, "Please sign in again.");
  assert.equal(stored.fields.length, 4);

  routes[`POST ${BOOK}`] = confirmed;
  await Outbox.flush({force: true});
  [stored] = await Outbox.all();
  assert.equal(stored.state, "done");
  assert.deepEqual(sentKeys(fetch), ["k1", "k1"]);
});

test("a refusal settles the item for the person to read, with the reason and other workshops", async () => {
  const refusal = {
    ok: false, state: "full", message: "This workshop is full.",
    alternatives: [{title: "Smartphone basics", url: "/workshops/9/book", seats_free: 3}],
  };
  const {Outbox} = outbox({fetch: fakeFetch({[`POST ${BOOK}`]: json(refusal, 409)})});
  await Outbox.add(item("k1"));
  const report = await Outbox.flush();
  assert.equal(report.sent, 1);
  const [stored] = await Outbox.all();
  assert.equal(stored.state, "attention");
  assert.equal(stored.result.http, 409);
  assert.equal(stored.result.ok, false);
  assert.equal(stored.result.message, "This workshop is full.");
  assert.deepEqual(plain(stored.result.alternatives), refusal.alternatives);
});

test("a 2xx that says ok: false is a refusal, not a booking", async () => {
  const {Outbox} = outbox({fetch: fakeFetch({[`POST ${BOOK}`]: json({ok: false, message: "Closed"})})});
  await Outbox.add(item("k1"));
  await Outbox.flush();
  assert.equal((await Outbox.all())[0].state, "attention");
});

test("an expired form token is renewed from the form's page once, and the item sent again with it", async () => {
  let posts = 0;
  const server = fakeFetch({
    [`POST ${BOOK}`]: (call) => {
      posts += 1;
      const token = new URLSearchParams(call.body).get("csrf_token");
      return token === "fresh-token" ? confirmed(call) : json({ok: false}, 400);
    },
    [`GET ${BOOK}`]: html('<form><input type="hidden" name="csrf_token" value="fresh-token"></form>'),
  });
  const {Outbox} = outbox({fetch: server});
  await Outbox.add(item("k1"));
  await Outbox.flush();
  assert.equal(posts, 2);
  const [stored] = await Outbox.all();
  assert.equal(stored.state, "done");
  // The same key both times: the server recognises the replay.
  assert.deepEqual(sentKeys(server), ["k1", "k1"]);
});

test("a token that is refused again after renewal settles the item instead of looping", async () => {
  let posts = 0;
  const server = fakeFetch({
    [`POST ${BOOK}`]: () => {
      posts += 1;
      return json({ok: false, errors: {csrf_token: ["expired"]}}, 422);
    },
    [`GET ${BOOK}`]: html('<input name="csrf_token" value="fresh-token">'),
  });
  const {Outbox} = outbox({fetch: server});
  await Outbox.add(item("k1"));
  await Outbox.flush();
  assert.equal(posts, 2);
  assert.equal((await Outbox.all())[0].state, "attention");
});

test("a waiting item can be neither dismissed nor removed; a settled one can", async () => {
  const routes = {};
  const {Outbox} = outbox({fetch: fakeFetch(routes)});
  await Outbox.add(item("waits"));
  await Outbox.add(item("answered"));
  routes[`POST ${BOOK}`] = (call) => (new URLSearchParams(call.body).get("idempotency_key") === "answered"
    ? confirmed(call) : json({ok: false}, 503));
  // "waits" is first and fails with 503, which stops the round; force again to reach "answered" after it.
  await Outbox.flush({force: true});
  await Outbox.flush({force: true});
  const states = Object.fromEntries((await Outbox.all()).map((i) => [i.key, i.state]));
  assert.deepEqual(states, {waits: "waiting", answered: "done"});

  assert.equal(await Outbox.dismiss("waits"), false);
  assert.equal(await Outbox.removeWhere(() => true), 1);
  assert.deepEqual((await Outbox.all()).map((i) => i.key), ["waits"]);
  assert.equal(await Outbox.dismiss("waits"), false);
});

test("an item claimed by a page that was closed while sending is sent again once its sender is gone", async () => {
  const shared = {indexedDB: new FakeIndexedDB(), clock: new Clock()};
  const first = outbox(shared);
  await first.Outbox.add(item("k1"));
  // A sender took the item and vanished with the answer on its way: its lease stays on the item.
  const leased = shared.indexedDB.databases.get("dwb-outbox").stores.get("items").records.get("k1");
  leased.lease_until = shared.clock.now + 30000;

  // Without Web Locks nobody can tell the sender is gone: the item waits for the lease to run out.
  const noLocks = outbox({...shared, fetch: fakeFetch({[`POST ${BOOK}`]: confirmed})});
  await noLocks.Outbox.flush({force: true});
  assert.deepEqual(sentKeys(noLocks.fetch), []);
  assert.equal(noLocks.Outbox.dueAt((await noLocks.Outbox.all())[0]), shared.clock.now + 30000);

  // With Web Locks, holding the lock proves the old sender is gone; the page looks again within two seconds.
  const withLocks = outbox({...shared, locks: new FakeLocks(), fetch: fakeFetch({[`POST ${BOOK}`]: confirmed})});
  assert.equal(withLocks.Outbox.dueAt((await withLocks.Outbox.all())[0]), shared.clock.now + 2000);
  await withLocks.Outbox.flush();
  assert.deepEqual(sentKeys(withLocks.fetch), ["k1"]);
  assert.equal((await withLocks.Outbox.all())[0].state, "done");
});

test("meta values survive a new page on the same phone", async () => {
  const indexedDB = new FakeIndexedDB();
  await outbox({indexedDB}).Outbox.setMeta("lang", "de-x-ls");
  assert.equal(await outbox({indexedDB}).Outbox.getMeta("lang"), "de-x-ls");
  assert.equal(await outbox({indexedDB}).Outbox.getMeta("nothing"), null);
});

test("a phone whose storage is full says so: add() fails and nothing half-written is left", async () => {
  const indexedDB = new FakeIndexedDB();
  const {Outbox} = outbox({indexedDB});
  await Outbox.open();
  indexedDB.failWrites = "QuotaExceededError";
  await assert.rejects(Outbox.add(item("k1")), {name: "QuotaExceededError"});
  indexedDB.failWrites = null;
  assert.deepEqual(plain(await Outbox.all()), []);
});

test("listeners hear of every change, and one broken listener does not silence the others", async () => {
  const {Outbox} = outbox({fetch: fakeFetch({[`POST ${BOOK}`]: confirmed})});
  let heard = 0;
  Outbox.onChange(() => { throw new Error("broken"); });
  Outbox.onChange(() => { heard += 1; });
  await Outbox.add(item("k1"));
  assert.equal(heard, 1);
  await Outbox.flush();
  assert.equal(heard, 2);
  await Outbox.dismiss("k1");
  assert.equal(heard, 3);
});
