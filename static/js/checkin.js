// The staff tablet offline: keeps the registered tablet's credential, prepares the day's data, decides check-ins
// locally while the network is away (same rules as busapp/checkin/service.py), queues each action with the device
// id, a sequence number and a nonce, and sends the queue when the network is back. Pages work without this script.
(function () {
  "use strict";

  var KEY = "busapp.staff.";
  var SYNC_EVERY_MS = 30000;
  var state = { online: navigator.onLine, syncing: false };

  // --- storage -----------------------------------------------------------------------------------------------
  function load(name, fallback) {
    try { var v = localStorage.getItem(KEY + name); return v ? JSON.parse(v) : fallback; } catch (e) { return fallback; }
  }
  function save(name, value) { localStorage.setItem(KEY + name, JSON.stringify(value)); }
  function drop(name) { localStorage.removeItem(KEY + name); }

  function device() { return load("device", null); }
  function queue() { return load("queue", []); }
  function local() { return load("local", { arrived: {}, used: {}, walkins: [] }); }
  function day() {
    var d = load("day", null);
    if (d && new Date(d.expires_at) <= new Date()) { drop("day"); drop("local"); return null; }
    return d;
  }

  function newNonce() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

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
  }

  // --- the status panel ----------------------------------------------------------------------------------------
  var panel = null;

  function text(key, values) {
    var s = (panel && panel.dataset[key]) || "";
    Object.keys(values || {}).forEach(function (k) { s = s.replace("{" + k + "}", values[k]); });
    return s;
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
    if (!device()) dayLine.textContent = text("textUnregistered");
    else if (!d) dayLine.textContent = text("textUnprepared");
    else dayLine.textContent = text("textPrepared", { time: new Date(d.expires_at).toLocaleString() });
    var problems = panel.querySelector("[data-sync-problems]");
    problems.textContent = "";
    load("problems", []).forEach(function (p) {
      var li = document.createElement("li");
      li.className = "flash flash--warning";
      li.textContent = p;
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

  async function prepare() {
    if (!device() || !panel) return;
    var url = panel.dataset.dayUrl + (panel.dataset.stopId ? "?stop=" + panel.dataset.stopId : "");
    try {
      var response = await fetch(url, { headers: headers(), credentials: "same-origin", cache: "no-store" });
      if (response.status === 401) { drop("device"); render(); return; }
      if (!response.ok) return;
      var data = await response.json();
      save("day", data);
      // The QR reader's files, so scanning works offline too (the service worker keeps what passes through it).
      JSON.parse(panel.dataset.offlineFiles || "[]").forEach(function (file) {
        fetch(file, { credentials: "same-origin" }).catch(function () { /* tried again at the next prepare */ });
      });
      save("local", { arrived: {}, used: {}, walkins: [] });
      if (load("sequence", 0) < data.device.last_sequence) save("sequence", data.device.last_sequence);
      setOnline(true);
    } catch (e) { setOnline(false); }
    render();
  }

  async function sync(finish) {
    if (!device() || !panel || state.syncing) return false;
    var q = queue();
    if (!q.length && !finish) return true;
    state.syncing = true;
    try {
      var response = await fetch(panel.dataset.syncUrl, {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: Object.assign({ "Content-Type": "application/json" }, headers()),
        body: JSON.stringify({ items: q, user_id: Number(panel.dataset.userId) || null, finish: !!finish })
      });
      if (response.status === 401) { drop("device"); render(); return false; }
      if (!response.ok) return false;
      var result = await response.json();
      var answered = {};
      var problems = load("problems", []);
      result.results.forEach(function (r) {
        if (!r.nonce) return;
        answered[r.nonce] = true;
        var who = r.booking ? (r.booking.name || r.booking.code) + ": " : "";
        if (r.conflict) problems.push(who + text("textConflict"));
        else if (["valid", "done", "again"].indexOf(r.outcome) === -1) problems.push(text("textRefused") + " " + who + r.message);
      });
      // Only what the server answered leaves the queue; anything sent meanwhile stays for the next round.
      save("queue", queue().filter(function (item) { return !answered[item.nonce]; }));
      save("problems", problems.slice(-20));
      setOnline(true);
      return queue().length === 0;
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
    if (booking.workshop_id !== workshopId) return { outcome: "other_workshop", booking: booking };
    if (arrivedOf(booking)) return { outcome: "again", booking: booking };
    return { outcome: "valid", booking: booking };
  }

  function markArrived(booking, people) {
    var l = local();
    l.arrived[booking.id] = people;
    save("local", l);
  }

  // --- acting offline on the pages' forms ----------------------------------------------------------------------
  function showAnswer(result) {
    var box = document.getElementById("answer");
    if (!box) return;
    box.className = "answer answer--" + result.outcome;
    box.dataset.outcome = result.outcome;
    box.dataset.offline = "true";
    box.textContent = "";
    var title = document.createElement("p");
    title.className = "answer__title";
    title.textContent = answerText(result.outcome);
    box.appendChild(title);
    if (result.booking) {
      var who = document.createElement("p");
      who.className = "answer__name";
      who.textContent = (result.booking.name || result.booking.code) + " · " + result.booking.party_size;
      box.appendChild(who);
      if (result.booking.needs_note) {
        var note = document.createElement("p");
        note.className = "answer__note";
        note.textContent = result.booking.needs_note;
        box.appendChild(note);
      }
    }
  }

  function answerText(outcome) {
    var texts = {};
    try { texts = JSON.parse(panel.dataset.answers || "{}"); } catch (e) { /* keep the outcome's name */ }
    return texts[outcome] || outcome;
  }

  function updateRow(bookingId, people, partySize) {
    var row = document.getElementById("booking-" + bookingId);
    if (!row) return;
    row.classList.remove("door-row--confirmed");
    row.classList.toggle("door-row--in", people > 0);
    row.dataset.offline = "true";
    var badge = row.querySelector(".door-row__state .badge");
    if (badge) badge.textContent = people ? people + " / " + partySize + " ✔" : "–";
    var counter = document.querySelector("[data-count=checked_in]");
    if (counter) counter.textContent = String(Math.max(0, Number(counter.textContent) + people));
  }

  async function offlineAction(form, detail) {
    var d = day();
    // htmx's copy of the form includes the button that was pressed (its name and value say what to do).
    var data = (detail && detail.requestConfig && detail.requestConfig.formData) || new FormData(form);
    var action = form.getAttribute("hx-post") || form.action;
    var list = document.getElementById("list");
    var workshopId = Number(list ? list.dataset.workshopId : /workshops\/(\d+)/.exec(action)[1]);
    if (!d) { showAnswer({ outcome: "unprepared" }); return; }
    if (/\/scan$/.test(action)) {
      var result = await decide(String(data.get("code") || ""), workshopId);
      if (result.outcome === "valid") {
        markArrived(result.booking, result.booking.party_size);
        enqueue({ kind: "checkin", workshop_id: workshopId, booking_id: result.booking.id, nonce: newNonce() });
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
      var used = l.used[workshopId] || 0;
      if (!name) return;
      if (!w || used + size > w.share) { showAnswer({ outcome: "full" }); flash(answerText("full")); return; }
      l.used[workshopId] = used + size;
      l.walkins.push({ name: name, party_size: size, workshop_id: workshopId });
      save("local", l);
      enqueue({ kind: "walkin", workshop_id: workshopId, name: name, party_size: size, nonce: String(data.get("nonce")) });
      form.querySelector("input[name=name]").value = "";
      form.querySelector("input[name=nonce]").value = newNonce();
      flash(name + ": " + answerText("valid"));
      return;
    }
    var kind = String(data.get("kind") || "");
    var bookingId = Number(data.get("booking_id"));
    var booking = d.bookings.filter(function (b) { return b.id === bookingId; })[0];
    if (!booking) return;
    var people = Number(data.get("people")) || booking.party_size;
    if (kind === "checkin") {
      if (arrivedOf(booking)) { flash(answerText("again")); return; }
      markArrived(booking, people);
      updateRow(bookingId, people, booking.party_size);
    } else if (kind === "undo") {
      markArrived(booking, 0);
      updateRow(bookingId, 0, booking.party_size);
    } else if (kind === "count") {
      markArrived(booking, people);
    } else {
      return;  // seating a waiting party needs the server's seat count
    }
    enqueue({ kind: kind, workshop_id: workshopId, booking_id: bookingId, people: people, nonce: String(data.get("nonce")) });
  }

  function flash(message) {
    var bar = document.getElementById("status-bar");
    if (bar) bar.textContent = message || "";
  }

  function isStaffForm(form) {
    var url = form.getAttribute("hx-post") || "";
    return /\/staff\/workshops\/\d+\/(act|walkin|scan)$/.test(url);
  }

  // htmx asks first: offline, the action is decided here instead of being sent.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form || form.tagName !== "FORM" || !isStaffForm(form)) return;
    if (navigator.onLine && state.online) return;
    event.preventDefault();
    offlineAction(form, event.detail);
  });
  // The request left but no answer came: decide here; the server, if it got it, answers the replay the same.
  document.addEventListener("htmx:sendError", function (event) {
    var form = event.detail.elt;
    setOnline(false);
    if (form && form.tagName === "FORM" && isStaffForm(form)) offlineAction(form, event.detail);
  });
  // A staff sign-in that expired: the tap is kept in the queue (sent with the tablet's credential), then sign in.
  document.addEventListener("htmx:responseError", function (event) {
    var form = event.detail.elt;
    if (event.detail.xhr.status === 401 && form && form.tagName === "FORM" && isStaffForm(form) && day()) {
      offlineAction(form, event.detail);
      sync(false);
    }
  });
  document.addEventListener("htmx:configRequest", function (event) {
    var d = device();
    if (d) event.detail.headers["X-Device-Credential"] = d.credential;
  });

  // Sign-out sends what is waiting first, hands back the walk-in seats, and wipes the day's data once all is sent.
  document.addEventListener("submit", async function (event) {
    var form = event.target;
    if (!form.action || !/\/signout$/.test(new URL(form.action, location.href).pathname)) return;
    if (form.dataset.sent === "true") return;
    if (!device()) { drop("day"); drop("local"); drop("problems"); return; }
    event.preventDefault();
    flash(panel ? panel.dataset.textSigningOut : "");
    var done = await sync(true);
    if (done) {
      drop("day"); drop("local"); drop("problems");
    } else if (form.dataset.warned !== "true") {
      flash(panel ? panel.dataset.textUnsent : "");
      form.dataset.warned = "true";  // a second press signs out; the queue and the day stay on this tablet
      return;
    }
    form.dataset.sent = "true";
    form.submit();
  }, true);

  window.addEventListener("online", function () { setOnline(true); sync(false); });
  window.addEventListener("offline", function () { setOnline(false); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) sync(false); });

  document.addEventListener("DOMContentLoaded", function () {
    var fresh = document.getElementById("device-credential");
    if (fresh) {
      save("device", { credential: fresh.dataset.credential, id: Number(fresh.dataset.deviceId), name: fresh.dataset.deviceName });
      drop("day");
      save("sequence", 0);
    }
    panel = document.getElementById("sync");
    if (!panel) return;
    panel.querySelector("[data-sync-prepare]").addEventListener("click", prepare);
    panel.querySelector("[data-sync-now]").addEventListener("click", function () { sync(false); });
    render();
    var d = day();
    if (device() && (!d || String(d.stop.id) !== panel.dataset.stopId)) prepare();
    sync(false);
    setInterval(function () { sync(false); }, SYNC_EVERY_MS);
  });

  window.BusCheckin = { decide: decide, sync: sync, prepare: prepare, queue: queue };
})();
