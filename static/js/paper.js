// Paper cards typed in by staff, one after another. When the tablet keeps a card because it has no network
// ("outbox:kept" from offline.js), the form is emptied in place with a new key (without network there is no page to
// load), the stop stays chosen for the next card of the same pile, and a line says how many cards wait to be sent.
// The sentences come from the page (data-strings on #paper), in the staff member's language.
(function () {
  "use strict";

  function root() {
    return document.getElementById("paper");
  }

  function newKey() {
    return window.OfflinePage.newKey();
  }

  // The page's own sentences (data-strings), read by offline.js: {n} and, for "waiting", the plural form.
  function say(name, n) {
    return window.OfflinePage ? window.OfflinePage.say(root(), name, n) : "";
  }

  // Empties the card for the next one; the stop it was filled in at stays.
  function clear(form) {
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name === "paper_stop") return;
      if (field.type === "radio" || field.type === "checkbox") field.checked = false;
      else if (field.tagName === "TEXTAREA" || (field.tagName === "INPUT" && /^(text|search|email|tel|number)$/.test(field.type))) field.value = "";
      else if (field.tagName === "SELECT") field.selectedIndex = 0;
      field.removeAttribute("aria-invalid");
    });
    var key = form.querySelector('input[name="idempotency_key"]');
    if (key) key.value = newKey();
    // offline.js keeps a secret per form for its replays: each card gets its own.
    form.removeAttribute("data-outbox-secret");
    form.hidden = false;
    var paper = root();
    paper.querySelectorAll(".mitreden-refusal, .error-summary, .error-message").forEach(function (node) {
      node.remove();
    });
    paper.querySelectorAll(".field--error").forEach(function (node) {
      node.classList.remove("field--error");
    });
    document.querySelectorAll(".flashes").forEach(function (node) {
      node.remove();
    });
  }

  // "Card saved. N cards are waiting for the network." above the empty form; `focus`: right after a card was kept.
  function showWaiting(focus) {
    var paper = root();
    var form = document.getElementById("mitreden-form");
    if (!paper || !form || typeof Outbox === "undefined") return;
    Outbox.all().then(function (items) {
      var box = paper.querySelector(".paper-kept");
      if (!box && !focus) return;
      var waiting = items.filter(function (item) {
        return item.kind === "paper" && item.state === "waiting";
      }).length;
      if (!box) {
        box = document.createElement("div");
        box.className = "notice notice--ok paper-kept";
        box.setAttribute("role", "status");
        box.appendChild(document.createElement("p"));
        form.parentNode.insertBefore(box, form);
      }
      var text = waiting ? say("waiting", waiting) : say("sent", 0);
      var line = box.querySelector("p");
      if (line.textContent !== text) line.textContent = text;
      if (focus) {
        // The next card starts at its first field; the line above is read out as a status.
        var first = form.querySelector("input:not([type=hidden]), textarea");
        if (first) first.focus();
      }
    }, function () {});
  }

  document.addEventListener("outbox:kept", function (event) {
    var form = event.target;
    if (!root() || !form || form.id !== "mitreden-form") return;
    clear(form);
    showWaiting(true);
  });

  var started = false;
  function start() {
    if (started) return;
    started = true;
    // The page may be the copy a prepared tablet kept (opened without network, perhaps many times): its first card
    // gets a key of its own each time, never the one the copy was kept with.
    var key = root() && document.querySelector('#mitreden-form input[name="idempotency_key"]');
    if (key) key.value = newKey();
    if (typeof Outbox !== "undefined") Outbox.onChange(function () {
      showWaiting(false);
    });
  }
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
