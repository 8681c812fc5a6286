// Service worker of the couchsync clinic app (generated from web/src/sw.js by web/build.mjs).
//
// Caches the app shell (index.html, the hashed bundle and stylesheet, icon, manifest) at install, so
// the app loads with no network after the first visit. Pages: network first (a new deployment shows
// up on the next load), the cached shell when the server cannot be reached within 3 s. Hashed
// assets: cache first. Only GET requests below the app's own path are handled; the data API
// (/_session, /{db}/…) always goes to the network, and PouchDB keeps the data offline.
const VERSION = %VERSION%;
const SHELL = %SHELL%;
const CACHE = `couchsync-app-${VERSION}`;
const SCOPE = new URL('./', self.location.href).pathname;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('couchsync-app-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), ms));
}

async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await Promise.race([fetch(request), timeout(3000)]);
    if (response.ok) {
      await cache.put('./', response.clone());
      return response;
    }
    return (await cache.match('./')) || response;
  } catch {
    const cached = await cache.match('./');
    if (cached) return cached;
    throw new Error('offline and no cached app');
  }
}

async function asset(request) {
  const cached = await caches.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && /-[A-Z0-9]{8,}\.[a-z0-9]+$/.test(new URL(request.url).pathname)) {
    (await caches.open(CACHE)).put(request, response.clone());
  }
  return response;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) return;
  const rel = url.pathname.slice(SCOPE.length);
  if (request.mode === 'navigate' || rel === '' || rel === 'index.html') {
    event.respondWith(page(request));
  } else if (rel !== 'sw.js') {
    event.respondWith(asset(request));
  }
});
