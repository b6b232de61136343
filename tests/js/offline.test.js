// The offline script of the pages (static/js/offline.js): sentences in the page's language with the right plural
// form for the number, times in Lübeck's time zone, and the reasons an outbox item shows when it was refused.
// The sentences are the ones the app renders into #pwa-strings for each language (tests/js/app_fixtures.py).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const {FakeDocument, FakeElement, appFixtures, loadScripts} = require("./harness");

// A page in `tag`'s language (Leichte Sprache says lang="de" with data-lang="de-x-ls", as the app renders it).
function page(tag, strings = appFixtures().strings[tag]) {
  const document = new FakeDocument({lang: tag.split("-x-")[0], attrs: {"data-lang": tag}});
  document.head.appendChild(new FakeElement("meta", {id: "pwa-strings", attrs: {content: JSON.stringify(strings)}}));
  const context = loadScripts(["static/js/outbox.js", "static/js/offline.js"], {document});
  context.PwaPage.readStrings();
  return context.PwaPage;
}

function categories(tag) {
  return Object.keys(appFixtures().strings[tag].waiting).sort();
}

test("every language gets one sentence per plural category it uses among whole numbers", () => {
  assert.deepEqual(categories("de"), ["one", "other"]);
  assert.deepEqual(categories("pl"), ["few", "many", "one", "other"]);
  assert.deepEqual(categories("ar"), ["few", "many", "one", "other", "two", "zero"]);
});

test("Polish picks one, few and many by the number, and puts the number in", () => {
  const {t} = page("pl");
  const forms = appFixtures().strings.pl.waiting;
  assert.equal(t("waiting", {n: 1}), forms.one.replace("{n}", "1"));
  assert.equal(t("waiting", {n: 2}), forms.few.replace("{n}", "2"));
  assert.equal(t("waiting", {n: 22}), forms.few.replace("{n}", "22"));
  assert.equal(t("waiting", {n: 5}), forms.many.replace("{n}", "5"));
  assert.equal(t("waiting", {n: 12}), forms.many.replace("{n}", "12"));
  assert.notEqual(forms.few, forms.many, "the catalogue distinguishes them, so the choice above is visible");
});

test("Arabic uses all six forms: no seats, one, two, a few, many, other", () => {
  const {t} = page("ar");
  const forms = appFixtures().strings.ar.seats_free;
  const expected = {0: "zero", 1: "one", 2: "two", 3: "few", 11: "many", 100: "other"};
  for (const [n, form] of Object.entries(expected)) {
    assert.equal(t("seats_free", {n: Number(n)}), forms[form].split("{n}").join(n), `${n} is ${form}`);
  }
  assert.equal(new Set(Object.values(forms)).size, 6, "six different sentences");
});

test("German and Leichte Sprache say one thing for 1 and another for more", () => {
  for (const tag of ["de", "de-x-ls"]) {
    const {t} = page(tag);
    const forms = appFixtures().strings[tag].waiting;
    assert.equal(t("waiting", {n: 1}), forms.one.replace("{n}", "1"), tag);
    assert.equal(t("waiting", {n: 3}), forms.other.replace("{n}", "3"), tag);
  }
  assert.notEqual(appFixtures().strings["de-x-ls"].waiting.other, appFixtures().strings.de.waiting.other);
});

test("a language's missing category falls back to its 'other' sentence, never to nothing", () => {
  const {t} = page("ar", {waiting: {one: "one item", other: "{n} items"}});
  assert.equal(t("waiting", {n: 1}), "one item");
  assert.equal(t("waiting", {n: 2}), "2 items");
  assert.equal(t("unknown"), "");
});

test("every placeholder is filled, however often it appears", () => {
  const {t} = page("en", {store_failed: "Not saved ({reason}); {reason}!"});
  assert.equal(t("store_failed", {reason: "full"}), "Not saved (full); full!");
});

test("times are Lübeck's, in summer and in winter, whatever the phone's own zone", () => {
  const {formatTime} = page("de");
  assert.equal(formatTime(Date.UTC(2026, 6, 1, 10, 0)), "Mittwoch, 1. Juli, 12:00");
  assert.equal(formatTime(Date.UTC(2026, 0, 15, 10, 0)), "Donnerstag, 15. Januar, 11:00");
  // The night the clocks go back, 02:30 comes twice: at 00:30 and at 01:30 UTC.
  assert.equal(formatTime(Date.UTC(2026, 9, 25, 0, 30)), "Sonntag, 25. Oktober, 02:30");
  assert.equal(formatTime(Date.UTC(2026, 9, 25, 1, 30)), "Sonntag, 25. Oktober, 02:30");
});

test("every language writes dates and times exactly as the server does (Gregorian, the server's digits)", () => {
  const {dates} = appFixtures();
  for (const [tag, moments] of Object.entries(dates)) {
    const {formatTime} = page(tag);
    for (const [ms, server] of Object.entries(moments)) {
      assert.equal(formatTime(Number(ms)), server, `${tag} at ${new Date(Number(ms)).toISOString()}`);
    }
  }
  // Not the phone's own calendar: Persian is not written in the Solar Hijri calendar (1405), English uses 24 hours.
  assert.match(page("fa").formatTime(Date.UTC(2026, 6, 1, 10, 0)), /^چهارشنبه 1 ژوئیه/u);
  assert.doesNotMatch(page("ar").formatTime(Date.UTC(2026, 6, 1, 10, 0)), /2026\/|[٠-٩]/u);
  assert.equal(page("en").formatTime(Date.UTC(2026, 6, 1, 12, 30)), "Wednesday, July 1, 14:30");
});

test("a refused item names its reason by the answer's status, and the status when it is not a known one", () => {
  const strings = appFixtures().strings.de;
  const {statusMessage} = page("de");
  assert.equal(statusMessage(409), strings.error_409);
  assert.equal(statusMessage(413), strings.error_413);
  assert.equal(statusMessage(418), strings.error_other.replace("{code}", "418"));
  assert.equal(statusMessage(0), strings.error_other.replace("{code}", "?"));
});

test("a page's own sentences (the station's, the paper cards') get the plural form and the number", () => {
  const document = new FakeDocument({lang: "pl", attrs: {"data-lang": "pl"}});
  const context = loadScripts(["static/js/outbox.js", "static/js/offline.js"], {document});
  const strings = {waiting: {one: "{n} karta", few: "{n} karty", many: "{n} kart", other: "{n} karty*"}, sent: "Gotowe"};
  const station = new FakeElement("div", {attrs: {"data-strings": JSON.stringify(strings)}});
  assert.equal(context.OfflinePage.say(station, "waiting", 1), "1 karta");
  assert.equal(context.OfflinePage.say(station, "waiting", 3), "3 karty");
  assert.equal(context.OfflinePage.say(station, "waiting", 5), "5 kart");
  assert.equal(context.OfflinePage.say(station, "sent", 0), "Gotowe");
  // Unreadable or missing sentences give an empty text, never an error.
  assert.equal(context.OfflinePage.say(new FakeElement("div", {attrs: {"data-strings": "{"}}), "sent", 0), "");
  assert.equal(context.OfflinePage.say(null, "sent", 0), "");
  // Each form gets a key of its own.
  const keys = new Set([context.OfflinePage.newKey(), context.OfflinePage.newKey()]);
  assert.equal(keys.size, 2);
  for (const key of keys) assert.match(key, /^[0-9a-f-]{32,36}$/);
});
