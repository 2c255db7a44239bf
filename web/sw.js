// The map page's service worker: keeps the page itself (HTML, scripts, styles,
// glyphs, the catalog) so that it opens with no network at all, where an
// offline pack (a commune's tiles in one PMTiles file) then draws the map.
//
// Network first, so a reachable server always gives the current files; the
// cache answers only when the network does not. Tiles and API answers are not
// kept: offline, the tiles come from the pack, and stale figures would mislead.
// The value lists' names (/api/codes) are words, not figures: kept, so that an
// offline legend says "Đê" and not "dyke".
'use strict';

const CACHE = 'agrimap-page-v2';
const SHELL = [
  '/',
  '/static/app.js',
  '/static/app.css',
  '/static/maplibre-gl.js',
  '/static/maplibre-gl.css',
  '/static/pmtiles.js',
  '/styles/farmer.json',
  '/catalog',
  '/api/codes',
  // The glyph ranges Vietnamese labels need.
  '/fonts/Noto%20Sans%20Regular/0-255.pbf',
  '/fonts/Noto%20Sans%20Regular/256-511.pbf',
  '/fonts/Noto%20Sans%20Regular/7680-7935.pbf',
];

function keepable(url) {
  return url.origin === self.location.origin &&
    (SHELL.includes(url.pathname) || url.pathname.startsWith('/static/') ||
      url.pathname.startsWith('/fonts/') || url.pathname.startsWith('/styles/'));
}

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || !keepable(url)) return;
  // The page's own address with a query or a hash is the same page.
  const key = url.pathname === '/' ? '/' : request;
  event.respondWith(fetch(request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(key, copy));
    }
    return response;
  }).catch(() => caches.match(key, { ignoreSearch: url.pathname === '/' }).then((cached) => cached || Response.error())));
});
