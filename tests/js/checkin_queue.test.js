// The tablet's queue (static/js/checkin.js): what a tablet did offline is queued in order with a sequence number
// and a nonce, sent when the network is back, and only what the server answered leaves the queue. (Whether a
// ticket is accepted offline is decided by the shared decision cases, tested on their own.)
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const {FakeDocument, FakeElement, Clock, fakeFetch, fire, json, loadScripts, plain, settle} = require("./harness");

const KEY = "busapp.staff.";
const HOUR = 3600 * 1000;

function day(clock, extra = {}) {
  return {
    expires_at: new Date(clock.now + 10 * HOUR).toISOString(),
    prepared_at: new Date(clock.now).toISOString(),
    device: {id: 5, last_sequence: 0},
    keys: {},
    stops: [{id: 1}],
    workshops: [{id: 4, starts_at: new Date(clock.now + 2 * HOUR).toISOString(),
      ends_at: new Date(clock.now + 4 * HOUR).toISOString(), share: 2}],
    bookings: [
      {id: 11, code: "ABCD2345", name: "Erika", party_size: 2, workshop_id: 4, status: "confirmed", arrived: 0},
      {id: 12, code: "EFGH6789", name: "Ali", party_size: 1, workshop_id: 4, status: "confirmed", arrived: 0},
    ],
    pages: [],
    // The key for signing queued actions, issued to the person signed in (user 3, as the panel says).
    signing: {id: "3.2026-12-07", key: "c2lnbmluZy1rZXktZm9yLXRlc3Rz", user_id: 3, day: "2026-12-07"},
    ...extra,
  };
}

function panel() {
  const children = ["sync-state", "sync-queue", "sync-day", "sync-problems", "sync-prepare", "sync-now"]
    .map((name) => new FakeElement(name === "sync-problems" ? "ul" : "p", {attrs: {[`data-${name}`]: ""}}));
  return new FakeElement("section", {
    id: "sync",
    dataset: {
      syncUrl: "/staff/sync", dayUrl: "/staff/day", userId: "3",
      textOnline: "Online", textOffline: "Offline", textWaiting: "{num} waiting",
      textPrepared: "Data until {time}.", textFetched: "Fetched {time}.", textPages: "Pages kept.",
      textUnregistered: "Not registered", textUnprepared: "Not prepared",
      textConflict: "checked in on another tablet", textRefused: "Refused:",
      textSeated: "got a seat.", textSeatPending: "waiting for a seat",
      answers: JSON.stringify({valid: "Checked in", seat_pending: "Waiting for a seat, decided online."}),
    },
    children,
  });
}

// A door list page of workshop 4 on a registered tablet with the day prepared, offline unless said otherwise.
function tablet({clock = new Clock(), online = false, routes = {}, storage = null, registerAnew = false} = {}) {
  const document = new FakeDocument({lang: "de", readyState: "complete"});
  document.body.appendChild(panel());
  document.body.appendChild(new FakeElement("div", {id: "list", dataset: {workshopId: "4"}}));
  if (registerAnew) {
    document.body.appendChild(new FakeElement("div", {
      id: "device-credential", dataset: {credential: "cred-new", deviceId: "6", deviceName: "Tablet 2",
        state: "waiting", code: "418 027"},
    }));
  }
  const fetch = fakeFetch(routes);
  const localStorage = storage || {
    [KEY + "device"]: JSON.stringify({credential: "cred-1", id: 5, name: "Tablet 1"}),
    [KEY + "day"]: JSON.stringify(day(clock)),
    [KEY + "sequence"]: "0",
  };
  const context = loadScripts("static/js/checkin.js", {
    clock, fetch, document, localStorage, onLine: online,
    // The script syncs every 30 s; a test sends by hand.
    globals: {setInterval: () => 0},
  });
  fire(document, "DOMContentLoaded");
  return {context, document, fetch, clock, storage: context.__harness.storage};
}

function tap(t, kind, bookingId, nonce, people) {
  const form = new FakeElement("form", {attrs: {"hx-post": "/staff/workshops/4/act"}});
  const nonceInput = new FakeElement("input", {attrs: {name: "nonce", value: nonce}});
  form.appendChild(nonceInput);
  const data = new FormData();
  data.set("kind", kind);
  data.set("booking_id", String(bookingId));
  data.set("nonce", nonce);
  if (people) data.set("people", String(people));
  const event = fire(t.document, "htmx:beforeRequest", {elt: form, requestConfig: {formData: data}});
  return {event, form, nonceInput};
}

