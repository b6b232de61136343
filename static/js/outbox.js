/* The offline outbox: bookings and feedback kept on this phone (IndexedDB) until the server has answered them.
 *
 * Shared by the pages (offline.js) and the service worker (importScripts), so it holds no page code.
 * An item is sent again with its idempotency key until a definite answer arrives: a 2xx or 4xx answer settles it
 * ("done" or "attention", shown to the person until they dismiss it); no answer or a 5xx keeps it "waiting" and
 * it is tried again later. One sender at a time (Web Locks, else a lease in IndexedDB), and each item is claimed
 * before it is sent, so two triggers firing together do not send an item twice.
 */
(function (global) {
  "use strict";

  var DB_NAME = "dwb-outbox";
  var DB_VERSION = 1;
  var ITEMS = "items";
  var META = "meta";
  var SYNC_TAG = "dwb-outbox";
  var LOCK_NAME = "dwb-outbox-send";
  var SEND_TIMEOUT_MS = 20000;
  // A claimed item is left alone this long; a bit more than one send may take, so that an item claimed by a page
  // that was closed while sending is free again soon (and under Web Locks it is free at once, see claim()).
  var LEASE_MS = SEND_TIMEOUT_MS + 10000;
  var STALE_LEASE_CHECK_MS = 2000;
  var FIRST_RETRY_MS = 5000;
  var MAX_RETRY_MS = 10 * 60 * 1000;

  var dbPromise = null;
  var listeners = [];
  var channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("dwb-outbox") : null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var request;
      try {
        request = global.indexedDB.open(DB_NAME, DB_VERSION);
      } catch (err) {
        reject(err);
        return;
      }
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains(ITEMS)) db.createObjectStore(ITEMS, {keyPath: "key"});
        if (!db.objectStoreNames.contains(META)) db.createObjectStore(META, {keyPath: "k"});
      };
      request.onsuccess = function () {
        var db = request.result;
        // Deleted or upgraded elsewhere: let go, and open afresh on the next use.
        db.onversionchange = function () {
          db.close();
          dbPromise = null;
        };
        db.onclose = function () {
          dbPromise = null;
        };
        resolve(db);
      };
      request.onerror = function () {
        reject(request.error || new Error("IndexedDB could not be opened"));
      };
      request.onblocked = function () {
        reject(new Error("IndexedDB is blocked by another tab"));
      };
    });
    dbPromise.catch(function () {
      dbPromise = null;
    });
    return dbPromise;
  }

  // Runs `work(tx, out)` in one transaction; resolves with out.value once the transaction has committed.
  function run(stores, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx;
        var out = {value: undefined};
        try {
          tx = db.transaction(stores, mode);
        } catch (err) {
          dbPromise = null;
          reject(err);
          return;
        }
        tx.oncomplete = function () {
          resolve(out.value);
        };
        tx.onabort = function () {
          reject(tx.error || new Error("IndexedDB transaction aborted"));
        };
        work(tx, out);
      });
    });
  }

  function notify() {
    listeners.forEach(function (fn) {
      try {
        fn();
      } catch (err) {
        // One broken listener must not stop the others.
      }
    });
  }

  function changed() {
    notify();
    if (channel) channel.postMessage("changed");
  }

  if (channel) channel.onmessage = notify;

  function all() {
    return run([ITEMS], "readonly", function (tx, out) {
      var request = tx.objectStore(ITEMS).getAll();
      request.onsuccess = function () {
        out.value = request.result.sort(function (a, b) {
          return a.created_at - b.created_at;
        });
      };
    });
  }

  function add(item) {
    var action = new URL(String(item.action), global.location.href);
    if (action.origin !== global.location.origin) {
      // Replays carry the person's cookies: they only ever go back to this site.
      return Promise.reject(new TypeError("outbox: only forms of this site can be kept"));
    }
    var record = {
      key: String(item.key),
      kind: String(item.kind || ""),
      action: action.href,
      fields: item.fields,
      title: String(item.title || ""),
      summary: String(item.summary || ""),
      page: String(item.page || ""),
      created_at: Date.now(),
      state: "waiting",
      attempts: 0,
      next_at: 0,
      lease_until: 0,
      last_error: "",
      status: 0,
      result: null,
    };
    // add(), not put(): a second submit of the same form must not overwrite the first (ConstraintError).
    return run([ITEMS], "readwrite", function (tx) {
      tx.objectStore(ITEMS).add(record);
    }).then(function () {
      changed();
      return record;
    });
  }

  function update(key, change) {
    return run([ITEMS], "readwrite", function (tx, out) {
      var store = tx.objectStore(ITEMS);
      var request = store.get(key);
      request.onsuccess = function () {
        var item = request.result;
        if (!item) return;
        var next = change(item);
        if (next) {
          store.put(next);
          out.value = next;
        }
      };
    });
  }

  // Only a settled item can be removed, and only by the person: a waiting item is never dropped.
  function dismiss(key) {
    return run([ITEMS], "readwrite", function (tx, out) {
      var store = tx.objectStore(ITEMS);
      var request = store.get(key);
      request.onsuccess = function () {
        if (request.result && request.result.state !== "waiting") {
          store.delete(key);
          out.value = true;
        }
      };
    }).then(function (removed) {
      if (removed) changed();
      return !!removed;
    });
  }

  // Removes the settled items `test` picks (a booking whose data was deleted, a person's tickets on a shared
  // device); an item still waiting to be sent is never removed. Resolves to the number removed.
  function removeWhere(test) {
    return run([ITEMS], "readwrite", function (tx, out) {
      var store = tx.objectStore(ITEMS);
      var request = store.getAll();
      out.value = 0;
      request.onsuccess = function () {
        request.result.forEach(function (item) {
          if (item.state !== "waiting" && test(item)) {
            store.delete(item.key);
            out.value += 1;
          }
        });
      };
    }).then(function (removed) {
      if (removed) changed();
      return removed;
    });
  }

  function getMeta(name) {
    return run([META], "readonly", function (tx, out) {
      var request = tx.objectStore(META).get(name);
      request.onsuccess = function () {
        out.value = request.result ? request.result.v : null;
      };
    });
  }

  function setMeta(name, value) {
    return run([META], "readwrite", function (tx) {
      tx.objectStore(META).put({k: name, v: value});
    });
  }

  // `exclusive`: this context holds the outbox's Web Lock, which the browser releases when its holder goes away, so
  // a lease still on an item belongs to a sender that was closed while sending (its answer lost): it is stale.
  function claim(key, exclusive) {
    var now = Date.now();
    return update(key, function (item) {
      if (item.state !== "waiting" || (!exclusive && item.lease_until > now)) return null;
      item.lease_until = now + LEASE_MS;
      return item;
    });
  }

  function withLock(work) {
    var locks = global.navigator && global.navigator.locks;
    if (locks && typeof locks.request === "function") {
      return locks.request(LOCK_NAME, {ifAvailable: true}, function (lock) {
        return lock ? work(true) : null;
      });
    }
    return withLease(work);
  }

  function withLease(work) {
    var owner = Math.random().toString(36).slice(2);
    return run([META], "readwrite", function (tx, out) {
      var store = tx.objectStore(META);
      var request = store.get("send-lease");
      request.onsuccess = function () {
        var lease = request.result && request.result.v;
        if (lease && lease.until > Date.now()) {
          out.value = false;
          return;
        }
        store.put({k: "send-lease", v: {owner: owner, until: Date.now() + LEASE_MS}});
        out.value = true;
      };
    }).then(function (got) {
      if (!got) return null;
      var release = function () {
        return run([META], "readwrite", function (tx) {
          var store = tx.objectStore(META);
          var request = store.get("send-lease");
          request.onsuccess = function () {
            if (request.result && request.result.v.owner === owner) store.delete("send-lease");
          };
        });
      };
      return Promise.resolve(false).then(work).then(function (value) {
        return release().then(function () {
          return value;
        });
      }, function (err) {
        return release().then(function () {
          throw err;
        });
      });
    });
  }

  function retryDelay(attempts) {
    var base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * Math.pow(2, Math.max(0, attempts - 1)));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  function post(item) {
    var body = new URLSearchParams();
    item.fields.forEach(function (pair) {
      body.append(pair[0], pair[1]);
    });
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () {
      controller.abort();
    }, SEND_TIMEOUT_MS) : null;
    return fetch(item.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      cache: "no-store",
      headers: {"Accept": "application/json", "X-Outbox": "1"},
      signal: controller ? controller.signal : undefined,
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try {
          data = JSON.parse(text);
        } catch (err) {
          data = null;
        }
        return {
          status: response.status,
          data: data && typeof data === "object" ? data : null,
          url: response.redirected ? response.url : "",
          retryAfter: response.headers.get("Retry-After"),
        };
      });
    }).then(function (answer) {
      clearTimeout(timer);
      return answer;
    }, function () {
      clearTimeout(timer);
      return {status: 0, network: true};
    });
  }

  // A replay hours later may find the session gone; the page it came from hands out a valid token again.
  function freshToken(item) {
    if (!item.page) return Promise.resolve(null);
    return fetch(item.page, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "text/html"}})
      .then(function (response) {
        return response.ok ? response.text() : "";
      })
      .then(function (html) {
        var match = /name="csrf_token"[^>]*value="([^"]+)"/.exec(html) || /value="([^"]+)"[^>]*name="csrf_token"/.exec(html);
        return match ? match[1] : null;
      })
      .catch(function () {
        return null;
      });
  }

  // 401: the sender's sign-in ended (paper cards): wait, whole, for the next.
  function outcomeOf(answer) {
    if (answer.network || answer.status >= 500 || answer.status === 429 || answer.status === 408 ||
        answer.status === 401) return "retry";
    var data = answer.data || {};
    if (answer.status >= 200 && answer.status < 300 && data.ok !== false) return "done";
    return "attention";
  }

  function resultOf(answer) {
    var data = answer.data || {};
    return {
      http: answer.status,
      ok: outcomeOf(answer) === "done",
      state: typeof data.state === "string" ? data.state : "",
      message: typeof data.message === "string" ? data.message : "",
      url: typeof data.url === "string" ? data.url : (answer.url || ""),
      code: typeof data.code === "string" ? data.code : "",
      alternatives: Array.isArray(data.alternatives) ? data.alternatives : [],
      errors: data.errors && typeof data.errors === "object" ? data.errors : {},
    };
  }

  // CSRF failures come as 400 (errors.py) or as a 422 naming the csrf_token field (forms that check their own).
  function expiredToken(answer) {
    if (answer.status === 400) return true;
    var errors = answer.data && answer.data.errors;
    return answer.status === 422 && !!errors && Object.prototype.hasOwnProperty.call(errors, "csrf_token");
  }

  function sendOne(item, tokenRenewed) {
    return post(item).then(function (answer) {
      var outcome = outcomeOf(answer);
      if (outcome === "attention" && expiredToken(answer) && !tokenRenewed) {
        return freshToken(item).then(function (token) {
          if (!token) return settle(item, answer, outcome);
          item.fields = item.fields.map(function (pair) {
            return pair[0] === "csrf_token" ? ["csrf_token", token] : pair;
          });
          return update(item.key, function (stored) {
            stored.fields = item.fields;
            return stored;
          }).then(function () {
            return sendOne(item, true);
          });
        });
      }
      return settle(item, answer, outcome);
    });
  }

  function settle(item, answer, outcome) {
    var now = Date.now();
    return update(item.key, function (stored) {
      stored.lease_until = 0;
      stored.status = answer.status || 0;
      if (outcome === "retry") {
        stored.attempts += 1;
        var wait = /^\d+$/.test(answer.retryAfter || "") ? Number(answer.retryAfter) * 1000 : retryDelay(stored.attempts);
        stored.next_at = now + wait;
        stored.last_error = answer.network ? "network" : ({429: "busy", 401: "signin"}[answer.status] || "server");
        stored.last_message = answer.status === 401 ? String((answer.data || {}).message || "") : "";
      } else {
        stored.state = outcome;
        stored.result = resultOf(answer);
        stored.settled_at = now;
        stored.last_error = "";
        // The answer is what the person needs now; what they typed (names, contacts) need not stay on the phone.
        stored.fields = [];
      }
      return stored;
    }).then(function (stored) {
      changed();
      if (stored && outcome === "done" && stored.result.url && Outbox.keepPage) {
        // So that the ticket opens offline, too.
        try {
          Outbox.keepPage(stored.result.url);
        } catch (err) {
          // Keeping a copy is a bonus; the result itself is stored.
        }
      }
      return outcome;
    });
  }

  function drain(force, exclusive) {
    var tried = {};
    var report = {sent: 0, retry: false, busy: false};
    function next() {
      return all().then(function (items) {
        var now = Date.now();
        var waiting = items.filter(function (item) {
          return item.state === "waiting";
        });
        var due = waiting.filter(function (item) {
          return !tried[item.key] && (force || item.next_at <= now);
        });
        if (!due.length) {
          report.retry = report.retry || waiting.length > 0;
          return report;
        }
        var item = due[0];
        tried[item.key] = true;
        return claim(item.key, exclusive).then(function (claimed) {
          if (!claimed) return next();
          return sendOne(claimed, false).then(function (outcome) {
            if (outcome === "retry") {
              // No connection or a server in trouble: the others would fare no better now.
              report.retry = true;
              return report;
            }
            report.sent += 1;
            return next();
          });
        });
      });
    }
    return next();
  }

  // Sends what is due (everything waiting, with force). Resolves to {sent, retry, busy}.
  function flush(options) {
    var force = !!(options && options.force);
    return withLock(function (exclusive) {
      return drain(force, exclusive);
    }).then(function (report) {
      return report || {sent: 0, retry: true, busy: true};
    });
  }

  // When a waiting item should be tried next: its retry time, or when its lease may be taken over. With Web Locks a
  // lease is checked again after a moment: if the lock is free then, its sender is gone and claim() ignores it.
  function dueAt(item) {
    var lease = item.lease_until || 0;
    var now = Date.now();
    var locks = global.navigator && global.navigator.locks;
    if (lease > now && locks && typeof locks.request === "function") lease = Math.min(lease, now + STALE_LEASE_CHECK_MS);
    return Math.max(item.next_at || 0, lease);
  }

  var Outbox = {
    SYNC_TAG: SYNC_TAG,
    dueAt: dueAt,
    open: openDb,
    all: all,
    add: add,
    dismiss: dismiss,
    removeWhere: removeWhere,
    flush: flush,
    getMeta: getMeta,
    setMeta: setMeta,
    onChange: function (fn) {
      listeners.push(fn);
    },
    // Set by the page or the worker: keeps a copy of a page (the new ticket) for offline use.
    keepPage: null,
  };

  global.Outbox = Outbox;
})(self);
