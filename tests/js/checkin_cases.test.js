// The shared decision cases (tests/cases/checkin.json) against the tablet's offline script (static/js/checkin.js);
// tests/checkin/test_checkin_cases.py runs the same file against the server's rules, so the two cannot drift apart.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const {FakeDocument, FakeElement, Clock, fakeFetch, fire, loadScripts} = require("./harness");

const CASES = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "cases", "checkin.json"), "utf8"));
const HOUR = 3600 * 1000;

// The day of the cases as the server's day data gives it to the tablet.
function dayData(clock) {
  const stopIds = Object.fromEntries(CASES.day.stops.map((key, i) => [key, i + 1]));
  const workshopIds = Object.fromEntries(Object.keys(CASES.day.workshops).map((key, i) => [key, 10 + i]));
  const at = (hours) => new Date(clock.now + hours * HOUR).toISOString();
  return {
    ids: workshopIds,
    data: {
      expires_at: at(10), prepared_at: at(0), device: {id: 5, last_sequence: 0}, keys: {}, pages: [],
      signing: {id: "3.2026-12-07", key: "c2lnbmluZy1rZXktZm9yLXRlc3Rz", user_id: 3, day: "2026-12-07"},
      stops: CASES.day.stops.map((key) => ({id: stopIds[key]})),
      workshops: Object.entries(CASES.day.workshops).map(([key, stop]) => ({
        id: workshopIds[key], stop_id: stopIds[stop], starts_at: at(1), ends_at: at(3), share: 0})),
      bookings: CASES.day.bookings.map((b, i) => ({
        id: 100 + i, code: b.code, name: b.name, party_size: 1, workshop_id: workshopIds[b.workshop],
        status: b.status, arrived: b.arrived, needs_note: ""})),
    },
  };
}

function tablet() {
  const clock = new Clock();
  const day = dayData(clock);
  const document = new FakeDocument({lang: "de", readyState: "complete"});
  const context = loadScripts("static/js/checkin.js", {
    clock, fetch: fakeFetch({}), document, onLine: false, globals: {setInterval: () => 0},
    localStorage: {
      "busapp.staff.device": JSON.stringify({credential: "cred-1", id: 5, name: "Tablet 1"}),
      "busapp.staff.day": JSON.stringify(day.data),
      "busapp.staff.sequence": "0",
    },
  });
  fire(document, "DOMContentLoaded");
  return {checkin: context.BusCheckin, ids: day.ids};
}

for (const c of CASES.decide) {
  test(`offline, ${JSON.stringify(c.input)} at the door of "${c.at}" is ${c.outcome}`, async () => {
    const {checkin, ids} = tablet();
    const result = await checkin.decide(c.input, ids[c.at]);
    assert.equal(result.outcome, c.outcome);
  });
}

for (const c of CASES.search) {
  test(`offline, searching ${JSON.stringify(c.query)} ${c.found ? "finds" : "does not find"} ${c.name}`, () => {
    const {checkin} = tablet();
    const query = checkin.fold(c.query);
    assert.equal(query.length > 0 && checkin.fold(c.name).includes(query), c.found);
  });
}
