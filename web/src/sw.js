// Satchel's service worker: precaches the app shell and the one .wasm build
// this browser runs (the page's probe, repeated here: a worker cannot import
// the page's module) under a versioned cache, answers from it (so the app
// opens offline; anything else of the app fetched once, e.g. the other build
// under `?legacy=1`, is kept on the way), and
// deletes old caches once a new version takes over. A new version waits
// until the app asks it to take over (the rep taps "Update"), so a page is
// never served by two versions at once. The backend is another origin: its
// requests are never touched.
/* eslint-env serviceworker */
var VERSION = "satchel-__VERSION__";
var PRECACHE = __PRECACHE__;
var WASM = __WASM__;

/** A module using `i32.extend8_s` (as engine.js): valid only where sign extension exists. */
var SIGN_EXT_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127,
  3, 2, 1, 0, 10, 7, 1, 5, 0, 65, 0, 192, 11]);

function wasmBuild() {
  try { return WebAssembly.validate(SIGN_EXT_PROBE) ? WASM.web : WASM.legacy; } catch (e) { return WASM.legacy; }
}

self.addEventListener("install", function (event) {
  // "no-cache": revalidated with the server (a 304 when the page just
  // fetched the same file), so the first load does not download it twice.
  event.waitUntil(caches.open(VERSION).then(function (cache) {
    return cache.addAll(PRECACHE.concat(wasmBuild()).map(function (p) { return new Request(p, { cache: "no-cache" }); }));
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
    // Any navigation inside the scope opens the shell (query strings too),
    // precached once, as "./" (the page the first load already revalidates).
    event.respondWith(caches.open(VERSION).then(function (cache) {
      return cache.match("./").then(function (hit) { return hit || fetch(req); });
    }));
    return;
  }
  event.respondWith(caches.open(VERSION).then(function (cache) {
    return cache.match(req, { ignoreSearch: true }).then(function (hit) {
      return hit || fetch(req).then(function (res) {
        if (res.ok) cache.put(req, res.clone());
        return res;
      });
    });
  }));
});
