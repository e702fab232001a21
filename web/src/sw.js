// Satchel's service worker: precaches the app shell and both .wasm builds
// under a versioned cache, answers from it (so the app opens offline), and
// deletes old caches once a new version takes over. A new version waits
// until the app asks it to take over (the rep taps "Update"), so a page is
// never served by two versions at once. The backend is another origin: its
// requests are never touched.
/* eslint-env serviceworker */
var VERSION = "satchel-__VERSION__";
var PRECACHE = __PRECACHE__;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(VERSION).then(function (cache) {
    return cache.addAll(PRECACHE.map(function (p) { return new Request(p, { cache: "reload" }); }));
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return k.indexOf("satchel-") === 0 && k !== VERSION;
    }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  if (event.data === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === "navigate") {
    // Any navigation inside the scope opens the shell (query strings too).
    event.respondWith(caches.open(VERSION).then(function (cache) {
      return cache.match("index.html").then(function (hit) { return hit || fetch(req); });
    }));
    return;
  }
  event.respondWith(caches.open(VERSION).then(function (cache) {
    return cache.match(req, { ignoreSearch: true }).then(function (hit) { return hit || fetch(req); });
  }));
});