function stored(t, name) {
  const value = t.storage.getItem(KEY + name);
  return value === null ? null : JSON.parse(value);
}

test("offline taps are queued in order, numbered one after the other, each with its nonce and time", async () => {
  const t = tablet();
  const first = tap(t, "checkin", 11, "nonce-aaaa-1111");
  await settle();
  assert.equal(first.event.defaultPrevented, true, "offline, the tap is not sent");
  t.clock.advance(60 * 1000);
  tap(t, "checkin", 12, "nonce-bbbb-2222");
  await settle();
  t.clock.advance(60 * 1000);
  tap(t, "undo", 11, "nonce-cccc-3333");
  await settle();
  const queue = stored(t, "queue");
  assert.deepEqual(queue.map((i) => [i.sequence, i.kind, i.booking_id, i.nonce]), [
    [1, "checkin", 11, "nonce-aaaa-1111"],
    [2, "checkin", 12, "nonce-bbbb-2222"],
    [3, "undo", 11, "nonce-cccc-3333"],
  ]);
  assert.deepEqual(queue.map((i) => i.acted_at), [0, 1, 2].map((m) => new Date(t.clock.now - (2 - m) * 60000).toISOString()));
  assert.equal(stored(t, "sequence"), 3);
  // The form's nonce is spent: the next tap on that row is a new action.
  assert.notEqual(first.nonceInput.value, "nonce-aaaa-1111");
  assert.match(first.nonceInput.value, /^[0-9a-f]{32}$/);
  assert.equal(t.document.getElementById("sync").querySelector("[data-sync-queue]").textContent, "3 waiting");
});

test("a second check-in of the same party offline is refused and not queued", async () => {
  const t = tablet();
  tap(t, "checkin", 11, "nonce-aaaa-1111");
  await settle();
  tap(t, "checkin", 11, "nonce-dddd-4444");
  await settle();
  assert.deepEqual(stored(t, "queue").map((i) => i.nonce), ["nonce-aaaa-1111"]);
  assert.equal(stored(t, "sequence"), 1);
});

