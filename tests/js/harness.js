// Loads the browser scripts of static/js/ (and the service worker of templates/pwa/) into Node for unit tests.
//
// Each load is a fresh `vm` context that plays the browser: `window`/`self` is the context's global object, and
// the parts of the browser a script touches are small fakes given here (document and elements, localStorage,
// IndexedDB, Cache Storage, Web Locks, the clock). The scripts are loaded as they are served, unchanged; what a
// test calls is what the script puts on its global object (window.Outbox, window.BusCheckin, window.PwaPage) or,
// for the service worker, its top-level functions. Nothing here is a copy of the scripts' rules.
//
// Values made inside a context belong to its own realm (its own Object, Array, Promise): compare them with
// plain(value) or assert.deepEqual, not assert.deepStrictEqual on the raw value.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const {execFileSync} = require("node:child_process");

const ROOT = path.resolve(__dirname, "..", "..");
const ORIGIN = "http://127.0.0.1:5000";

// --- small things ---------------------------------------------------------------------------------------------

function tick() {
  return new Promise((resolve) => setImmediate(resolve));
}

// Lets every pending callback, promise and fake-IndexedDB step run (a few rounds of the event loop).
async function settle(rounds = 30) {
  for (let i = 0; i < rounds; i++) await tick();
}

function plain(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function domException(name, message) {
  return new DOMException(message || name, name);
}

// A clock the tests move by hand; the context's Date (now and `new Date()`) reads it.
class Clock {
  constructor(start = Date.UTC(2026, 11, 7, 9, 0, 0)) {
    this.now = start;
  }

  advance(ms) {
    this.now += ms;
    return this.now;
  }

  set(ms) {
    this.now = typeof ms === "number" ? ms : Date.parse(ms);
    return this.now;
  }
}

// --- IndexedDB ---------------------------------------------------------------------------------------------
// Enough of IndexedDB for outbox.js: stores with a keyPath; get, getAll (in key order), add (a second record under
// the same key is a ConstraintError that aborts the transaction), put, delete; transactions that run one after
// the other per database (as readwrite transactions over the same stores do in a browser), commit when no request
// is left, and roll back on an error. Records are stored as structured clones. `failWrites` makes every write
// fail with that error name (e.g. "QuotaExceededError"); `failOpen` makes open() fail.

class FakeRequest {
  constructor(source) {
    this.source = source;
    this.result = undefined;
    this.error = null;
    this.readyState = "pending";
    this.onsuccess = null;
    this.onerror = null;
  }
}

class FakeIndexedDB {
  constructor() {
    this.databases = new Map();
    this.failWrites = null;
    this.failOpen = null;
    this.opened = 0;
  }

  open(name, version = 1) {
    const request = new FakeRequest(null);
    request.onupgradeneeded = null;
    request.onblocked = null;
    setImmediate(() => {
      if (this.failOpen) {
        request.error = domException(this.failOpen);
        request.readyState = "done";
        if (request.onerror) request.onerror({target: request});
        return;
      }
      let data = this.databases.get(name);
      if (!data) {
        data = {version: 0, stores: new Map(), tail: Promise.resolve()};
        this.databases.set(name, data);
      }
      const db = new FakeDatabase(this, name, data);
      request.result = db;
      this.opened += 1;
      if (version > data.version) {
        const oldVersion = data.version;
        data.version = version;
        db._upgrading = true;
        if (request.onupgradeneeded) request.onupgradeneeded({target: request, oldVersion, newVersion: version});
        db._upgrading = false;
      }
      request.readyState = "done";
      if (request.onsuccess) request.onsuccess({target: request});
    });
    return request;
  }

  // The records of a store, in key order (plain objects of this realm), for assertions.
  dump(dbName, store) {
    const data = this.databases.get(dbName);
    if (!data || !data.stores.has(store)) return [];
    return [...data.stores.get(store).records.entries()].sort(byKey).map(([, v]) => structuredClone(v));
  }
}

function byKey(a, b) {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

class FakeDatabase {
  constructor(factory, name, data) {
    this.factory = factory;
    this.name = name;
    this.data = data;
    this.closed = false;
    this.onversionchange = null;
    this.onclose = null;
    this._upgrading = false;
    const stores = data.stores;
    this.objectStoreNames = {
      contains: (n) => stores.has(n),
      get length() {
        return stores.size;
      },
    };
  }

  createObjectStore(name, options = {}) {
    if (!this._upgrading) throw domException("InvalidStateError", "createObjectStore outside an upgrade");
    if (this.data.stores.has(name)) throw domException("ConstraintError", `store ${name} exists`);
    this.data.stores.set(name, {keyPath: options.keyPath, records: new Map()});
    return {name};
  }

  transaction(names, mode = "readonly") {
    if (this.closed) throw domException("InvalidStateError", "the database connection is closed");
    const list = [].concat(names);
    for (const n of list) {
      if (!this.data.stores.has(n)) throw domException("NotFoundError", `no store ${n}`);
    }
    return new FakeTransaction(this, list, mode);
  }

  close() {
    this.closed = true;
  }
}

class FakeTransaction {
  constructor(db, names, mode) {
    this.db = db;
    this.names = names;
    this.mode = mode;
    this.ops = [];
    this.error = null;
    this.oncomplete = null;
    this.onabort = null;
    this.onerror = null;
    this.finished = false;
    const data = db.data;
    data.tail = data.tail.then(() => this._run());
  }

  objectStore(name) {
    if (!this.names.includes(name)) throw domException("NotFoundError", `store ${name} is not in this transaction`);
    return new FakeObjectStore(this, name);
  }

  _request(work, write) {
    if (this.finished) throw domException("TransactionInactiveError", "the transaction has finished");
    if (write && this.mode !== "readwrite") throw domException("ReadOnlyError", "a write in a readonly transaction");
    const request = new FakeRequest(this);
    this.ops.push({request, work, write});
    return request;
  }

  async _run() {
    const stores = this.db.data.stores;
    const snapshot = new Map(this.names.map((n) => [n, new Map(stores.get(n).records)]));
    await tick();
    for (;;) {
      const op = this.ops.shift();
      if (!op) {
        await tick();
        if (this.ops.length) continue;
        break;
      }
      const request = op.request;
      try {
        if (op.write && this.db.factory.failWrites) throw domException(this.db.factory.failWrites);
        request.result = op.work();
      } catch (err) {
        request.error = err;
        request.readyState = "done";
        let prevented = false;
        if (request.onerror) request.onerror({target: request, preventDefault: () => { prevented = true; }});
        if (!prevented) return this._abort(err, snapshot);
        continue;
      }
      request.readyState = "done";
      try {
        if (request.onsuccess) request.onsuccess({target: request});
      } catch (err) {
        return this._abort(err, snapshot);
      }
      await tick();
    }
    this.finished = true;
    if (this.oncomplete) this.oncomplete({target: this});
  }

  _abort(err, snapshot) {
    const stores = this.db.data.stores;
    for (const [n, records] of snapshot) stores.get(n).records = records;
    this.finished = true;
    this.error = err;
    if (this.onerror) this.onerror({target: this});
    if (this.onabort) this.onabort({target: this});
  }
}

class FakeObjectStore {
  constructor(tx, name) {
    this.tx = tx;
    this.name = name;
  }

  get _store() {
    return this.tx.db.data.stores.get(this.name);
  }

  _key(record) {
    const key = record[this._store.keyPath];
    if (key === undefined) throw domException("DataError", "the record has no key");
    return key;
  }

  get(key) {
    return this.tx._request(() => {
      const value = this._store.records.get(key);
      return value === undefined ? undefined : structuredClone(value);
    }, false);
  }

  getAll() {
    return this.tx._request(() => [...this._store.records.entries()].sort(byKey).map(([, v]) => structuredClone(v)),
      false);
  }

  add(record) {
    const copy = structuredClone(record);
    return this.tx._request(() => {
      const key = this._key(copy);
      if (this._store.records.has(key)) throw domException("ConstraintError", `key ${key} exists`);
      this._store.records.set(key, copy);
      return key;
    }, true);
  }

  put(record) {
    const copy = structuredClone(record);
    return this.tx._request(() => {
      const key = this._key(copy);
      this._store.records.set(key, copy);
      return key;
    }, true);
  }

  delete(key) {
    return this.tx._request(() => {
      this._store.records.delete(key);
    }, true);
  }
}

// --- Web Locks ---------------------------------------------------------------------------------------------
// navigator.locks.request(name, {ifAvailable}, fn): fn gets null when the lock is held (ifAvailable), else waits.
// Shared by the contexts a test gives the same FakeLocks, as tabs of one browser share theirs.

class FakeLocks {
  constructor() {
    this.held = new Map();
  }

  async request(name, options, work) {
    if (typeof options === "function") {
      work = options;
      options = {};
    }
    if (this.held.has(name)) {
      if (options.ifAvailable) return work(null);
      while (this.held.has(name)) await this.held.get(name);
    }
    let release;
    this.held.set(name, new Promise((resolve) => { release = resolve; }));
    try {
      return await work({name});
    } finally {
      this.held.delete(name);
      release();
    }
  }
}

// --- Storage ---------------------------------------------------------------------------------------------------

class FakeStorage {
  constructor(initial = {}) {
    this.map = new Map(Object.entries(initial));
  }

  getItem(k) {
    return this.map.has(String(k)) ? this.map.get(String(k)) : null;
  }

  setItem(k, v) {
    this.map.set(String(k), String(v));
  }

  removeItem(k) {
    this.map.delete(String(k));
  }

  clear() {
    this.map.clear();
  }

  key(i) {
    return [...this.map.keys()][i] ?? null;
  }

  get length() {
    return this.map.size;
  }
}

// --- Cache Storage -------------------------------------------------------------------------------------------
// caches.open/has/keys/delete/match and Cache match/put/delete/keys with Node's own Request and Response. Matching
// is by URL; `ignoreSearch` drops the query string. Stored responses are kept as read, and handed out as clones.

class FakeCache {
  constructor() {
    this.entries = new Map();
  }

  static url(request, ignoreSearch) {
    const url = new URL(typeof request === "string" ? request : request.url, ORIGIN);
    if (ignoreSearch) url.search = "";
    return url.href;
  }

  async match(request, options = {}) {
    const wanted = FakeCache.url(request, options.ignoreSearch);
    for (const [url, response] of this.entries) {
      if (FakeCache.url(url, options.ignoreSearch) === wanted) return response.clone();
    }
    return undefined;
  }

  async put(request, response) {
    this.entries.set(FakeCache.url(request), response.clone());
  }

  async add(request) {
    const response = await this.fetch(FakeCache.url(request));
    if (!response.ok) throw new TypeError(`${response.status} for ${FakeCache.url(request)}`);
    await this.put(request, response);
  }

  async addAll(requests) {
    for (const r of requests) await this.add(r);
  }

  async delete(request) {
    return this.entries.delete(FakeCache.url(request));
  }

  async keys() {
    return [...this.entries.keys()].map((url) => new Request(url));
  }
}

class FakeCacheStorage {
  constructor(fetchImpl) {
    this.caches = new Map();
    this.fetch = fetchImpl;
  }

  async open(name) {
    if (!this.caches.has(name)) {
      const cache = new FakeCache();
      cache.fetch = (...args) => this.fetch(...args);
      this.caches.set(name, cache);
    }
    return this.caches.get(name);
  }

  async has(name) {
    return this.caches.has(name);
  }

  async delete(name) {
    return this.caches.delete(name);
  }

  async keys() {
    return [...this.caches.keys()];
  }

  async match(request, options) {
    for (const cache of this.caches.values()) {
      const hit = await cache.match(request, options);
      if (hit) return hit;
    }
    return undefined;
  }
}

// --- Documents and elements ---------------------------------------------------------------------------------------
// A small element: attributes, dataset, classList, children, listeners, textContent, and querySelector(All) for
// simple selectors (tag, #id, .class, [attr], [attr=value], compounds of these, descendants, comma lists).

class FakeElement {
  constructor(tag = "div", {id, attrs = {}, dataset = {}, text = "", children = []} = {}) {
    this.tagName = tag.toUpperCase();
    this.attributes = new Map(Object.entries(attrs));
    if (id) this.attributes.set("id", id);
    this.dataset = {...dataset};
    this.children = [];
    this.parentNode = null;
    this.listeners = {};
    this.hidden = false;
    this.disabled = false;
    this.value = attrs.value ?? "";
    this._text = text;
    const classes = new Set(String(attrs.class || "").split(/\s+/).filter(Boolean));
    const self = this;
    this.classList = {
      add: (...c) => c.forEach((x) => classes.add(x)),
      remove: (...c) => c.forEach((x) => classes.delete(x)),
      contains: (c) => classes.has(c),
      toggle(c, force) {
        const on = force === undefined ? !classes.has(c) : !!force;
        if (on) classes.add(c);
        else classes.delete(c);
        return on;
      },
      get value() {
        return [...classes].join(" ");
      },
    };
    Object.defineProperty(this, "className", {
      get: () => [...classes].join(" "),
      set: (v) => {
        classes.clear();
        String(v).split(/\s+/).filter(Boolean).forEach((c) => classes.add(c));
      },
    });
    children.forEach((c) => self.appendChild(c));
  }

  get id() {
    return this.attributes.get("id") || "";
  }

  get lang() {
    return this.getAttribute("lang") || "";
  }

  set id(v) {
    this.attributes.set("id", String(v));
  }

  getAttribute(name) {
    if (name === "class") return this.className || null;
    if (name.startsWith("data-")) {
      const key = name.slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
      if (key in this.dataset) return String(this.dataset[key]);
    }
    return this.attributes.has(name) ? String(this.attributes.get(name)) : null;
  }

  setAttribute(name, value) {
    if (name === "class") this.className = value;
    else if (name.startsWith("data-")) this.dataset[name.slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = String(value);
    else this.attributes.set(name, String(value));
  }

  hasAttribute(name) {
    return this.getAttribute(name) !== null;
  }

  removeAttribute(name) {
    if (name.startsWith("data-")) delete this.dataset[name.slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase())];
    this.attributes.delete(name);
  }

  get textContent() {
    return this._text + this.children.map((c) => c.textContent).join("");
  }

  set textContent(v) {
    this._text = v === null || v === undefined ? "" : String(v);
    this.children.forEach((c) => { c.parentNode = null; });
    this.children = [];
  }

  appendChild(child) {
    if (child.parentNode) child.remove();
    child.parentNode = this;
    this.children.push(child);
    return child;
  }

  insertBefore(child, before) {
    if (child.parentNode) child.remove();
    const i = before ? this.children.indexOf(before) : -1;
    child.parentNode = this;
    if (i < 0) this.children.push(child);
    else this.children.splice(i, 0, child);
    return child;
  }

  remove() {
    if (!this.parentNode) return;
    const siblings = this.parentNode.children;
    siblings.splice(siblings.indexOf(this), 1);
    this.parentNode = null;
  }

  replaceChildren(...nodes) {
    this.textContent = "";
    nodes.forEach((n) => this.appendChild(n));
  }

  get firstChild() {
    return this.children[0] || null;
  }

  addEventListener(type, fn) {
    (this.listeners[type] = this.listeners[type] || []).push(fn);
  }

  removeEventListener(type, fn) {
    this.listeners[type] = (this.listeners[type] || []).filter((f) => f !== fn);
  }

  dispatchEvent(event) {
    (this.listeners[event.type] || []).slice().forEach((fn) => fn.call(this, event));
    return !event.defaultPrevented;
  }

  focus() {}

  matches(selector) {
    return selector.split(",").some((s) => matchesChain(this, s.trim().split(/\s+/)));
  }

  closest(selector) {
    for (let node = this; node && node.matches; node = node.parentNode) if (node.matches(selector)) return node;
    return null;
  }

  *descendants() {
    for (const child of this.children) {
      yield child;
      yield* child.descendants();
    }
  }

  querySelectorAll(selector) {
    const found = [];
    for (const node of this.descendants()) if (node.matches(selector)) found.push(node);
    return found;
  }

  querySelector(selector) {
    return this.querySelectorAll(selector)[0] || null;
  }
}

function matchesSimple(el, simple) {
  const parts = simple.match(/(^[a-zA-Z][\w-]*)|(#[\w-]+)|(\.[\w-]+)|(\[[^\]]+\])/g);
  if (!parts || parts.join("") !== simple) return false;
  return parts.every((p) => {
    if (p[0] === "#") return el.id === p.slice(1);
    if (p[0] === ".") return el.classList.contains(p.slice(1));
    if (p[0] === "[") {
      const m = /^\[([\w-]+)(?:=["']?([^"'\]]*)["']?)?\]$/.exec(p);
      if (!m) return false;
      const value = el.getAttribute(m[1]);
      return m[2] === undefined ? value !== null : value === m[2];
    }
    return el.tagName === p.toUpperCase();
  });
}

function matchesChain(el, chain) {
  if (!matchesSimple(el, chain[chain.length - 1])) return false;
  if (chain.length === 1) return true;
  for (let node = el.parentNode; node && node.tagName; node = node.parentNode) {
    if (matchesChain(node, chain.slice(0, -1))) return true;
  }
  return false;
}

class FakeDocument extends FakeElement {
  constructor({lang = "de", readyState = "loading", attrs = {}, timezone = "Europe/Berlin"} = {}) {
    super("#document");
    this.readyState = readyState;
    this.documentElement = new FakeElement("html", {attrs: {lang, ...attrs}});
    this.head = new FakeElement("head");
    // base.html writes the TIMEZONE setting on <body data-timezone>; the scripts read it from there.
    this.body = new FakeElement("body", {dataset: {timezone}});
    this.documentElement.appendChild(this.head);
    this.documentElement.appendChild(this.body);
    this.appendChild(this.documentElement);
    this.title = "";
  }

  getElementById(id) {
    for (const node of this.descendants()) if (node.id === id) return node;
    return null;
  }

  createElement(tag) {
    return new FakeElement(tag);
  }

  createTextNode(text) {
    return new FakeElement("#text", {text});
  }

  createDocumentFragment() {
    return new FakeElement("#fragment");
  }

  get visibilityState() {
    return "visible";
  }

  get hidden() {
    return false;
  }

  set hidden(_) {}
}

// --- loading scripts -------------------------------------------------------------------------------------------

// A fetch that answers from `routes`: {"POST /path": handler or Response}; unknown requests are a network error.
// Every call is recorded in `fetch.calls` as {method, url, body, headers}.
function fakeFetch(routes = {}) {
  const calls = [];
  async function fetchImpl(input, init = {}) {
    const url = new URL(typeof input === "string" ? input : input.url, ORIGIN);
    const method = (init.method || (typeof input === "object" && input.method) || "GET").toUpperCase();
    const body = init.body === undefined ? null : String(init.body);
    const call = {method, url: url.href, path: url.pathname + url.search, body, headers: {...(init.headers || {})}};
    calls.push(call);
    const handler = routes[`${method} ${url.pathname}${url.search}`] ?? routes[`${method} ${url.pathname}`]
      ?? routes["*"];
    if (handler === undefined) throw new TypeError("Failed to fetch");
    const answer = typeof handler === "function" ? await handler(call) : handler;
    if (answer instanceof Error) throw answer;
    return answer instanceof Response ? sameOrigin(answer) : answer;
  }
  fetchImpl.calls = calls;
  fetchImpl.routes = routes;
  return fetchImpl;
}

// A copy of `response` as a same-origin fetch gives it: type "basic" (Node's own say "default"), and what a test
// set on it (redirected, url, type) kept.
function sameOrigin(response) {
  const copy = response.clone();
  Object.defineProperty(copy, "type", {value: response.type === "default" ? "basic" : response.type});
  Object.defineProperty(copy, "redirected", {value: response.redirected});
  Object.defineProperty(copy, "url", {value: response.url});
  return copy;
}

// A response as it came: a redirect followed, or an opaque redirect (fetch with redirect: "manual").
function redirected(response, url) {
  Object.defineProperty(response, "redirected", {value: true});
  Object.defineProperty(response, "url", {value: new URL(url, ORIGIN).href});
  return response;
}

function json(data, status = 200, headers = {}) {
  return new Response(JSON.stringify(data), {status, headers: {"Content-Type": "application/json", ...headers}});
}

function html(body, status = 200, headers = {}) {
  return new Response(body, {status, headers: {"Content-Type": "text/html; charset=utf-8", ...headers}});
}

// Makes the context that plays the browser. Options:
//   url            the page's address (default ORIGIN + "/")
//   clock          a Clock (default a new one); the context's Date reads it
//   fetch          a fetch function (default fakeFetch({}): every request fails as with no network)
//   indexedDB      a FakeIndexedDB (default a new one); null for a browser without one
//   locks          a FakeLocks for navigator.locks; omitted: no Web Locks
//   localStorage   a FakeStorage or an object of initial values
//   document       a FakeDocument (default: a German page still loading, so scripts wait for DOMContentLoaded)
//   onLine         navigator.onLine (default true)
//   globals        anything else to put on the global object
function makeContext(options = {}) {
  const clock = options.clock || new Clock();
  const fetchImpl = options.fetch || fakeFetch({});
  const document = options.document === null ? undefined : options.document || new FakeDocument();
  const storage = options.localStorage instanceof FakeStorage ? options.localStorage
    : new FakeStorage(options.localStorage || {});
  const listeners = {};
  const navigator = {
    onLine: options.onLine !== undefined ? options.onLine : true,
    language: "de",
  };
  if (options.locks) navigator.locks = options.locks;
  const sandbox = {
    console,
    setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask, setImmediate,
    URL, URLSearchParams, TextEncoder, TextDecoder, AbortController, AbortSignal, DOMException,
    Request, Response, Headers, FormData, Blob,
    atob, btoa, structuredClone,
    crypto: globalThis.crypto,
    fetch: fetchImpl,
    navigator,
    localStorage: storage,
    location: new URL(options.url || ORIGIN + "/"),
    addEventListener(type, fn) {
      (listeners[type] = listeners[type] || []).push(fn);
    },
    removeEventListener(type, fn) {
      listeners[type] = (listeners[type] || []).filter((f) => f !== fn);
    },
    dispatchEvent(event) {
      (listeners[event.type] || []).slice().forEach((fn) => fn(event));
      return true;
    },
    ...(options.globals || {}),
  };
  if (document) sandbox.document = document;
  if (options.indexedDB !== null) sandbox.indexedDB = options.indexedDB || new FakeIndexedDB();
  const context = vm.createContext(sandbox);
  context.window = context;
  context.self = context;
  context.globalThis = context;
  context.__clock = clock;
  vm.runInContext(`(() => {
    const RealDate = Date;
    const clock = __clock;
    class ClockDate extends RealDate {
      constructor(...args) {
        if (args.length === 0) super(clock.now);
        else super(...args);
      }
      static now() {
        return clock.now;
      }
    }
    globalThis.Date = ClockDate;
    delete globalThis.__clock;
  })();`, context);
  Object.defineProperty(context, "__harness", {
    value: {clock, fetch: fetchImpl, document, listeners, storage, indexedDB: sandbox.indexedDB, navigator},
    enumerable: false,
  });
  return context;
}

// Runs a file of the repository (or source text) in the context, as a classic script.
function run(context, file, source) {
  const filename = path.join(ROOT, file);
  vm.runInContext(source ?? fs.readFileSync(filename, "utf8"), context, {filename});
  return context;
}

// The value of an expression in the context, e.g. a script's top-level `const` (which is not on the global object).
function evaluate(context, expression) {
  return vm.runInContext(expression, context);
}

// Loads the scripts (paths from the repository's root, e.g. "static/js/outbox.js") into a new context.
function loadScripts(files, options = {}) {
  const context = makeContext(options);
  for (const file of [].concat(files)) run(context, file);
  return context;
}

// Fires a window event (online, offline, ...) or a document event in the context.
function fire(target, type, detail = {}) {
  const event = {type, detail, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; }};
  target.dispatchEvent(event);
  return event;
}

// --- what the app renders -------------------------------------------------------------------------------------
// The service worker is a template, and the pages carry their sentences as JSON: both are taken from the app
// itself (tests/js/app_fixtures.py), so a test runs the worker and the strings people get. The Python suite
// renders them once and passes the file in DWB_JS_FIXTURES; run on its own, this asks the project's Python.

let fixtures = null;

function appFixtures() {
  if (fixtures) return fixtures;
  const given = process.env.DWB_JS_FIXTURES;
  let text;
  if (given) {
    text = fs.readFileSync(given, "utf8");
  } else {
    const venv = path.join(ROOT, ".venv", "bin", "python");
    const python = fs.existsSync(venv) ? venv : "python3";
    text = execFileSync(python, [path.join(ROOT, "tests", "js", "app_fixtures.py")], {cwd: ROOT, encoding: "utf8"});
  }
  fixtures = JSON.parse(text);
  return fixtures;
}

// A service worker context: the rendered /sw.js run with `self` as its global, importScripts reading static
// files, and Cache Storage. Returns the context; its handlers are in context.__harness.listeners (install,
// activate, fetch, message, sync) and its top-level functions (page, storable, trim, ...) are on the context.
function loadServiceWorker(options = {}) {
  const fetchImpl = options.fetch || fakeFetch({});
  const cacheStorage = new FakeCacheStorage(fetchImpl);
  const registration = {navigationPreload: null, scope: ORIGIN + "/"};
  const context = makeContext({
    ...options,
    fetch: fetchImpl,
    document: null,
    globals: {
      caches: cacheStorage,
      registration,
      clients: {claim: async () => {}},
      skipWaiting: async () => {},
      importScripts(...urls) {
        for (const url of urls) {
          const pathname = new URL(url, ORIGIN).pathname;
          if (!pathname.startsWith("/static/")) throw new TypeError(`importScripts: ${url} is not a static file`);
          run(context, pathname.slice(1));
        }
      },
      ...(options.globals || {}),
    },
  });
  context.__harness.caches = cacheStorage;
  const source = options.source || appFixtures().sw;
  run(context, options.file || "templates/pwa/sw.js", source);
  return context;
}

// A FetchEvent for the worker's fetch handler; resolves `respondWith`'s response and collects waitUntil promises.
function fetchEvent(url, {mode = "navigate", method = "GET", preload = null} = {}) {
  const waits = [];
  let responded = null;
  const request = new Request(new URL(url, ORIGIN).href, {method});
  Object.defineProperty(request, "mode", {value: mode});
  return {
    request,
    preloadResponse: Promise.resolve(preload),
    waitUntil(p) {
      waits.push(Promise.resolve(p));
    },
    respondWith(p) {
      responded = Promise.resolve(p);
    },
    get responded() {
      return responded;
    },
    waits,
    async done() {
      await Promise.allSettled(waits);
    },
  };
}

function dispatch(context, type, event) {
  for (const fn of context.__harness.listeners[type] || []) fn(event);
  return event;
}

module.exports = {
  ROOT,
  ORIGIN,
  Clock,
  FakeCache,
  FakeCacheStorage,
  FakeDocument,
  FakeElement,
  FakeIndexedDB,
  FakeLocks,
  FakeStorage,
  appFixtures,
  dispatch,
  evaluate,
  fakeFetch,
  fetchEvent,
  fire,
  html,
  json,
  loadScripts,
  loadServiceWorker,
  makeContext,
  plain,
  redirected,
  run,
  sameOrigin,
  settle,
  tick,
};
