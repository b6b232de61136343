// The staff tablet offline: keeps the registered tablet's credential, prepares the day's data, decides check-ins
// locally while the network is away (same rules as busapp/checkin/service.py), queues each action with the device
// id, a sequence number and a nonce, and sends the queue when the network is back. Preparing also has the service
// worker keep today's staff pages, so they open without network after the tablet restarts; such a copy says that
// it is offline and how old its data is. Pages work without this script.
(function () {
  "use strict";

  var KEY = "busapp.staff.";
  var SYNC_EVERY_MS = 30000;
  var APPROVAL_POLL_MS = 5000;
  // While online, the day's data and the kept pages are fetched again when older than this...
  var REFRESH_AFTER_MS = 15 * 60 * 1000;
  // ...and shortly after check-ins made online, so that a copy opened later without network shows them.
  var REFRESH_SOON_MS = 20000;
  var KEEP_TIMEOUT_MS = 60000;
  // The town's time zone, as the server wrote it on the page (<body data-timezone>, the TIMEZONE setting).
  function timeZone() { return (document.body && document.body.dataset.timezone) || undefined; }
  var state = { online: navigator.onLine, syncing: false, preparing: false, refreshTimer: null, copy: false };

  // --- storage -----------------------------------------------------------------------------------------------
  function load(name, fallback) {
    try { var v = localStorage.getItem(KEY + name); return v ? JSON.parse(v) : fallback; } catch (e) { return fallback; }
  }
  function save(name, value) { localStorage.setItem(KEY + name, JSON.stringify(value)); }
  function drop(name) { localStorage.removeItem(KEY + name); }

  function device() { return load("device", null); }
  // Set up, but not yet approved by a coordinator (busapp/checkin/service.py, the pairing rule).
  function waitingApproval() { var d = device(); return !!(d && d.waiting); }
  function noteApproval(waiting, code) {
    var d = device();
    if (!d || !!d.waiting === waiting) return;
    d.waiting = waiting;
    if (code) d.code = code;
    save("device", d);
  }
  function queue() { return load("queue", []); }
  // What this tablet did since the day's data was fetched (check-ins, walk-ins), the seats its shares still hold
  // as far as it knows (never more than the server last said), and the shares it has given up.
  function local() {
    var l = load("local", null) || {};
    ["arrived", "shareLeft", "givenUp", "returned", "taken"].forEach(function (k) { l[k] = l[k] || {}; });
    l.walkins = l.walkins || [];
    return l;
  }
  function day() {
    var d = load("day", null);
    if (d && new Date(d.expires_at) <= new Date()) { drop("day"); drop("local"); dropPages(); return null; }
    return d;
  }

  function newNonce() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  // Each queued action is signed with the key the server issued while someone was signed in on this tablet (in
  // the day's data): the server takes the person from that signature, so the tablet's credential alone can send
  // only what was done during a sign-in (the fields and their order: SIGNED_FIELDS in busapp/checkin/service.py).
  var SIGNED_FIELDS = ["kind", "workshop_id", "booking_id", "people", "name", "party_size", "nonce", "sequence", "acted_at"];
  function b64urlDecode(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return b64decode(s);
  }
  function b64urlEncode(bytes) {
    return btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  async function signItem(item) {
    var d = day();
    var signing = d && d.signing;
    if (!signing || !window.crypto || !crypto.subtle) return item;
    var text = SIGNED_FIELDS.map(function (k) {
      return item[k] === undefined || item[k] === null ? "" : String(item[k]);
    }).join("\n");
    var key = await crypto.subtle.importKey("raw", b64urlDecode(signing.key), { name: "HMAC", hash: "SHA-256" },
      false, ["sign"]);
    var sig = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text));
    item.key = signing.id;
    item.sig = b64urlEncode(new Uint8Array(sig));
    return item;
  }

  // An action enters the queue at once, in the order of the taps; its signature follows, and a sync waits for
  // every signature still being made, so nothing leaves unsigned that could be signed.
  var signing = Promise.resolve();
  function enqueue(item) {
    var seq = load("sequence", 0) + 1;
    save("sequence", seq);
    item.sequence = seq;
    item.nonce = item.nonce && item.nonce.length >= 8 ? item.nonce : newNonce();
    item.acted_at = new Date().toISOString();
    var q = queue();
    q.push(item);
    save("queue", q);
    render();
    signing = signing.then(function () { return signItem(item); }).then(function () {
      if (!item.sig) return;
      save("queue", queue().map(function (waiting) {
        return waiting.nonce === item.nonce ? Object.assign(waiting, { key: item.key, sig: item.sig }) : waiting;
      }));
    }).catch(function () { /* sent unsigned: accepted only while someone is signed in */ });
    return Promise.resolve();
  }


  // --- the pages the service worker keeps ----------------------------------------------------------------------
  function paths() {
    var meta = document.getElementById("pwa-paths");
    try { return meta ? JSON.parse(meta.getAttribute("content")) : {}; } catch (e) { return {}; }
  }
  function workerOn() {
    var meta = document.querySelector('meta[name="pwa-worker"]');
    return "serviceWorker" in navigator && !!window.caches && !!meta && meta.getAttribute("content") !== "off";
  }
  function staffCaches() {
    var prefix = paths().staffCachePrefix;
    if (!window.caches || !prefix) return Promise.resolve([]);
    return caches.keys().then(function (names) {
      return names.filter(function (n) { return n.indexOf(prefix) === 0; });
    }).catch(function () { return []; });
  }
  function dropPages() {
    drop("pagesAt");
    return staffCaches().then(function (names) {
      return Promise.all(names.map(function (n) { return caches.delete(n); }));
    }).catch(function () { /* nothing kept */ });
  }
  function keepPages(urls) {
    if (!workerOn() || !urls || !urls.length) return Promise.resolve({ ok: false });
    return new Promise(function (resolve) {
      var timer = setTimeout(function () { resolve({ ok: false }); }, KEEP_TIMEOUT_MS);
      navigator.serviceWorker.ready.then(function (registration) {
        var channel = new MessageChannel();
        channel.port1.onmessage = function (event) { clearTimeout(timer); resolve(event.data || { ok: false }); };
        registration.active.postMessage({ type: "keep-staff", urls: urls }, [channel.port2]);
      }).catch(function () { clearTimeout(timer); resolve({ ok: false }); });
    });
  }

  // --- the status panel ----------------------------------------------------------------------------------------
  var panel = null;

  function text(key, values) {
    var s = (panel && panel.dataset[key]) || "";
    Object.keys(values || {}).forEach(function (k) { s = s.replace("{" + k + "}", values[k]); });
    return s;
  }

  function formatTime(value) {
    var date = new Date(value);
    try {
      return new Intl.DateTimeFormat(document.documentElement.lang || "de",
        { dateStyle: "short", timeStyle: "short", timeZone: timeZone() }).format(date);
    } catch (e) { return date.toLocaleString(); }
  }

  function render() {
    if (!panel) return;
    panel.hidden = false;
    panel.classList.toggle("sync--offline", !state.online);
    panel.querySelector("[data-sync-state]").textContent = state.online ? text("textOnline") : text("textOffline");
    var q = queue();
    panel.querySelector("[data-sync-queue]").textContent = q.length ? text("textWaiting", { num: q.length }) : "";
    var d = day();
    var dayLine = panel.querySelector("[data-sync-day]");
    var pagesAt = load("pagesAt", null);
    panel.dataset.offlinePages = d && pagesAt ? "ready" : "";
    var waiting = waitingApproval();
    if (!device()) dayLine.textContent = text("textUnregistered");
    else if (waiting) dayLine.textContent = text("textWaitingApproval", { code: device().code || "" });
    else if (!d) dayLine.textContent = text("textUnprepared");
    else {
      dayLine.textContent = [
        text("textPrepared", { time: formatTime(d.expires_at) }),
        d.prepared_at ? text("textFetched", { time: formatTime(d.prepared_at) }) : "",
        pagesAt ? text("textPages") : ""
      ].filter(Boolean).join(" ");
    }
    // A tablet not set up: the first step is shown at the top, and what cannot work yet says why (the day line).
    var firstStep = document.getElementById("first-step");
    if (firstStep) firstStep.hidden = !!device();
    // A tablet that asked to be set up: it waits for a coordinator's approval, and says so with its code.
    var pairing = document.getElementById("pairing-wait");
    if (pairing) {
      pairing.hidden = !waiting;
      pairing.querySelectorAll("[data-pairing-code]").forEach(function (el) { el.textContent = waiting ? device().code || "" : ""; });
    }
    ["[data-sync-prepare]", "[data-sync-now]"].forEach(function (selector) {
      var button = panel.querySelector(selector);
      if (!button) return;
      button.disabled = !device() || waiting;
      if (!device() || waiting) button.setAttribute("aria-describedby", "sync-day-line");
      else button.removeAttribute("aria-describedby");
    });
    var problems = panel.querySelector("[data-sync-problems]");
    problems.textContent = "";
    load("problems", []).forEach(function (p) {
      var li = document.createElement("li");
      var ok = typeof p === "object" && p && p.ok;
      li.className = "flash " + (ok ? "flash--success" : "flash--warning");
      li.textContent = typeof p === "object" && p ? p.text : p;
      problems.appendChild(li);
    });
  }

  // --- talking to the server -----------------------------------------------------------------------------------
  function headers() {
    var d = device();
    var h = { "Accept": "application/json" };
    if (d) h["X-Device-Credential"] = d.credential;
    return h;
  }

  // The tablet was revoked: its credential, the day's data and the kept pages go; the queue stays, never dropped.
  function revoked() {
    drop("device"); drop("day"); drop("local");
    dropPages();
    render();
  }

  function pendingWalkins(workshopId) {
    return queue().reduce(function (sum, item) {
      return sum + (item.kind === "walkin" && item.workshop_id === workshopId ? item.party_size || 1 : 0);
    }, 0);
  }

  // What the server says a share still holds, less the walk-ins still queued here. A share is taken once, when
  // booking closes (until then it holds nothing): the first answer that says it is taken sets it; after that it is
  // never more than known before (a taken share only shrinks), so a late or crossing answer cannot give the tablet
  // seats it has used.
  function noteShare(l, workshopId, serverLeft, taken) {
    var fresh = Math.max(0, (Number(serverLeft) || 0) - pendingWalkins(workshopId));
    var known = Object.prototype.hasOwnProperty.call(l.shareLeft, workshopId) ? l.shareLeft[workshopId] : fresh;
    if (taken && !l.taken[workshopId]) { l.taken[workshopId] = true; known = fresh; }
    if (!taken && !l.taken[workshopId]) known = 0;
    l.shareLeft[workshopId] = l.givenUp[workshopId] ? 0 : Math.min(known, fresh);
    if (l.givenUp[workshopId] && !(Number(serverLeft) > 0)) l.returned[workshopId] = true;
  }

  function rebuildLocal(d) {
    var old = local();
    var l = { arrived: {}, shareLeft: old.shareLeft, givenUp: old.givenUp, returned: old.returned, taken: old.taken,
              walkins: [] };
    queue().forEach(function (item) {
      var booking = bookingOf(d, item.booking_id);
      if (item.kind === "checkin" || item.kind === "count") l.arrived[item.booking_id] = item.people || (booking ? booking.party_size : 1);
      else if (item.kind === "undo") l.arrived[item.booking_id] = 0;
      else if (item.kind === "walkin") {
        l.walkins.push({ name: item.name, party_size: item.party_size, workshop_id: item.workshop_id,
                         waiting: item.seat === "pending" });
      }
    });
    d.workshops.forEach(function (w) { noteShare(l, w.id, w.share, w.share_taken); });
    save("local", l);
  }

  async function prepare() {
    if (!device() || !panel || state.preparing) return;
    state.preparing = true;
    try {
      await sync(false);  // what waits is sent first, so the day's data and the seat shares count it
      var url = panel.dataset.dayUrl + (panel.dataset.stopId ? "?stop=" + panel.dataset.stopId : "");
      var response = await fetch(url, { headers: headers(), credentials: "same-origin", cache: "no-store" });
      if (response.status === 401) { revoked(); return; }
      if (response.status === 403) {
        var refusal = await response.json().catch(function () { return {}; });
        if (refusal.error === "waiting") { noteApproval(true, refusal.code); setOnline(true); }
        return;
      }
      if (!response.ok) return;
      noteApproval(false);
      var data = await response.json();
      save("day", data);
      rebuildLocal(data);
      // The QR reader's files, so scanning works offline too (the service worker keeps what passes through it).
      JSON.parse(panel.dataset.offlineFiles || "[]").forEach(function (file) {
        fetch(file, { credentials: "same-origin" }).catch(function () { /* tried again at the next prepare */ });
      });
      if (load("sequence", 0) < data.device.last_sequence) save("sequence", data.device.last_sequence);
      setOnline(true);
      render();
      var kept = await keepPages(data.pages);
      if (kept && kept.ok) save("pagesAt", kept.at);
    } catch (e) {
      setOnline(false);
    } finally {
      state.preparing = false;
      render();
    }
  }

  function refreshSoon() {
    if (state.refreshTimer || !device()) return;
    state.refreshTimer = setTimeout(function () {
      state.refreshTimer = null;
      if (navigator.onLine && state.online) prepare();
    }, REFRESH_SOON_MS);
  }

  async function maybePrepare() {
    var d = day();
    var stopId = panel.dataset.stopId;
    var stale = !d || !d.prepared_at || Date.now() - new Date(d.prepared_at).getTime() > REFRESH_AFTER_MS
      || !d.signing || String(d.signing.user_id) !== panel.dataset.userId  // someone else is signed in now
      || (stopId && !(d.stops || []).some(function (s) { return String(s.id) === stopId; }));
    var missing = workerOn() && !(await staffCaches()).length;
    if (missing && load("pagesAt", null)) {
      // The worker deleted them (someone signed in or out here): say so until they are kept again.
      drop("pagesAt");
      render();
    }
    if (stale || missing) prepare();
  }

  // Workshops that have started whose share this tablet still holds or has not yet seen returned: online after
  // the start, it gives them up (the seat-share rule in busapp/checkin/service.py).
  function giveUpDue() {
    var d = day();
    if (!d || !navigator.onLine) return [];
    var l = local();
    var now = new Date();
    return d.workshops.filter(function (w) {
      return new Date(w.starts_at) <= now && !l.returned[w.id] && ((l.shareLeft[w.id] || 0) > 0 || l.givenUp[w.id]);
    }).map(function (w) { return w.id; });
  }

  async function send(extra) {
    await signing;
    var q = queue();
    var response = await fetch(panel.dataset.syncUrl, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: Object.assign({ "Content-Type": "application/json" }, headers()),
      body: JSON.stringify(Object.assign({ items: q }, extra))
    });
    if (response.status === 401) { revoked(); return false; }
    if (!response.ok) return false;
    var result = await response.json();
    var answered = {};
    var problems = load("problems", []);
    var sent = {};
    q.forEach(function (item) { sent[item.nonce] = item; });
    result.results.forEach(function (r) {
      if (!r.nonce) return;
      answered[r.nonce] = true;
      var who = r.booking ? (r.booking.name || r.booking.code) + ": " : "";
      var item = sent[r.nonce] || {};
      // A walk-in kept here as waiting for a seat is decided now: a seat, or the waiting list.
      if (item.seat === "pending" && r.outcome === "valid") problems.push({ text: who + text("textSeated"), ok: true });
      else if (r.kind === "walkin" && r.outcome === "waiting") problems.push(who + r.message);
      else if (r.conflict) problems.push(who + text("textConflict"));
      else if (["valid", "done", "again"].indexOf(r.outcome) === -1) problems.push(text("textRefused") + " " + who + r.message);
    });
    // Only what the server answered leaves the queue; anything sent meanwhile stays for the next round.
    save("queue", queue().filter(function (item) { return !answered[item.nonce]; }));
    save("problems", problems.slice(-20));
    var d = day();
    if (d && result.shares) {
      var l = local();
      d.workshops.forEach(function (w) {
        noteShare(l, w.id, result.shares[w.id], Object.prototype.hasOwnProperty.call(result.shares, w.id));
      });
      save("local", l);
    }
    setOnline(true);
    return true;
  }

  async function sync(finish) {
    if (!device() || !panel || state.syncing) return false;
    var due = finish ? [] : giveUpDue();
    if (!queue().length && !finish && !due.length) return true;
    state.syncing = true;
    try {
      var ok = await send({ finish: !!finish });
      if (ok && due.length) {
        // Stop using these shares first, then give them up together with whatever is queued by now: every
        // walk-in seated with them is in that request or was answered before.
        var l = local();
        due.forEach(function (id) { l.givenUp[id] = true; l.shareLeft[id] = 0; });
        save("local", l);
        ok = await send({ give_up: due, sequence: load("sequence", 0) });
      }
      return ok && queue().length === 0;
    } catch (e) {
      setOnline(false);
      return false;
    } finally {
      state.syncing = false;
      render();
    }
  }

  function setOnline(value) {
    if (state.online !== value) { state.online = value; render(); }
  }

  // --- deciding offline, by the rules of busapp/checkin/service.py ---------------------------------------------
  function b32decode(s) {
    var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", bits = 0, value = 0, out = [];
    for (var i = 0; i < s.length; i++) {
      var idx = alphabet.indexOf(s[i]);
      if (idx < 0) return null;
      value = (value << 5) | idx; bits += 5;
      if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
    }
    return new Uint8Array(out);
  }
  function b64decode(s) { return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); }); }

  async function sha256hex(textValue) {
    var digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(textValue));
    return Array.from(new Uint8Array(digest), function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  async function verifyToken(token, d) {
    // Returns {code, workshop_id, party_size, legacy} for a genuine ticket, null for a forged one.
    var m = /^DB2\.([A-Z0-9]{4,12})\.([0-9]{1,10})\.([1-9][0-9]?)\.([0-9A-F]{8})\.([A-Z2-7]{103})$/.exec(token);
    if (m) {
      var key = d.keys[m[4]];
      if (!key) return null;
      try {
        var pub = await crypto.subtle.importKey("raw", b64decode(key), { name: "Ed25519" }, false, ["verify"]);
        var ok = await crypto.subtle.verify({ name: "Ed25519" }, pub, b32decode(m[5]),
          new TextEncoder().encode(token.slice(0, token.lastIndexOf("."))));
        if (!ok) return null;
      } catch (e) { return null; }
      return { code: m[1], workshop_id: Number(m[2]), party_size: Number(m[3]), legacy: false };
    }
    m = /^DB1\.([A-Z0-9]{4,12})\.([0-9]{1,10})\.([1-9][0-9]?)\.([A-Z2-7]{32})$/.exec(token);
    if (m) {
      // The tablet holds no HMAC key: a DB1 ticket is genuine when its digest is the one the day's data lists.
      var booking = findByCode(d, m[1]);
      if (!booking || booking.legacy !== await sha256hex(token)) return null;
      return { code: m[1], workshop_id: Number(m[2]), party_size: Number(m[3]), legacy: true };
    }
    return null;
  }

  function findByCode(d, code) {
    for (var i = 0; i < d.bookings.length; i++) if (d.bookings[i].code === code) return d.bookings[i];
    return null;
  }
  function bookingOf(d, id) {
    for (var i = 0; i < d.bookings.length; i++) if (d.bookings[i].id === id) return d.bookings[i];
    return null;
  }
  function workshopOf(d, id) {
    for (var i = 0; i < d.workshops.length; i++) if (d.workshops[i].id === id) return d.workshops[i];
    return null;
  }
  function arrivedOf(booking) {
    var l = local();
    return Object.prototype.hasOwnProperty.call(l.arrived, booking.id) ? l.arrived[booking.id] : booking.arrived;
  }

  async function decide(raw, workshopId) {
    var d = day();
    if (!d) return { outcome: "unprepared" };
    var input = (raw || "").trim();
    var booking;
    if (/^DB[12]\./i.test(input)) {
      var payload = await verifyToken(input, d);
      if (!payload) return { outcome: "forged" };
      booking = findByCode(d, payload.code);
      if (!booking) return { outcome: workshopOf(d, payload.workshop_id) ? "unknown" : "other_stop" };
      var w = workshopOf(d, booking.workshop_id);
      if (payload.legacy && w && new Date(w.ends_at) <= new Date()) return { outcome: "forged" };
    } else {
      var code = input.toUpperCase().replace(/[^A-Z0-9]/g, "");
      if (code.length < 4 || code.length > 12) return { outcome: "unknown" };
      booking = findByCode(d, code);
      if (!booking) return { outcome: "unknown" };
    }
    if (booking.status === "cancelled") return { outcome: "cancelled", booking: booking };
    if (booking.status === "waiting") return { outcome: "waiting", booking: booking };
    if (booking.workshop_id !== workshopId) {
      // Another workshop at this stop, or at another stop of the day (as the server tells them apart).
      var here = workshopOf(d, workshopId), theirs = workshopOf(d, booking.workshop_id);
      var sameStop = here && theirs && here.stop_id === theirs.stop_id;
      return { outcome: sameStop ? "other_workshop" : "other_stop", booking: booking };
    }
    if (arrivedOf(booking)) return { outcome: "again", booking: booking };
    return { outcome: "valid", booking: booking };
  }

  // What the server said about a booking, in the day's data and over whatever this tablet noted before; an
  // action of this tablet still waiting to be sent keeps its own note.
  function noteServer(bookingId, arrived, status) {
    var d = day();
    var booking = d && bookingOf(d, bookingId);
    if (!booking || isNaN(arrived)) return;
    booking.arrived = arrived;
    if (status) booking.status = status;
    save("day", d);
    if (queue().some(function (item) { return item.booking_id === bookingId; })) return;
    var l = local();
    l.arrived[bookingId] = arrived;
    save("local", l);
  }

  function markArrived(booking, people) {
    var l = local();
    l.arrived[booking.id] = people;
    save("local", l);
  }

  // --- showing what was done offline ---------------------------------------------------------------------------
  // An answer decided here (offline) or said here (an error, no network): on the scan page it replaces the answer
  // band, on the door list the line above the list; it names the code or the person it is about.
  function showAnswer(result) {
    var box = document.getElementById("answer");
    var message = result.message || answerText(result.outcome);
    var code = result.code !== undefined ? result.code : (result.booking ? result.booking.code : "");
    if (!box) {
      var who = result.about || (result.booking ? result.booking.name || result.booking.code : "");
      sayInList(result.outcome, (who ? who + ": " : "") + message);
      return;
    }
    signal(result.outcome);
    box.className = "answer answer--" + result.outcome;
    box.dataset.outcome = result.outcome;
    box.dataset.offline = "true";
    box.dataset.code = code || "";
    box.textContent = "";
    var title = document.createElement("p");
    title.className = "answer__title";
    var icon = document.createElement("span");
    icon.className = "answer__icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = result.outcome === "valid" ? "✔" : (WARN.indexOf(result.outcome) !== -1 ? "!" : "✖");
    var words = document.createElement("span");
    words.textContent = message;
    title.appendChild(icon);
    title.appendChild(words);
    box.appendChild(title);
    var line = document.createElement("p");
    line.className = "answer__name";
    if (result.booking && ["forged", "unknown"].indexOf(result.outcome) === -1) {
      line.textContent = (result.booking.name || result.booking.code) + " · " + result.booking.party_size + " · ";
    }
    var codeText = document.createElement("span");
    codeText.className = "answer__code";
    codeText.textContent = code ? staffText("code", { code: code }) : staffText("nocode");
    line.appendChild(codeText);
    box.appendChild(line);
    if (result.booking && result.booking.needs_note) {
      var note = document.createElement("p");
      note.className = "answer__note";
      note.textContent = result.booking.needs_note;
      box.appendChild(note);
    }
  }
  var WARN = ["again", "other_workshop", "waiting", "seat_pending"];

  // --- a sound and a vibration for every answer: success and refusal sound and feel different -------------------
  var audio = null;
  function soundOn() { return load("sound", "on") !== "off"; }
  function tone(ctx, frequency, start, length, type) {
    var osc = ctx.createOscillator();
    var gain = ctx.createGain();
    osc.type = type;
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, ctx.currentTime + start);
    gain.gain.exponentialRampToValueAtTime(0.3, ctx.currentTime + start + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + start + length);
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start(ctx.currentTime + start);
    osc.stop(ctx.currentTime + start + length + 0.02);
  }
  function signal(outcome) {
    var good = outcome === "valid" || outcome === "done";
    document.documentElement.dataset.lastSignal = good ? "success" : "refusal";
    if (navigator.vibrate) {
      try { navigator.vibrate(good ? 60 : [200, 100, 200]); } catch (e) { /* no vibration here */ }
    }
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!soundOn() || !Context) return;
    try {
      audio = audio || new Context();
      if (audio.state === "suspended") audio.resume();
      if (good) { tone(audio, 880, 0, 0.08, "sine"); tone(audio, 1320, 0.1, 0.12, "sine"); }
      else tone(audio, 220, 0, 0.35, "square");
    } catch (e) { /* no sound here */ }
  }

  // The line above the door list: one answer at a time, the newest.
  function sayInList(outcome, message) {
    var list = document.getElementById("list");
    signal(outcome);
    if (!list) { flash(message); return; }
    var line = list.querySelector(".door-answer");
    if (!line) {
      line = document.createElement("p");
      line.setAttribute("role", "status");
      var counts = list.querySelector(".counts");
      list.insertBefore(line, counts ? counts.nextSibling : list.firstChild);
    }
    var good = outcome === "valid" || outcome === "done";
    line.className = "flash door-answer " + (good ? "flash--success" : WARN.indexOf(outcome) !== -1 ? "flash--warning" : "flash--error");
    line.dataset.outcome = outcome;
    line.textContent = message;
  }

  // Words for answers that are no page fragment (static/js in templates/checkin/_base.html).
  var staffTexts = null;
  function staffText(key, values) {
    if (!staffTexts) {
      var el = document.getElementById("staff-texts");
      try { staffTexts = el ? JSON.parse(el.textContent) : {}; } catch (e) { staffTexts = {}; }
    }
    var s = staffTexts[key] || "";
    // A sentence with a number comes in the language's plural forms (offline.js picks one).
    if (typeof s === "object") {
      s = window.OfflinePage ? window.OfflinePage.plural(s, values && values.num) : s.other || "";
    }
    Object.keys(values || {}).forEach(function (k) { s = s.replace("{" + k + "}", values[k]); });
    return s;
  }

  // The booking code a scan or typed entry carries (as busapp/checkin/service.py code_read).
  function codeRead(raw) {
    var input = String(raw || "").trim();
    if (/^DB[12]\./i.test(input)) input = input.split(".")[1] || "";
    return input.toUpperCase().replace(/[^A-Z0-9]/g, "").slice(0, 12);
  }

  function answerText(outcome) {
    var texts = {};
    try { texts = JSON.parse(panel.dataset.answers || "{}"); } catch (e) { /* keep the outcome's name */ }
    return texts[outcome] || outcome;
  }

  function bump(name, delta) {
    if (!delta) return;
    document.querySelectorAll("[data-count=" + name + "]").forEach(function (counter) {
      counter.textContent = String(Math.max(0, Number(counter.textContent) + delta));
    });
  }

  // A row shows `people` of its party here; the page's counter moves by the difference to what it showed.
  function updateRow(bookingId, people) {
    var row = document.getElementById("booking-" + bookingId);
    if (!row) return;
    var before = Number(row.dataset.shown !== undefined ? row.dataset.shown : row.dataset.arrived) || 0;
    row.dataset.shown = String(people);
    row.classList.remove("door-row--confirmed");
    row.classList.toggle("door-row--in", people > 0);
    row.dataset.offline = "true";
    var badge = row.querySelector(".door-row__state .badge");
    if (badge) badge.textContent = people ? people + " / " + row.dataset.partySize + " ✔" : "–";
    bump("checked_in", people - before);
  }

  function addWalkinRow(walkin) {
    var rows = document.querySelector("#list .door-rows");
    if (!rows) return;
    var li = document.createElement("li");
    li.className = walkin.waiting ? "door-row door-row--waiting" : "door-row door-row--in";
    li.dataset.offline = "true";
    var who = document.createElement("div");
    who.className = "door-row__who";
    var name = document.createElement("p");
    name.className = "door-row__name";
    name.textContent = walkin.name + " ";
    var badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = text("textWalkin");
    name.appendChild(badge);
    who.appendChild(name);
    var state = document.createElement("div");
    state.className = "door-row__state";
    var here = document.createElement("p");
    if (walkin.waiting) {
      // Decided when the tablet is online again: a seat if one is free, else the waiting list.
      here.className = "badge badge--warn";
      here.textContent = text("textSeatPending") + " · " + walkin.party_size;
    } else {
      here.className = "badge badge--ok";
      here.textContent = walkin.party_size + " / " + walkin.party_size + " ✔";
    }
    state.appendChild(here);
    li.appendChild(who);
    li.appendChild(state);
    rows.appendChild(li);
    if (!walkin.waiting) bump("checked_in", walkin.party_size);
  }

  // On a kept copy: what this tablet did since the copy was made (it was made together with the day's data).
  function applyLocal() {
    var list = document.getElementById("list");
    if (!list || !day()) return;
    var workshopId = Number(list.dataset.workshopId);
    var l = local();
    Object.keys(l.arrived).forEach(function (id) { updateRow(id, l.arrived[id]); });
    l.walkins.filter(function (w) { return w.workshop_id === workshopId; }).forEach(addWalkinRow);
  }

  // A name as it is compared at the door, the same way as fold() in busapp/checkin/service.py: no accents or
  // marks, lower case, special letters spelled out, German ae/oe/ue read as a/o/u (tests/cases/checkin.json).
  var SPECIAL_LETTERS = { "ß": "ss", "ı": "i", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th" };
  function fold(text) {
    var bare = String(text || "").normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
    var spelled = bare.replace(/[ßıøæœłđðþ]/g, function (ch) { return SPECIAL_LETTERS[ch]; });
    spelled = spelled.replace(/ae/g, "a").replace(/oe/g, "o").replace(/ue/g, "u");
    return spelled.split(/\s+/).filter(Boolean).join(" ");
  }

  // Search by name or code without the server; "only those still missing" keeps confirmed parties not yet here.
  function filterRows(query) {
    var q = fold(query);
    var code = String(query || "").toUpperCase().replace(/[^A-Z0-9]/g, "");
    var missingBox = document.getElementById("missing");
    var missingOnly = !!(missingBox && missingBox.checked);
    document.querySelectorAll("#list .door-row").forEach(function (row) {
      var nameElement = row.querySelector(".door-row__name") || row;
      var name = fold(nameElement.firstChild ? nameElement.firstChild.textContent : nameElement.textContent);
      var match = !q || name.indexOf(q) !== -1 || (code && (row.dataset.code || "").indexOf(code) === 0);
      var missing = row.classList.contains("door-row--confirmed") && !row.classList.contains("door-row--in");
      row.hidden = !match || (missingOnly && !missing);
    });
  }

  // A page the service worker kept, opened without network: say so plainly and how old it is, give every form
  // fresh nonces (the copy may be opened many times), and switch off what needs the server.
  function markCopy(savedAt) {
    state.copy = true;
    var main = document.getElementById("main");
    if (main && !main.querySelector(".staff-copy")) {
      var box = document.createElement("div");
      box.className = "notice notice--warn staff-copy";
      box.setAttribute("role", "status");
      var title = document.createElement("p");
      var strong = document.createElement("strong");
      strong.textContent = text("textCopyTitle");
      title.appendChild(strong);
      box.appendChild(title);
      var when = document.createElement("p");
      when.textContent = text("textCopy", { time: formatTime(savedAt) });
      box.appendChild(when);
      main.insertBefore(box, main.firstChild);
    }
    document.querySelectorAll("input[name=nonce]").forEach(function (input) { input.value = newNonce(); });
    document.querySelectorAll("main form").forEach(function (form) {
      if (isStaffForm(form) || (form.getAttribute("method") || "get").toLowerCase() === "get") return;
      form.querySelectorAll("button, input, select, textarea").forEach(function (el) { el.disabled = true; });
      var hint = document.createElement("p");
      hint.className = "hint";
      hint.textContent = text("textNeedsNetwork");
      form.appendChild(hint);
    });
    applyLocal();
    var query = new URL(location.href).searchParams.get("q");
    var search = document.getElementById("q");
    if (query && search) { search.value = query; filterRows(query); }
  }

  // --- acting offline on the pages' forms ----------------------------------------------------------------------
  async function offlineAction(form, detail) {
    var d = day();
    // htmx's copy of the form includes the button that was pressed (its name and value say what to do).
    var data = (detail && detail.requestConfig && detail.requestConfig.formData) || new FormData(form);
    var action = form.getAttribute("hx-post") || form.action;
    var list = document.getElementById("list");
    var workshopId = Number(list ? list.dataset.workshopId : /workshops\/(\d+)/.exec(action)[1]);
    if (!d) {
      showAnswer({ outcome: "unprepared", code: /\/scan$/.test(action) ? codeRead(data.get("code")) : undefined,
                   about: aboutOf(form, detail) });
      clearCode(form);
      return;
    }
    if (/\/scan$/.test(action)) {
      var raw = String(data.get("code") || "");
      var result = await decide(raw, workshopId);
      result.code = codeRead(raw);
      if (result.outcome === "valid") {
        markArrived(result.booking, result.booking.party_size);
        bump("checked_in", result.booking.party_size);
        await enqueue({ kind: "checkin", workshop_id: workshopId, booking_id: result.booking.id, nonce: newNonce() });
      }
      showAnswer(result);
      form.querySelector("input[name=code]").value = "";
      return;
    }
    if (/\/walkin$/.test(action)) {
      var size = Number(data.get("party_size")) || 1;
      var name = String(data.get("name") || "").trim();
      var w = workshopOf(d, workshopId);
      var l = local();
      if (!name) { showAnswer({ outcome: "invalid", about: "", message: answerText("invalid") }); return; }
      if (!w || new Date(w.ends_at) <= new Date()) { showAnswer({ outcome: "closed", about: name }); return; }
      // Offline, only the seats this tablet's share still holds are sure: any other seat may be taken by now.
      // Beyond them the walk-in waits for a seat, decided when the tablet is online again (the seat-share rule).
      var left = l.shareLeft[workshopId] || 0;
      var waiting = size > left;
      if (!waiting) l.shareLeft[workshopId] = left - size;
      var walkin = { name: name, party_size: size, workshop_id: workshopId, waiting: waiting };
      l.walkins.push(walkin);
      save("local", l);
      var queued = { kind: "walkin", workshop_id: workshopId, name: name, party_size: size, nonce: String(data.get("nonce")) };
      if (waiting) queued.seat = "pending";  // for this tablet only: the server decides every walk-in alike
      await enqueue(queued);
      addWalkinRow(walkin);
      form.querySelector("input[name=name]").value = "";
      form.querySelector("input[name=nonce]").value = newNonce();
      showAnswer(waiting ? { outcome: "seat_pending", about: name, message: answerText("seat_pending") }
                         : { outcome: "valid", about: name });
      return;
    }
    var kind = String(data.get("kind") || "");
    var bookingId = Number(data.get("booking_id"));
    var booking = bookingOf(d, bookingId);
    if (!booking) return;
    var people = Number(data.get("people")) || booking.party_size;
    if (kind === "checkin") {
      if (arrivedOf(booking)) { showAnswer({ outcome: "again", booking: booking }); return; }
      markArrived(booking, people);
      updateRow(bookingId, people);
    } else if (kind === "undo") {
      markArrived(booking, 0);
      updateRow(bookingId, 0);
    } else if (kind === "count") {
      markArrived(booking, people);
      updateRow(bookingId, people);
    } else {
      // Seating a waiting party needs the server's seat count.
      showAnswer({ outcome: "invalid", booking: booking, message: staffText("network") });
      return;
    }
    showAnswer({ outcome: kind === "checkin" ? "valid" : "done", booking: booking });
    await enqueue({ kind: kind, workshop_id: workshopId, booking_id: bookingId, people: people, nonce: String(data.get("nonce")) });
    // The form's nonce is spent: the next tap on this row is a new action.
    var nonceInput = form.querySelector("input[name=nonce]");
    if (nonceInput) nonceInput.value = newNonce();
  }

  function flash(message) {
    var bar = document.getElementById("status-bar");
    if (bar) bar.textContent = message || "";
  }

  function isStaffForm(form) {
    var url = form.getAttribute("hx-post") || "";
    return /\/staff\/workshops\/\d+\/(act|walkin|scan)$/.test(url);
  }

  function offline() {
    return !(navigator.onLine && state.online);
  }

  // htmx asks first: offline, the action is decided here instead of being sent, and a search is done here.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && (elt.id === "q" || elt.id === "missing") && (offline() || state.copy)) {
      event.preventDefault();
      var search = document.getElementById("q");
      filterRows(search ? search.value : "");
      return;
    }
    if (!elt || elt.tagName !== "FORM" || !isStaffForm(elt)) return;
    if (!offline()) return;
    event.preventDefault();
    offlineAction(elt, event.detail);
  });
  // The request left but no answer came: decide here; the server, if it got it, answers the replay the same.
  // Anything else that needs the server (live status, release) says that nothing was sent.
  document.addEventListener("htmx:sendError", function (event) {
    var form = event.detail.elt;
    setOnline(false);
    if (!form || form.tagName !== "FORM") return;
    if (isStaffForm(form)) offlineAction(form, event.detail);
    else sayProblem(form, event.detail, staffText("network"));
  });
  // An error that is no answer fragment (409 and 422 are, and are swapped in: see templates/checkin/_base.html):
  // a staff sign-in that expired keeps the tap in the queue (sent with the tablet's credential); anything else
  // is said where the answer would have been, naming what it was about.
  document.addEventListener("htmx:responseError", function (event) {
    var form = event.detail.elt;
    if (!form || form.tagName !== "FORM" || !form.closest("main")) return;
    var status = event.detail.xhr.status;
    if (status === 401 && isStaffForm(form) && day()) {
      offlineAction(form, event.detail);
      sync(false);
      return;
    }
    sayProblem(form, event.detail, status === 401 ? staffText("signin") : staffText("error", { status: status }));
  });

  // Whom or what a form's request was about: the code read, the person of the row, the walk-in's name, the status.
  function aboutOf(form, detail) {
    var data = (detail && detail.requestConfig && detail.requestConfig.formData) || new FormData(form);
    if (form.querySelector("input[name=code]")) return codeRead(data.get("code"));
    var row = form.closest(".door-row");
    if (row) {
      var name = row.querySelector(".door-row__name");
      return name ? name.firstChild.textContent.trim() : row.dataset.code;
    }
    if (data.get("name") !== null) return String(data.get("name") || "").trim();
    var submitter = detail && detail.requestConfig && detail.requestConfig.triggeringEvent &&
      detail.requestConfig.triggeringEvent.submitter;
    if (submitter) return submitter.textContent.trim();
    var heading = document.querySelector("main h1");
    return heading ? heading.textContent.trim() : "";
  }

  function sayProblem(form, detail, message) {
    var about = aboutOf(form, detail);
    if (form.querySelector("input[name=code]")) {
      showAnswer({ outcome: "error", code: about, message: message });
      clearCode(form);
      return;
    }
    if (isStaffForm(form)) { showAnswer({ outcome: "error", about: about, message: message }); return; }
    var place = form.closest("#live, #release") || form.parentNode;
    var line = place.querySelector("[data-problem]");
    if (!line) {
      line = document.createElement("p");
      line.className = "error-message";
      line.setAttribute("role", "alert");
      line.dataset.problem = "";
      place.insertBefore(line, place.firstChild.nextSibling);
    }
    line.dataset.outcome = "error";
    line.textContent = (about ? about + ": " : "") + message;
  }

  function clearCode(form) {
    var input = form && form.querySelector("input[name=code]");
    if (input) input.value = "";
  }
  document.addEventListener("htmx:configRequest", function (event) {
    var d = device();
    if (d) event.detail.headers["X-Device-Credential"] = d.credential;
  });
  // An answer from the server: the door list says how many seats this tablet's share still holds (an online
  // walk-in may have used one), and the kept pages are fetched again soon so that they show what was done.
  document.addEventListener("htmx:afterSwap", function (event) {
    // The server's answer to a scan or a tap on the door list: its sound and vibration.
    var target = event.detail.target;
    var answer = target && target.id === "answer" ? document.getElementById("answer")
      : (target && target.id === "list" ? document.querySelector("#list .door-answer") : null);
    // Every online answer brings the tablet's copy of the day up to date at once (an undo online, then the
    // network gone: the copy must not still say "checked in").
    if (target && target.id === "answer" && answer && answer.dataset.bookingId) {
      noteServer(Number(answer.dataset.bookingId), Number(answer.dataset.arrived), answer.dataset.status);
    } else if (target && target.id === "list") {
      document.querySelectorAll("#list .door-row[id^=booking-]").forEach(function (row) {
        noteServer(Number(row.id.slice(8)), Number(row.dataset.arrived), row.dataset.status);
      });
    }
    if (answer && answer.dataset.outcome && !answer.dataset.signalled) {
      answer.dataset.signalled = "true";  // once per answer, however many swaps report it
      signal(answer.dataset.outcome);
    }
    var list = document.getElementById("list");
    var d = day();
    if (!list || !d || !list.dataset.shareLeft) return;
    var workshopId = Number(list.dataset.workshopId);
    if (!workshopOf(d, workshopId)) return;
    var l = local();
    noteShare(l, workshopId, Number(list.dataset.shareLeft), true);
    save("local", l);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.tagName === "FORM" && isStaffForm(elt) && event.detail.successful) refreshSoon();
    // Whatever the answer, the code field is empty for the next ticket (the answer names the code read).
    if (elt && elt.tagName === "FORM") clearCode(elt);
  });

  // Sign-out sends what is waiting first, hands back the walk-in seats, and wipes the day's data once all is sent.
  // With actions still unsent it asks in a dialog: send now, or keep them on this tablet (never deleted; they are
  // signed, so the tablet sends them by itself later). Without network it does not leave the page: signing out
  // needs the server, and a browser error page helps nobody. The kept pages go when the sign-out goes through.
  async function signOut(form) {
    await dropPages();
    form.dataset.sent = "true";
    form.submit();
  }

  function unsentDialog(form) {
    var old = document.getElementById("unsent-dialog");
    if (old) old.remove();
    var dialog = document.createElement("dialog");
    dialog.id = "unsent-dialog";
    dialog.className = "unsent-dialog";
    dialog.setAttribute("aria-labelledby", "unsent-title");
    var title = document.createElement("h2");
    title.id = "unsent-title";
    title.textContent = staffText("unsentTitle", { num: queue().length });
    var textLine = document.createElement("p");
    textLine.textContent = navigator.onLine ? staffText("unsentText") : staffText("offlineSignOut");
    var actions = document.createElement("p");
    actions.className = "actions";
    function button(label, className, onClick) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = className;
      b.textContent = label;
      b.addEventListener("click", onClick);
      actions.appendChild(b);
      return b;
    }
    var send = button(staffText("sendNow"), "button", async function () {
      send.disabled = true;
      var done = await sync(true);
      if (done) {
        drop("day"); drop("local"); drop("problems");
        dialog.close();
        signOut(form);
        return;
      }
      send.disabled = false;
      title.textContent = staffText("unsentTitle", { num: queue().length });
      if (!navigator.onLine) textLine.textContent = staffText("offlineSignOut");
    });
    if (navigator.onLine) {
      button(staffText("keepAndSignOut"), "button button--secondary", function () { dialog.close(); signOut(form); });
    } else {
      button(staffText("keep"), "button button--secondary", function () { dialog.close(); });
    }
    dialog.appendChild(title);
    dialog.appendChild(textLine);
    dialog.appendChild(actions);
    document.body.appendChild(dialog);
    dialog.showModal();
    send.focus();
  }

  document.addEventListener("submit", async function (event) {
    var form = event.target;
    if (!form.action || !/\/signout$/.test(new URL(form.action, location.href).pathname)) return;
    if (form.dataset.sent === "true") return;
    event.preventDefault();
    if (!device()) {
      drop("day"); drop("local"); drop("problems");
    } else {
      flash(panel ? panel.dataset.textSigningOut : "");
      var done = await sync(true);
      flash("");
      if (done) {
        drop("day"); drop("local"); drop("problems");
      } else if (queue().length) {
        unsentDialog(form);
        return;
      }
    }
    if (!navigator.onLine) { flash(staffText("offlineSignOut")); return; }
    signOut(form);
  }, true);

  window.addEventListener("online", function () { setOnline(true); sync(false); });
  window.addEventListener("offline", function () { setOnline(false); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) sync(false); });

  document.addEventListener("DOMContentLoaded", function () {
    var fresh = document.getElementById("device-credential");
    if (fresh) {
      save("device", { credential: fresh.dataset.credential, id: Number(fresh.dataset.deviceId), name: fresh.dataset.deviceName,
                       waiting: fresh.dataset.state === "waiting", code: fresh.dataset.code });
      drop("day");
      drop("local");
      save("sequence", 0);
    }
    document.querySelectorAll("button[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
    document.querySelectorAll("[data-sound-switch]").forEach(function (field) {
      if (!(window.AudioContext || window.webkitAudioContext)) return;
      var box = field.querySelector("input");
      box.checked = soundOn();
      box.addEventListener("change", function () { save("sound", box.checked ? "on" : "off"); });
      field.hidden = false;
    });
    panel = document.getElementById("sync");
    if (!panel) return;
    panel.querySelector("[data-sync-prepare]").addEventListener("click", prepare);
    panel.querySelector("[data-sync-now]").addEventListener("click", function () { sync(false); });
    var savedAt = Number(document.body.dataset.staffSavedAt);
    if (savedAt) {
      state.online = false;
      markCopy(savedAt);
    }
    render();
    if (device() && navigator.onLine && !savedAt) maybePrepare();
    sync(false);
    setInterval(function () { sync(false); }, SYNC_EVERY_MS);
    // A tablet waiting for approval asks every few seconds, so it is ready soon after a coordinator approved it.
    setInterval(function () { if (waitingApproval() && navigator.onLine) prepare(); }, APPROVAL_POLL_MS);
  });

  window.BusCheckin = { decide: decide, sync: sync, prepare: prepare, queue: queue, fold: fold };
})();
