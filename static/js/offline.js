/* Offline support on the page: registers the service worker, shows the connection and the outbox, keeps forms
 * marked data-outbox="booking|feedback" on the phone when there is no network, and marks saved copies of pages.
 * A form marked data-outbox-private (the Mitmach-Station, station.js) shows nothing of a kept answer.
 * Every sentence comes from the page (#pwa-strings, rendered in the visitor's language by the server).
 * Without JavaScript, or without IndexedDB, the forms are plain forms that the server answers as usual. */
(function () {
  "use strict";

  var ONLINE_TIMEOUT_MS = 15000;
  var BUSY_RETRY_MS = 3000;
  // The town's time zone, as the server wrote it on the page (<body data-timezone>, the TIMEZONE setting).
  function timeZone() { return (document.body && document.body.dataset.timezone) || undefined; }

  var S = {};
  var storeProblem = null; // set when IndexedDB does not work on this phone
  var retryTimer = null;
  var historyPushed = false;

  function readStrings() {
    var el = document.getElementById("pwa-strings");
    try {
      S = el ? JSON.parse(el.getAttribute("content")) : {};
    } catch (err) {
      S = {};
    }
  }

  // A sentence of a table: a plain text, or one text per CLDR plural category, chosen for the number n.
  function plural(text, n) {
    if (!text || typeof text !== "object") return text || "";
    var form = "other";
    try {
      form = new Intl.PluralRules(lang()).select(n);
    } catch (err) {
      form = n === 1 ? "one" : "other";
    }
    return text[form] || text.other || "";
  }

  function t(name, values) {
    var text = plural(S[name], values && values.n);
    Object.keys(values || {}).forEach(function (key) {
      text = text.split("{" + key + "}").join(String(values[key]));
    });
    return text;
  }

  // A new key for one submission (the server counts a submission once per key).
  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  // What the pages' own scripts share (the Mitmach-Station, the paper cards): their sentences (data-strings on
  // `element`) with {n} put in and the plural chosen, and new keys for their forms.
  window.OfflinePage = {
    say: function (element, name, n) {
      var table = {};
      try {
        table = (element && JSON.parse(element.getAttribute("data-strings"))) || {};
      } catch (err) {
        table = {};
      }
      return plural(table[name], n).split("{n}").join(String(n));
    },
    // A sentence's form for the number n ({one: ..., other: ...}, by CLDR's rules for the page's language).
    plural: plural,
    newKey: newKey,
  };

  function lang() {
    return document.documentElement.lang || "de";
  }

  // A moment as the server writes it (weekday, date and time in the city's time zone, busapp/core/i18n.py weekday_at):
  // the page carries the CLDR patterns and names, so a Persian phone shows the Gregorian date with the digits the
  // server uses, not the Solar Hijri calendar, and English shows the 24-hour clock.
  function pad(n, width) {
    var s = String(n);
    while (s.length < width) s = "0" + s;
    return s;
  }

  function wallClock(ms) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: timeZone(), hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", weekday: "short",
    }).formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    return {
      y: Number(parts.year), M: Number(parts.month), d: Number(parts.day), H: Number(parts.hour) % 24,
      m: Number(parts.minute), E: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.weekday),
    };
  }

  function applyPattern(pattern, w, D) {
    return pattern.replace(/'([^']*)'|([A-Za-z])\2*/g, function (all, quoted, letter) {
      if (quoted !== undefined) return quoted === "" ? "'" : quoted;
      var n = all.length;
      switch (letter) {
        case "E": case "e": return D.weekdays[w.E];
        case "c": return D.weekdaysAlone[w.E];
        case "d": return pad(w.d, n);
        case "M": return n >= 3 ? D.months[w.M - 1] : pad(w.M, n);
        case "L": return n >= 3 ? D.monthsAlone[w.M - 1] : pad(w.M, n);
        case "y": return n === 2 ? pad(w.y % 100, 2) : pad(w.y, n);
        case "H": return pad(w.H, n);
        case "h": return pad(w.H % 12 || 12, n);
        case "m": return pad(w.m, n);
        case "a": return D.ampm[w.H >= 12 ? 1 : 0];
        default: return all;
      }
    });
  }

  function formatTime(ms) {
    var D = S.dates;
    try {
      if (!D) throw new Error("no date patterns on this page");
      var w = wallClock(ms);
      return D.join.split("{1}").join(applyPattern(D.date, w, D)).split("{0}").join(applyPattern(D.time, w, D));
    } catch (err) {
      return new Date(ms).toLocaleString();
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function online() {
    return navigator.onLine !== false;
  }

  /* ---------- service worker ---------- */

  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    var meta = document.querySelector('meta[name="pwa-worker"]');
    var url = meta && meta.getAttribute("content");
    if (!url) return;
    if (url === "off") {
      navigator.serviceWorker.getRegistrations().then(function (registrations) {
        registrations.forEach(function (registration) {
          registration.unregister();
        });
      }).catch(function () {});
      return;
    }
    var controlled = !!navigator.serviceWorker.controller;
    navigator.serviceWorker.register(url, {scope: "/", updateViaCache: "none"}).then(function () {
      // The first page a person opens (often from a poster's QR code) came before the worker: keep it too.
      if (!controlled) keepPage(location.href);
    }).catch(function () {
      // No worker (private mode, old browser): the pages still work online.
    });
  }

  function keepPage(url) {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) registration.active.postMessage({type: "keep", url: String(url)});
    });
  }

  function askForSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.getRegistration().then(function (registration) {
      if (registration && registration.sync) return registration.sync.register(Outbox.SYNC_TAG);
    }).catch(function () {
      // No Background Sync (iOS, Firefox): page load, `online` and "Send now" cover it.
    });
  }

  /* ---------- status bar and outbox list ---------- */

  function statusBar() {
    var bar = document.getElementById("status-bar");
    if (!bar) return null;
    var box = bar.querySelector(".pwa-status");
    if (!box) {
      box = el("div", "pwa-status");
      var net = el("span", "pwa-net");
      net.appendChild(el("span", "pwa-net__dot")).setAttribute("aria-hidden", "true");
      net.appendChild(el("span", "pwa-net__label"));
      box.appendChild(net);
      box.appendChild(el("span", "pwa-count"));
      var send = el("button", "button button--small pwa-send", t("send_now"));
      send.type = "button";
      send.hidden = true;
      send.addEventListener("click", function () {
        sendNow(send);
      });
      box.appendChild(send);
      bar.appendChild(box);
    }
    return box;
  }

  function setText(node, text) {
    // Only real changes: the status bar is a live region, and a repeated sentence is noise for screen readers.
    if (node && node.textContent !== text) node.textContent = text;
  }

  function renderStatus(items) {
    var box = statusBar();
    if (!box) return;
    var isOnline = online();
    box.setAttribute("data-online", isOnline ? "yes" : "no");
    setText(box.querySelector(".pwa-net__label"), isOnline ? t("online") : t("offline_hint"));
    var waiting = (items || []).filter(function (item) {
      return item.state === "waiting";
    }).length;
    var attention = (items || []).some(function (item) {
      return item.state === "attention";
    });
    var text = waiting ? t("waiting", {n: waiting}) : "";
    var mine = privateForm();
    if (attention) text = (text + " " + (mine ? mine.getAttribute("data-outbox-private") : t("attention"))).trim();
    if (storeProblem) text = t("no_store", {reason: t(storeProblem === "quota" ? "reason_quota" : "reason_broken")});
    setText(box.querySelector(".pwa-count"), text);
    var send = box.querySelector(".pwa-send");
    send.hidden = !waiting || !!storeProblem;
  }

  function outboxSection() {
    var section = document.getElementById("outbox");
    if (section) return section;
    var main = document.getElementById("main");
    if (!main) return null;
    section = el("section", "outbox");
    section.id = "outbox";
    section.setAttribute("aria-labelledby", "outbox-title");
    var heading = el("h2", "outbox__title", t("outbox_title"));
    heading.id = "outbox-title";
    section.appendChild(heading);
    section.appendChild(el("ul", "outbox__list plain-list"));
    // After the page's own heading, so the headings stay in order.
    var h1 = main.querySelector("h1");
    if (h1 && h1.parentNode) h1.parentNode.insertBefore(section, h1.nextSibling);
    else main.insertBefore(section, main.firstChild);
    return section;
  }

  function renderItem(item) {
    var li = el("li", "outbox__item outbox__item--" + item.state);
    li.setAttribute("data-key", item.key);
    var head = el("p", "outbox__head");
    head.appendChild(el("span", "badge", t("kind_" + item.kind) || item.kind));
    head.appendChild(document.createTextNode(" "));
    head.appendChild(el("strong", "", item.title));
    li.appendChild(head);
    if (item.summary) li.appendChild(el("p", "outbox__summary", item.summary));
    li.appendChild(el("p", "meta", t("created", {time: formatTime(item.created_at)})));

    if (item.state === "waiting") {
      var note = t("state_waiting");
      if (item.last_error) note += ". " + (item.last_message || t("retry_" + item.last_error));
      li.appendChild(el("p", "outbox__state", note));
      return li;
    }

    var result = item.result || {};
    var badge = "badge badge--bad";
    var label = t("state_attention");
    if (item.state === "done") {
      badge = result.state === "waiting" ? "badge badge--warn" : "badge badge--ok";
      label = t({confirmed: "state_confirmed", waiting: "state_waiting_list"}[result.state] || "state_done");
    }
    var state = el("p", "outbox__state");
    state.appendChild(el("span", badge, label));
    li.appendChild(state);
    var message = result.message || (item.state === "attention" ? statusMessage(result.http) : "");
    if (message) li.appendChild(el("p", "outbox__message", message));

    var errors = result.errors || {};
    var errorTexts = [];
    Object.keys(errors).forEach(function (field) {
      [].concat(errors[field]).forEach(function (text) {
        errorTexts.push(String(text));
      });
    });
    if (errorTexts.length) {
      var ul = el("ul", "outbox__errors");
      errorTexts.forEach(function (text) {
        ul.appendChild(el("li", "", text));
      });
      li.appendChild(ul);
    }

    if (item.state === "done" && item.kind === "mitreden" && /[?&]folgen=/.test(result.url || "")) {
      // The thank-you page, with the private link to follow the idea.
      var follow = el("a", "button", t("follow_idea"));
      follow.href = result.url;
      li.appendChild(follow);
    }
    if (item.state === "done" && result.url && item.kind === "booking") {
      var ticket = el("a", "button", t(result.state === "waiting" ? "show_waiting" : "show_ticket"));
      ticket.href = result.url;
      li.appendChild(ticket);
    }

    var alternatives = (result.alternatives || []).filter(function (alt) {
      return alt && alt.url;
    });
    if (alternatives.length) {
      li.appendChild(el("p", "outbox__alt-title", t("alternatives")));
      var list = el("ul", "outbox__alternatives");
      alternatives.forEach(function (alt) {
        var entry = el("li");
        var link = el("a", "", alt.title || alt.url);
        link.href = alt.url;
        entry.appendChild(link);
        var facts = [alt.when, alt.place].filter(Boolean);
        if (typeof alt.seats_free === "number") facts.push(t("seats_free", {n: alt.seats_free}));
        if (facts.length) entry.appendChild(el("span", "meta", facts.join(" · ")));
        list.appendChild(entry);
      });
      li.appendChild(list);
    }

    var actions = el("p", "actions");
    if (item.state === "attention" && item.page && result.http !== 404) {
      var again = el("a", "button button--secondary", t("open_form"));
      again.href = item.page;
      actions.appendChild(again);
    }
    var dismiss = el("button", "button button--secondary outbox__dismiss", t("dismiss"));
    dismiss.type = "button";
    dismiss.addEventListener("click", function () {
      Outbox.dismiss(item.key).then(refresh, refresh);
    });
    actions.appendChild(dismiss);
    li.appendChild(actions);
    return li;
  }

  function statusMessage(code) {
    var known = {400: "error_400", 404: "error_404", 409: "error_409", 413: "error_413", 422: "error_422"};
    return known[code] ? t(known[code]) : t("error_other", {code: code || "?"});
  }

  // A form that one person after another fills in: its page lists nothing of what was given.
  function privateForm() {
    return document.querySelector("form[data-outbox-private]");
  }

  function renderOutbox(items) {
    var list = privateForm() && document.getElementById("outbox");
    if (list) list.remove();
    if (privateForm()) return;
    // "Saved on your phone" next to a form is out of date once the answer is in the list.
    document.querySelectorAll(".pwa-notice[data-outbox-key]").forEach(function (box) {
      var key = box.getAttribute("data-outbox-key");
      var waiting = items.some(function (item) {
        return item.key === key && item.state === "waiting";
      });
      if (!waiting) box.remove();
    });
    var existing = document.getElementById("outbox");
    if (!items.length) {
      if (existing) existing.remove();
      return;
    }
    var section = outboxSection();
    if (!section) return;
    var list = section.querySelector(".outbox__list");
    var fresh = document.createDocumentFragment();
    items.slice().reverse().forEach(function (item) {
      fresh.appendChild(renderItem(item));
    });
    list.replaceChildren(fresh);
  }

  function refresh() {
    if (storeProblem) {
      renderStatus([]);
      return Promise.resolve();
    }
    return Outbox.all().then(function (items) {
      renderStatus(items);
      renderOutbox(items);
      planRetry(items);
    }, function (err) {
      noteStoreProblem(err);
      renderStatus([]);
    });
  }

  function noteStoreProblem(err) {
    storeProblem = err && err.name === "QuotaExceededError" ? "quota" : "broken";
  }

  /* ---------- sending ---------- */

  function flush(force) {
    if (storeProblem || typeof Outbox === "undefined") return Promise.resolve();
    if (!force && !online()) return Promise.resolve();
    return Outbox.flush({force: force}).then(function (report) {
      if (report.busy) schedule(BUSY_RETRY_MS);
      return refresh();
    }, function (err) {
      noteStoreProblem(err);
      return refresh();
    });
  }

  function sendNow(button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    var label = button.textContent;
    button.textContent = t("sending");
    flush(true).then(function () {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      button.textContent = label;
    });
  }

  function schedule(ms) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () {
      flush(false);
    }, Math.max(500, ms));
  }

  // While the page stays open, an item that had to wait is tried again when its time comes, and one whose lease ends
  // (its sender was closed while the answer was on its way) is sent again then.
  function planRetry(items) {
    var next = null;
    items.forEach(function (item) {
      var due = Outbox.dueAt(item);
      if (item.state === "waiting" && due && (next === null || due < next)) next = due;
    });
    if (next !== null) schedule(next - Date.now());
  }

  /* ---------- forms ---------- */

  function outboxForm(node) {
    return node && node.closest ? node.closest("form[data-outbox]") : null;
  }

  function usesHtmx(form) {
    return form.hasAttribute("hx-post") || form.hasAttribute("data-hx-post") || !!form.closest('[hx-boost="true"]');
  }

  function fieldsOf(form, submitter) {
    var data;
    try {
      data = submitter ? new FormData(form, submitter) : new FormData(form);
    } catch (err) {
      data = new FormData(form);
      if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    }
    var fields = [];
    data.forEach(function (value, name) {
      if (typeof value === "string") fields.push([name, value]);
    });
    return fields;
  }

  // A random secret kept with the queued item and sent with it: a replay proves with it that it comes from the
  // phone that sent the form first, so the server answers it even if the browser's session has gone since.
  function secretOf(form) {
    if (!form.getAttribute("data-outbox-secret")) {
      var bytes = new Uint8Array(24);
      crypto.getRandomValues(bytes);
      var hex = Array.prototype.map.call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
      form.setAttribute("data-outbox-secret", hex);
    }
    return form.getAttribute("data-outbox-secret");
  }

  function outboxFields(form, submitter) {
    var fields = fieldsOf(form, submitter).filter(function (pair) {
      return pair[0] !== "outbox_secret";
    });
    fields.push(["outbox_secret", secretOf(form)]);
    return fields;
  }

  function valueOf(fields, name) {
    for (var i = 0; i < fields.length; i++) if (fields[i][0] === name) return fields[i][1];
    return "";
  }

  function labelText(node) {
    if (!node) return "";
    var copy = node.cloneNode(true);
    copy.querySelectorAll(".optional, .visually-hidden").forEach(function (x) {
      x.remove();
    });
    return copy.textContent.replace(/\s+/g, " ").trim();
  }

  // The form's own title, else the page title without the site name ("Book a seat: Video calls"), else the h1.
  function titleOf(form) {
    var given = form.getAttribute("data-outbox-title");
    if (given) return given;
    var parts = document.title.split(" · ");
    if (parts.length > 1) parts.pop();
    var title = parts.join(" · ").trim();
    var h1 = document.querySelector("main h1");
    return title || (h1 ? labelText(h1) : "");
  }

  // What the person filled in, in a line, so they recognise it in the outbox list.
  function summaryOf(form) {
    if (form.hasAttribute("data-outbox-private")) return "";
    var given = form.getAttribute("data-outbox-summary");
    if (given) return given;
    var parts = [];
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.disabled || field.type === "hidden" || field.type === "submit" || field.type === "button") return;
      if ((field.type === "radio" || field.type === "checkbox") && !field.checked) return;
      // Only choices (party size, rating, workshop): what a person typed (name, contact, notes) is personal and
      // stays out of the list, which is shown on every page of this device until dismissed.
      if (field.tagName !== "SELECT" && field.type !== "radio") return;
      var value = field.tagName === "SELECT" ? labelText(field.options[field.selectedIndex]) : String(field.value || "").trim();
      if (!value) return;
      var label = field.labels && field.labels[0] ? labelText(field.labels[0]) : field.name;
      if (field.type === "radio") {
        var legend = field.closest("fieldset") && field.closest("fieldset").querySelector("legend");
        parts.push((legend ? labelText(legend) + ": " : "") + label);
      } else if (field.type === "checkbox") {
        return;
      } else {
        parts.push(label + ": " + (value.length > 60 ? value.slice(0, 59) + "…" : value));
      }
    });
    var text = parts.join(" · ");
    return text.length > 240 ? text.slice(0, 239) + "…" : text;
  }

  function notice(form, message, tone, detail) {
    var box = form.previousElementSibling;
    if (!box || !box.classList.contains("pwa-notice")) {
      box = el("div", "pwa-notice notice");
      box.tabIndex = -1;
      form.parentNode.insertBefore(box, form);
    }
    box.className = "pwa-notice notice notice--" + tone;
    box.removeAttribute("data-outbox-key");
    box.setAttribute("role", tone === "bad" ? "alert" : "status");
    box.replaceChildren(el("p", "pwa-notice__text", message));
    if (detail) box.appendChild(el("p", "pwa-notice__detail", detail));
    box.focus();
    return box;
  }

  function nativeSubmit(form, submitter) {
    if (submitter && submitter.name) {
      var extra = document.createElement("input");
      extra.type = "hidden";
      extra.name = submitter.name;
      extra.value = submitter.value;
      form.appendChild(extra);
    }
    HTMLFormElement.prototype.submit.call(form);
  }

  function storeFailedMessage(err) {
    var reason = err && err.name === "QuotaExceededError" ? t("reason_quota") : t("reason_broken");
    return t("store_failed", {reason: reason});
  }

  function queue(form, submitter, afterFailure) {
    // A form that asks for it (feedback) carries the time the person acted: the answer may arrive much later.
    var fields = outboxFields(form, submitter).map(function (pair) {
      return pair[0] === "given_at" && !pair[1] ? ["given_at", new Date().toISOString()] : pair;
    });
    var key = valueOf(fields, "idempotency_key");
    if (!key || typeof Outbox === "undefined" || storeProblem) {
      // Without a key a later replay could not be recognised: only a normal attempt is safe.
      if (online() || afterFailure) {
        notice(form, storeFailedMessage(null), "warn", t("store_failed_online"));
        nativeSubmit(form, submitter);
      } else {
        notice(form, storeFailedMessage(null), "bad", t("store_failed_offline"));
      }
      return;
    }
    var item = {
      key: key,
      kind: form.getAttribute("data-outbox"),
      action: form.action,
      fields: fields,
      title: titleOf(form),
      summary: summaryOf(form),
      page: location.href.split("#")[0],
    };
    Outbox.add(item).then(function () {
      if (oneAfterAnother(form)) {
        // station.js (paper.js) empties the form for the next person (card) and says how many wait.
        setBusy(form, false);
        form.dispatchEvent(new CustomEvent("outbox:kept", {bubbles: true}));
      } else {
        notice(form, t("saved"), "ok", item.summary).setAttribute("data-outbox-key", key);
        form.hidden = true;
      }
      askForSync();
      refresh();
      if (online()) flush(false);
    }, function (err) {
      if (err && err.name === "ConstraintError") {
        if (oneAfterAnother(form)) return; // kept once already: the form stays for the next person
        notice(form, t("already_saved"), "ok").setAttribute("data-outbox-key", key);
        form.hidden = true;
        return;
      }
      noteStoreProblem(err);
      if (online()) {
        notice(form, storeFailedMessage(err), "warn", t("store_failed_online"));
        nativeSubmit(form, submitter);
      } else {
        notice(form, storeFailedMessage(err), "bad", t("store_failed_offline"));
      }
      refresh();
    });
  }

  // The station, paper cards (data-outbox-next): once kept, emptied for the next.
  function oneAfterAnother(form) {
    return form.hasAttribute("data-outbox-private") || form.hasAttribute("data-outbox-next");
  }

  function setBusy(form, busy) {
    form.setAttribute("aria-busy", busy ? "true" : "false");
    Array.prototype.forEach.call(form.querySelectorAll('button[type="submit"], button:not([type]), input[type="submit"]'),
      function (button) {
        button.disabled = busy;
      });
  }

  // Online, the form is sent as always (a plain POST the server answers with a page); only when no answer comes
  // (the network drops, or nothing for 15 seconds) does the outbox take over, with the same idempotency key.
  function sendOnline(form, submitter) {
    var fields = outboxFields(form, submitter);
    var body = new URLSearchParams();
    fields.forEach(function (pair) {
      body.append(pair[0], pair[1]);
    });
    var controller = new AbortController();
    var timer = setTimeout(function () {
      controller.abort();
    }, ONLINE_TIMEOUT_MS);
    setBusy(form, true);
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: {"Accept": "text/html,application/xhtml+xml"},
      signal: controller.signal,
    }).then(function (response) {
      return response.text().then(function (html) {
        return {response: response, html: html};
      });
    }).then(function (answer) {
      clearTimeout(timer);
      if (answer.response.status >= 500) {
        // The server is in trouble (503: the database is away) and stored nothing: the outbox sends it again.
        setBusy(form, false);
        queue(form, submitter, true);
        return;
      }
      showAnswer(answer.response, answer.html);
    }, function () {
      clearTimeout(timer);
      setBusy(form, false);
      queue(form, submitter, true);
    });
  }

  // Shows the server's answer page in place of this one, as the browser would have after a normal submit.
  function showAnswer(response, html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    if (!doc.body || !doc.getElementById("main")) {
      // Not one of our pages (a proxy's error, say): let the browser show it.
      location.assign(response.url);
      return;
    }
    if (response.redirected && response.url !== location.href) {
      history.pushState({pwa: true}, "", response.url);
      historyPushed = true;
      keepPage(response.url);
    }
    document.title = doc.title;
    ["lang", "dir", "data-lang"].forEach(function (name) {
      var value = doc.documentElement.getAttribute(name);
      if (value) document.documentElement.setAttribute(name, value);
      else document.documentElement.removeAttribute(name);
    });
    adoptHead(doc);
    document.body.replaceWith(document.adoptNode(doc.body));
    window.scrollTo(0, 0);
    mount();
    var summary = document.getElementById("error-summary");
    (summary || document.getElementById("main")).focus();
    if (window.htmx) window.htmx.process(document.body);
    document.dispatchEvent(new CustomEvent("pwa:swap", {detail: {url: response.url, status: response.status}}));
  }

  function adoptHead(doc) {
    var strings = doc.getElementById("pwa-strings");
    var mine = document.getElementById("pwa-strings");
    if (strings && mine) mine.setAttribute("content", strings.getAttribute("content"));
    readStrings();
    doc.head.querySelectorAll('link[rel="stylesheet"]').forEach(function (link) {
      if (!document.head.querySelector('link[rel="stylesheet"][href="' + link.getAttribute("href") + '"]')) {
        document.head.appendChild(document.importNode(link, true));
      }
    });
    doc.head.querySelectorAll("script[src]").forEach(function (script) {
      if (!document.head.querySelector('script[src="' + script.getAttribute("src") + '"]')) {
        var fresh = document.createElement("script");
        fresh.src = script.getAttribute("src");
        document.head.appendChild(fresh);
      }
    });
  }

  function onSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-outbox") || event.defaultPrevented) return;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return;
    var submitter = event.submitter || null;
    if (online()) {
      if (usesHtmx(form)) return; // htmx sends it; a network failure arrives as htmx:sendError below
      if (storeProblem || typeof fetch !== "function" || typeof AbortController !== "function") return;
      event.preventDefault();
      event.stopImmediatePropagation();
      sendOnline(form, submitter);
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    queue(form, submitter, false);
  }

  function onHtmxFailure(event) {
    var form = outboxForm(event.detail && event.detail.elt);
    if (form) queue(form, null, true);
  }

  /* ---------- saved copies and the offline page ---------- */

  function markSavedCopy() {
    var savedAt = Number(document.body.getAttribute("data-saved-at"));
    var main = document.getElementById("main");
    if (!savedAt || !main || main.querySelector(".pwa-copy")) return;
    var banner = el("p", "notice notice--warn pwa-copy", t("saved_at", {time: formatTime(savedAt)}));
    banner.setAttribute("role", "status");
    main.insertBefore(banner, main.firstChild);
    // A saved page's forms carry the keys of the day it was saved; each new submission needs its own key.
    document.querySelectorAll('form[data-outbox] input[name="idempotency_key"]').forEach(function (input) {
      input.value = newKey();
    });
  }

  function listSavedPages() {
    var box = document.getElementById("saved-pages");
    if (!box || !window.caches) return;
    var name = box.getAttribute("data-cache");
    caches.has(name).then(function (exists) {
      if (!exists) return [];
      return caches.open(name).then(function (cache) {
        return cache.keys().then(function (requests) {
          return Promise.all(requests.map(function (request) {
            return cache.match(request).then(function (response) {
              return {
                url: request.url,
                title: decodeURIComponent(response.headers.get("X-Saved-Title") || ""),
                at: Number(response.headers.get("X-Saved-At")) || 0,
              };
            });
          }));
        });
      });
    }).then(function (pages) {
      pages = pages.filter(function (p) {
        return new URL(p.url).pathname !== "/offline";
      }).sort(function (a, b) {
        return b.at - a.at;
      });
      if (!pages.length) {
        box.replaceChildren(el("p", "", t("no_saved_pages")));
        return;
      }
      var list = el("ul", "saved-pages");
      pages.forEach(function (p) {
        var entry = el("li");
        var link = el("a", "", p.title.split(" · ")[0] || p.url);
        link.href = p.url;
        entry.appendChild(link);
        entry.appendChild(el("span", "meta", t("saved_when", {time: formatTime(p.at)})));
        list.appendChild(entry);
      });
      box.replaceChildren(list);
    }).catch(function () {});
  }

  /* ---------- personal data on this device ---------- */

  function ticketPath(url) {
    try {
      var u = new URL(url, location.href);
      return u.origin === location.origin && u.pathname.indexOf(readPaths().ticket) === 0 ? u.pathname : null;
    } catch (err) {
      return null;
    }
  }

  // Deletes the saved copies of pages that `test(url, response)` picks, in every page cache of this site.
  function dropSavedPages(test) {
    if (!window.caches) return Promise.resolve(0);
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("dwb-pages-") === 0;
      }).map(function (name) {
        return caches.open(name).then(function (cache) {
          return cache.keys().then(function (requests) {
            return Promise.all(requests.map(function (request) {
              return Promise.resolve(test(new URL(request.url), cache, request)).then(function (drop) {
                return drop ? cache.delete(request) : false;
              });
            }));
          });
        });
      }));
    }).catch(function () {
      return 0;
    });
  }

  function dropCaches(prefix) {
    if (!window.caches || !prefix) return;
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf(prefix) === 0;
      }).map(function (name) {
        return caches.delete(name);
      }));
    }).catch(function () {});
  }

  function renderedSignedIn(url, cache, request) {
    return cache.match(request).then(function (response) {
      return response ? response.text() : "";
    }).then(function (html) {
      return /<body[^>]*\sdata-signed-in[\s>=]/i.test(html) || /action="[^"]*\/signout"[^>]*class="inline-form"/.test(html);
    });
  }

  function removeTicketData(path) {
    var items = typeof Outbox === "undefined" || storeProblem ? Promise.resolve(0) : Outbox.removeWhere(function (item) {
      var url = item.result && item.result.url;
      return path ? ticketPath(url) === path : item.kind === "booking" || !!ticketPath(url);
    }).catch(function () {
      return 0;
    });
    var pages = dropSavedPages(function (url) {
      return path ? url.pathname === path : url.pathname.indexOf(readPaths().ticket) === 0;
    });
    return Promise.all([items, pages]);
  }

  function mountPrivacy() {
    // After sign-out: pages saved while someone was signed in go (newer ones are never saved: no-store).
    if (document.querySelector("[data-signed-out]")) {
      dropSavedPages(renderedSignedIn);
      // The staff pages a tablet kept for offline use belong to a sign-in: they go with it.
      dropCaches(readPaths().staffCachePrefix);
    }
    // A booking whose personal data was deleted: its outbox entries and saved copies go from this device too.
    var forgotten = document.querySelector("[data-forgotten]");
    if (forgotten) removeTicketData(forgotten.getAttribute("data-forgotten")).then(refresh, refresh);
    document.querySelectorAll("[data-remove-tickets]").forEach(function (section) {
      var button = section.querySelector(".remove-tickets__button");
      if (!button || (!window.caches && typeof Outbox === "undefined")) return;
      section.hidden = false;
      button.addEventListener("click", function () {
        button.disabled = true;
        removeTicketData(null).then(function () {
          setText(section.querySelector(".remove-tickets__done"), t("tickets_removed"));
          button.disabled = false;
          refresh();
          listSavedPages();
        });
      });
    });
  }

  /* ---------- my bookings on this phone ---------- */

  function readPaths() {
    var meta = document.getElementById("pwa-paths");
    try {
      return meta ? JSON.parse(meta.getAttribute("content")) : {};
    } catch (err) {
      return {};
    }
  }

  // The tickets this phone keeps (pages saved by the service worker under the ticket path) and bookings that
  // still wait in the outbox, newest first; each entry opens its ticket, which also works offline.
  function listMyBookings() {
    var box = document.getElementById("my-bookings");
    if (!box) return;
    var paths = readPaths();
    var saved = !window.caches || !paths.pagesCache ? Promise.resolve([]) : caches.has(paths.pagesCache)
      .then(function (exists) {
        if (!exists) return [];
        return caches.open(paths.pagesCache).then(function (cache) {
          return cache.keys().then(function (requests) {
            return Promise.all(requests.filter(function (request) {
              return new URL(request.url).pathname.indexOf(paths.ticket) === 0;
            }).map(function (request) {
              return cache.match(request).then(function (response) {
                return {
                  url: request.url,
                  title: decodeURIComponent(response.headers.get("X-Saved-Title") || ""),
                  at: Number(response.headers.get("X-Saved-At")) || 0,
                };
              });
            }));
          });
        });
      }).catch(function () { return []; });
    var pending = (storeProblem || typeof Outbox === "undefined") ? Promise.resolve([]) :
      Outbox.all().then(function (items) {
        return items.filter(function (item) {
          return item.kind === "booking" && item.state === "waiting";
        });
      }, function () { return []; });
    Promise.all([saved, pending]).then(function (found) {
      var tickets = found[0].sort(function (a, b) { return b.at - a.at; });
      var waiting = found[1];
      if (!tickets.length && !waiting.length) {
        box.replaceChildren(el("p", "", t("no_tickets")));
        return;
      }
      var list = el("ul", "my-bookings plain-list");
      waiting.forEach(function (item) {
        var entry = el("li", "card my-bookings__item");
        entry.appendChild(el("p", "", (item.title || t("kind_booking"))));
        entry.appendChild(el("p", "meta", t("ticket_waiting")));
        list.appendChild(entry);
      });
      tickets.forEach(function (p) {
        var entry = el("li", "card my-bookings__item");
        var link = el("a", "my-bookings__link", p.title.split(" · ")[0] || p.url);
        link.href = p.url;
        entry.appendChild(link);
        entry.appendChild(el("p", "meta", t("saved_when", {time: formatTime(p.at)})));
        list.appendChild(entry);
      });
      box.replaceChildren(list);
    });
  }

  /* ---------- wiring ---------- */

  // Everything that lives in <body>; runs again when showAnswer() has put a new body in place.
  function mount() {
    renderStatus([]);
    markSavedCopy();
    listSavedPages();
    listMyBookings();
    mountPrivacy();
    refresh();
  }

  function start() {
    readStrings();
    if (typeof Outbox === "undefined") {
      storeProblem = "broken";
    } else {
      Outbox.keepPage = keepPage;
      Outbox.onChange(refresh);
      Outbox.open().then(function () {
        // The language tag (Leichte Sprache is "de-x-ls" while the page says lang="de") picks the offline page.
        Outbox.setMeta("lang", document.documentElement.getAttribute("data-lang") || lang()).catch(function () {});
      }, noteStoreProblem);
    }
    registerWorker();
    mount();
    flush(false);

    document.addEventListener("submit", onSubmit, true);
    document.addEventListener("htmx:sendError", onHtmxFailure);
    document.addEventListener("htmx:timeout", onHtmxFailure);
    document.addEventListener("htmx:responseError", function (event) {
      var xhr = event.detail && event.detail.xhr;
      if (xhr && xhr.status >= 500) onHtmxFailure(event);
    });
    document.addEventListener("htmx:configRequest", function (event) {
      if (outboxForm(event.detail && event.detail.elt)) event.detail.timeout = ONLINE_TIMEOUT_MS;
    });
    window.addEventListener("online", function () {
      refresh();
      flush(true);
    });
    window.addEventListener("offline", function () {
      refresh();
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") flush(false);
    });
    window.addEventListener("popstate", function () {
      // Pages shown by showAnswer() were not loaded by the browser: load the one it went back to.
      if (historyPushed) location.reload();
    });
  }

  // The parts that need no page around them, for the unit tests in tests/js/ (the page itself does not use this).
  window.PwaPage = {readStrings: readStrings, t: t, formatTime: formatTime, statusMessage: statusMessage};

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
