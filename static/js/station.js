// The Mitmach-Station: one person after another at one tablet. After a while without a touch or a key, and after an
// answer the tablet keeps because it has no network ("outbox:kept" from offline.js), the form is emptied in place
// with a new key, so the next person meets an empty form and nothing of the last person's answers. In place, not by
// loading the page again: without network there would be no page to load. The wait is read from
// data-idle-seconds each time, so it can be changed on the page.
(function () {
  "use strict";
  var timer = null;

  function root() {
    return document.getElementById("station");
  }

  function newKey() {
    return window.OfflinePage.newKey();
  }

  // Empties the form for the next person; `keepNotice` leaves the "thank you, N waiting" line of the answer just
  // kept (it says nothing of that answer).
  function clear(keepNotice) {
    var station = root();
    var form = document.getElementById("mitreden-form");
    if (!station || !form) return;
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.type === "radio" || field.type === "checkbox") field.checked = false;
      else if (field.tagName === "TEXTAREA" || (field.tagName === "INPUT" && /^(text|search|email|tel|number)$/.test(field.type))) field.value = "";
      else if (field.tagName === "SELECT") field.selectedIndex = 0;
      field.removeAttribute("aria-invalid");
    });
    var key = form.querySelector('input[name="idempotency_key"]');
    if (key) key.value = newKey();
    // offline.js keeps a secret per form for its replays: each person's answer gets its own.
    form.removeAttribute("data-outbox-secret");
    form.hidden = false;
    var gone = ".station-thanks, .mitreden-refusal, .error-summary, .error-message" + (keepNotice ? "" : ", .station-kept");
    station.querySelectorAll(gone).forEach(function (node) {
      node.remove();
    });
    station.querySelectorAll(".field--error").forEach(function (node) {
      node.classList.remove("field--error");
    });
    var url = station.getAttribute("data-station-url");
    if (url && window.location.pathname + window.location.search !== url) window.history.replaceState(null, "", url);
    window.scrollTo(0, 0);
  }

  function restart() {
    var station = root();
    if (timer) clearTimeout(timer);
    if (!station) return;
    var seconds = parseFloat(station.getAttribute("data-idle-seconds")) || 60;
    timer = setTimeout(function () {
      timer = null;
      clear(false);
    }, seconds * 1000);
  }

  // After a thank-you the first field has the focus, so the next person can start with the keyboard at once.
  function focusFirst() {
    var station = root();
    if (!station || !station.querySelector(".station-thanks")) return;
    var first = station.querySelector("#mitreden-form input:not([type=hidden]), #mitreden-form textarea, #mitreden-form select");
    if (first) first.focus({preventScroll: true});
  }

  // The page's own sentences (data-strings), read by offline.js: {n} and, for "waiting", the plural form.
  function say(name, n) {
    return window.OfflinePage ? window.OfflinePage.say(root(), name, n) : "";
  }

  // "Thank you! N answers are waiting to be sent." over the empty form: nothing of anyone's answers.
  function showWaiting(focus) {
    var station = root();
    var form = document.getElementById("mitreden-form");
    if (!station || !form || typeof Outbox === "undefined") return;
    Outbox.all().then(function (items) {
      var box = station.querySelector(".station-kept");
      if (!box && !focus) return;
      var waiting = items.filter(function (item) {
        return item.state === "waiting";
      }).length;
      if (!box) {
        box = document.createElement("div");
        box.className = "pwa-notice notice notice--ok station-kept";
        box.setAttribute("role", "status");
        box.tabIndex = -1;
        box.appendChild(document.createElement("p")).className = "pwa-notice__text";
        box.appendChild(document.createElement("p")).className = "pwa-notice__detail";
        form.parentNode.insertBefore(box, form);
      }
      var text = waiting ? say("waiting", waiting) : say("sent", 0);
      var line = box.querySelector(".pwa-notice__text");
      if (line.textContent !== text) line.textContent = text;
      box.querySelector(".pwa-notice__detail").textContent = say("next", 0);
      if (focus) box.focus();
    }, function () {});
  }

  var observer = new MutationObserver(restart);

  function mount() {
    var station = root();
    if (!station) return;
    // Tests and staff may change the wait on the page; start counting again with the new value.
    observer.disconnect();
    observer.observe(station, {attributes: true, attributeFilter: ["data-idle-seconds"]});
    focusFirst();
    restart();
  }

  ["pointerdown", "keydown", "input", "focusin", "wheel", "touchstart"].forEach(function (name) {
    document.addEventListener(name, restart, {passive: true, capture: true});
  });
  document.addEventListener("outbox:kept", function (event) {
    if (!event.target || event.target.id !== "mitreden-form") return;
    clear(true);
    showWaiting(true);
  });
  // Online, offline.js puts the server's answer page in place of this one: the new page's station, once more.
  document.addEventListener("pwa:swap", mount);
  // After the outbox's scripts, which come later in the page (all deferred, so they run before DOMContentLoaded).
  var started = false;
  function start() {
    if (started) return;
    started = true;
    if (typeof Outbox !== "undefined") Outbox.onChange(function () {
      showWaiting(false);
    });
    mount();
  }
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