test("only what the server answered leaves the queue; the rest is sent again, with the same nonce", async () => {
  const answered = [];
  const routes = {
    "POST /staff/sync": (call) => {
      const body = JSON.parse(call.body);
      // The server answers only the first item of each round (as if the rest arrived after it had read the queue).
      const first = body.items[0];
      answered.push(first.nonce);
      return json({results: first ? [{nonce: first.nonce, outcome: "done"}] : [], shares: {4: 2}});
    },
  };
  const t = tablet({routes});
  tap(t, "checkin", 11, "nonce-aaaa-1111");
  tap(t, "checkin", 12, "nonce-bbbb-2222");
  await settle();
  // Each queued action is signed (Web Crypto, off the event loop) before a sync may send it.
  for (let i = 0; i < 400 && !(stored(t, "queue") || []).every((item) => item.sig); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.context.__harness.navigator.onLine = true;
  fire(t.context, "online");
  await settle();
  const sends = t.fetch.calls.filter((c) => c.path === "/staff/sync");
  assert.equal(sends.length, 1);
  const body = JSON.parse(sends[0].body);
  assert.deepEqual(body.items.map((i) => i.sequence), [1, 2]);
  // The body names nobody: each item names its person by its signature.
  assert.equal(body.user_id, undefined);
  assert.deepEqual(body.items.map((i) => i.key), ["3.2026-12-07", "3.2026-12-07"]);
  assert.ok(body.items.every((i) => /^[A-Za-z0-9_-]{43}$/.test(i.sig)));
  assert.equal(sends[0].headers["X-Device-Credential"], "cred-1");
  assert.deepEqual(stored(t, "queue").map((i) => i.nonce), ["nonce-bbbb-2222"]);

  assert.equal(await t.context.BusCheckin.sync(false), true, "all sent at the second round");
  assert.deepEqual(answered, ["nonce-aaaa-1111", "nonce-bbbb-2222"]);
  assert.deepEqual(plain(stored(t, "queue")), []);
});

test("no answer, or an error, keeps the whole queue", async () => {
  const routes = {};
  const t = tablet({routes, online: true});
  t.storage.setItem(KEY + "queue", JSON.stringify([{kind: "checkin", booking_id: 11, workshop_id: 4, nonce: "n-1", sequence: 1}]));
  assert.equal(await t.context.BusCheckin.sync(false), false);
  routes["POST /staff/sync"] = json({error: "busy"}, 503);
  assert.equal(await t.context.BusCheckin.sync(false), false);
  assert.deepEqual(stored(t, "queue").map((i) => i.nonce), ["n-1"]);
});

test("a conflict or a refusal from the server is kept for staff to read, the item leaves the queue", async () => {
  const routes = {
    "POST /staff/sync": json({results: [
      {nonce: "n-1", outcome: "again", conflict: true, booking: {name: "Erika", code: "ABCD2345"}},
      {nonce: "n-2", outcome: "cancelled", message: "Booking cancelled", booking: {code: "EFGH6789"}},
    ]}),
  };
  const t = tablet({routes, online: true});
  t.storage.setItem(KEY + "queue", JSON.stringify([
    {kind: "checkin", booking_id: 11, workshop_id: 4, nonce: "n-1", sequence: 1},
    {kind: "checkin", booking_id: 12, workshop_id: 4, nonce: "n-2", sequence: 2},
  ]));
  assert.equal(await t.context.BusCheckin.sync(false), true);
  assert.deepEqual(stored(t, "problems"), [
    "Erika: checked in on another tablet",
    "Refused: EFGH6789: Booking cancelled",
  ]);
});

test("after preparing the day, numbering goes on from the server's last sequence, never back", async () => {
  const clock = new Clock();
  const routes = {"GET /staff/day": () => json(day(clock, {device: {id: 5, last_sequence: 41}}))};
  const t = tablet({clock, routes, online: true});
  t.storage.setItem(KEY + "sequence", "7");
  await t.context.BusCheckin.prepare();
  assert.equal(stored(t, "sequence"), 41);
  routes["GET /staff/day"] = () => json(day(clock, {device: {id: 5, last_sequence: 12}}));
  t.storage.setItem(KEY + "sequence", "50");
  await t.context.BusCheckin.prepare();
  assert.equal(stored(t, "sequence"), 50);
  t.context.__harness.navigator.onLine = false;
  fire(t.context, "offline");
  tap(t, "checkin", 11, "nonce-eeee-5555");
  await settle();
  assert.equal(stored(t, "queue")[0].sequence, 51);
});

test("a tablet registered anew starts its numbering at one and forgets the old day", async () => {
  const clock = new Clock();
  const storage = {
    [KEY + "device"]: JSON.stringify({credential: "cred-old", id: 5, name: "Tablet 1"}),
    [KEY + "day"]: JSON.stringify(day(clock)),
    [KEY + "sequence"]: "33",
  };
  const t = tablet({clock, storage, registerAnew: true});
  // It waits for a coordinator's approval (the pairing rule) and keeps the code it shows meanwhile.
  assert.deepEqual(stored(t, "device"), {credential: "cred-new", id: 6, name: "Tablet 2", waiting: true, code: "418 027"});
  assert.equal(stored(t, "sequence"), 0);
  assert.equal(stored(t, "day"), null);
});

test("the day's data is dropped when it expires, and the panel says when it was prepared, in Lübeck's time", async () => {
  const clock = new Clock(Date.UTC(2026, 6, 1, 6, 0));  // 08:00 in Lübeck (summer time)
  const t = tablet({clock});
  const line = t.document.getElementById("sync").querySelector("[data-sync-day]").textContent;
  assert.equal(line, "Data until 01.07.26, 18:00. Fetched 01.07.26, 08:00.");
  clock.advance(11 * HOUR);
  assert.equal(await t.context.BusCheckin.decide("ABCD2345", 4).then((r) => r.outcome), "unprepared");
  assert.equal(stored(t, "day"), null);
});

// A walk-in typed into the door list's walk-in form while offline.
function walkIn(t, name, size, nonce) {
  const form = new FakeElement("form", {attrs: {"hx-post": "/staff/workshops/4/walkin"}});
  form.appendChild(new FakeElement("input", {attrs: {name: "name", value: name}}));
  form.appendChild(new FakeElement("input", {attrs: {name: "nonce", value: nonce}}));
  const data = new FormData();
  data.set("name", name);
  data.set("party_size", String(size));
  data.set("nonce", nonce);
  return fire(t.document, "htmx:beforeRequest", {elt: form, requestConfig: {formData: data}});
}

test("offline, a walk-in within the tablet's share is seated; one beyond it waits for a seat and is queued all the same", async () => {
  const t = tablet();
  t.storage.setItem(KEY + "local", JSON.stringify({shareLeft: {4: 2}, taken: {4: true}}));
  walkIn(t, "Ali", 2, "nonce-walk-0001");
  await settle();
  const answer = () => t.document.getElementById("list").querySelector(".door-answer");
  assert.equal(answer().dataset.outcome, "valid");
  assert.equal(stored(t, "local").shareLeft[4], 0);
  walkIn(t, "Bea", 1, "nonce-walk-0002");
  await settle();
  assert.equal(answer().dataset.outcome, "seat_pending");
  assert.ok(answer().classList.contains("flash--warning"));
  assert.equal(answer().textContent, "Bea: Waiting for a seat, decided online.");
  assert.deepEqual(stored(t, "queue").map((i) => [i.kind, i.name, i.party_size, i.seat]),
    [["walkin", "Ali", 2, undefined], ["walkin", "Bea", 1, "pending"]]);
  assert.deepEqual(stored(t, "local").walkins.map((w) => [w.name, w.waiting]), [["Ali", false], ["Bea", true]]);
});

test("at sync a walk-in waiting for a seat is decided, and the volunteer reads what came of it", async () => {
  const routes = {
    "POST /staff/sync": json({shares: {4: 0}, results: [
      {nonce: "w-1", kind: "walkin", outcome: "valid", booking: {name: "Bea", code: "BEA234"}},
      {nonce: "w-2", kind: "walkin", outcome: "waiting", message: "No seat was free: on the waiting list.",
       booking: {name: "Cem", code: "CEM234"}},
    ]}),
  };
  const t = tablet({routes, online: true});
  t.storage.setItem(KEY + "queue", JSON.stringify([
    {kind: "walkin", workshop_id: 4, name: "Bea", party_size: 1, nonce: "w-1", sequence: 1, seat: "pending"},
    {kind: "walkin", workshop_id: 4, name: "Cem", party_size: 1, nonce: "w-2", sequence: 2, seat: "pending"},
  ]));
  assert.equal(await t.context.BusCheckin.sync(false), true);
  assert.deepEqual(plain(stored(t, "problems")), [
    {text: "Bea: got a seat.", ok: true},
    "Cem: No seat was free: on the waiting list.",
  ]);
  const shown = t.document.getElementById("sync").querySelector("[data-sync-problems]").children;
  assert.deepEqual(shown.map((li) => [li.className, li.textContent]), [
    ["flash flash--success", "Bea: got a seat."],
    ["flash flash--warning", "Cem: No seat was free: on the waiting list."],
  ]);
});

test("a share counts once taken: before booking closes the tablet knows of none, the first answer that says it is taken sets it, later ones only lower it", async () => {
  const clock = new Clock();
  let share = {share: 0, share_taken: false};
  const routes = {"GET /staff/day": () => json(day(clock, {workshops: [{id: 4, ...share,
    starts_at: new Date(clock.now + 2 * HOUR).toISOString(), ends_at: new Date(clock.now + 4 * HOUR).toISOString()}]}))};
  const t = tablet({clock, routes, online: true});
  const left = () => stored(t, "local").shareLeft[4];
  await t.context.BusCheckin.prepare();
  assert.equal(left(), 0);
  share = {share: 2, share_taken: true};
  await t.context.BusCheckin.prepare();
  assert.equal(left(), 2);
  share = {share: 3, share_taken: true};  // a crossing or wrong answer never gives more
  await t.context.BusCheckin.prepare();
  assert.equal(left(), 2);
  share = {share: 1, share_taken: true};
  await t.context.BusCheckin.prepare();
  assert.equal(left(), 1);
});
