// The task page's own files, so that it opens with the network gone. Each is fetched from
// the network first (a deployed page is never stale while online) and kept for later; the
// API's answers are never touched: the page keeps its tasks in IndexedDB itself.
const CACHE = "taskapp-page-2";
const FILES = ["app", "static/app.js", "static/app.css", "static/manifest.json", "static/icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const scope = new URL(self.registration.scope);
  const url = new URL(event.request.url);
  const file = url.pathname.slice(scope.pathname.length);
  if (event.request.method !== "GET" || url.origin !== scope.origin || !FILES.includes(file)) {
    return;
  }
  const key = new URL(file, scope).href;  // the page's ?api= does not change the page
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(key, copy)));
        }
        return response;
      })
      .catch(() => caches.match(key).then((kept) => kept || Response.error())),
  );
});
