/* Retired service worker (SW_KILL_SWITCH is on): it removes this app's caches and unregisters itself.
 * The outbox in IndexedDB is left alone: the pages keep sending what is waiting in it. */
"use strict";

const PREFIX = {{ prefix|tojson }};

self.addEventListener("install", (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    await self.clients.claim();
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith(PREFIX)).map((n) => caches.delete(n)));
    await self.registration.unregister();
    // Reload open pages from the network, now without any worker in between.
    const windows = await self.clients.matchAll({type: "window"});
    await Promise.all(windows.map((client) => client.navigate(client.url).catch(() => null)));
  })());
});
