/* Service worker: the questionnaire keeps working on a phone that loses its connection.
   Served from /sw.js so its scope is the whole site. Hand-written, nothing fetched from elsewhere.

   - App shell (CSS, JS, htmx): network first, cached copy when offline.
   - Questionnaire pages (/q/<code>, GET navigations): network first, cached copy when offline,
     so 保存并继续 moves between steps offline. Cached per signed-in user ("portal-pages-<id>");
     whenever a page shows another user (data-user on <body>, "" when signed out) or the page
     reports a logout, every page cache is deleted.
   - Never cached: POSTs, /api/, /login, htmx fragment requests, redirects, error pages.
   - Background Sync ("portal-outbox"): asks open pages to replay the IndexedDB outbox; with none
     open it sends the pending answers itself and deletes only what the server accepted.
   - The offline page speaks the language of the last page seen: every page sends its `lang` and its
     words (templates/_js_messages.html) with its "user"/"precache" message; they are kept in META and
     written into the offline page, Chinese until a page has sent any. */
"use strict";

const SHELL = "portal-shell-v1";
const PAGES = "portal-pages-";
const META = "portal-meta";
const USER_KEY = "/__portal/user";
const WORDS_KEY = "/__portal/words";
const ZH_WORDS = {
  lang: "zh-Hans",
  messages: { offline_title: "离线", offline_heading: "当前离线",
              offline_body: "这一页还没有保存在本机，联网后即可打开。已填写的回答保存在本机，联网后自动同步。",
              offline_back: "回到问卷" },
};
const SHELL_URLS = ["/static/css/portal.css", "/static/js/portal.js", "/static/vendor/htmx-2.0.8.min.js"];
const CACHED_PAGE = /^\/q\/[a-z_]+$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL)
    .then((cache) => Promise.all(SHELL_URLS.map((url) => cache.add(url).catch(() => null))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("portal-shell-") && k !== SHELL)
      .map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

async function knownUser() {
  const hit = await (await caches.open(META)).match(USER_KEY);
  return hit ? hit.text() : "";
}

async function forgetPages() {
  const keys = await caches.keys();
  await Promise.all(keys.filter((k) => k.startsWith(PAGES)).map((k) => caches.delete(k)));
}

/* The page says whose it is; a different user (or nobody) than before wipes every cached page. */
async function noteUser(user) {
  if (user === await knownUser()) return;
  await forgetPages();
  await (await caches.open(META)).put(USER_KEY, new Response(user));
}

function userOf(html) {
  const m = /<body[^>]*\sdata-user="([^"]*)"/.exec(html);
  return m ? m[1] : null;
}

function cacheable(request, response) {
  const url = new URL(request.url);
  return response.status === 200 && !response.redirected && response.type === "basic" &&
    CACHED_PAGE.test(url.pathname) && url.pathname !== "/q/sync" &&
    (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
}

/* Reads who the page belongs to, then keeps a copy of a questionnaire page for that user. */
async function remember(request, response) {
  if ((response.headers.get("Content-Type") || "").indexOf("text/html") !== 0) return;
  const user = userOf(await response.clone().text());
  if (user === null) return;
  await noteUser(user);
  if (user && cacheable(request, response)) await (await caches.open(PAGES + user)).put(request.url, response);
}

async function cachedPage(request) {
  const user = await knownUser();
  if (!user) return null;
  const cache = await caches.open(PAGES + user);
  return (await cache.match(request.url, { ignoreSearch: false })) || cache.match(request.url, { ignoreSearch: true });
}

/* The language and words the pages sent last (see noteWords), else the Chinese. */
async function words() {
  try {
    const hit = await (await caches.open(META)).match(WORDS_KEY);
    const kept = hit ? await hit.json() : null;
    if (kept && kept.messages) return kept;
  } catch (err) { /* nothing kept or unreadable: Chinese */ }
  return ZH_WORDS;
}

async function noteWords(lang, messages) {
  if (typeof lang !== "string" || !lang || !messages || typeof messages !== "object") return;
  await (await caches.open(META)).put(WORDS_KEY, new Response(JSON.stringify({ lang: lang, messages: messages })));
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

async function offlinePage() {
  const kept = await words();
  const say = (key) => escapeHtml(kept.messages[key] || ZH_WORDS.messages[key]);
  // portal.js on this page reads the same words (outbox status, conflicts) from the data block.
  const data = JSON.stringify(kept.messages).replace(/</g, "\\u003c");
  const html = '<!doctype html><html lang="' + escapeHtml(kept.lang) + '"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>' + say("offline_title") + '</title>' +
    '<link rel="stylesheet" href="/static/css/portal.css"><script src="/static/js/portal.js" defer></script>' +
    '<script type="application/json" id="portal-messages">' + data + '</script></head>' +
    '<body data-offline-page="1"><main id="main">' +
    '<p id="outbox-status" class="outbox-status" role="status" aria-live="polite"></p>' +
    '<section id="outbox-panel" class="outbox-panel" hidden></section>' +
    '<h1>' + say("offline_heading") + '</h1><p>' + say("offline_body") + '</p>' +
    '<p><a href="/q">' + say("offline_back") + '</a></p></main></body></html>';
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

async function navigate(event) {
  const request = event.request;
  try {
    const response = await fetch(request);
    event.waitUntil(remember(request, response.clone()).catch(() => null));
    return response;
  } catch (err) {
    return (await cachedPage(request)) || offlinePage();
  }
}

async function shell(request) {
  const cache = await caches.open(SHELL);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") await cache.put(request, response.clone());
    return response;
  } catch (err) {
    const hit = await cache.match(request, { ignoreSearch: true });
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/sw.js") return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(shell(request));
  } else if (request.mode === "navigate") {
    event.respondWith(navigate(event));
  }
});

/* Fetches the step pages the user has not opened yet, so every step can be reached offline. */
async function precache(urls, user) {
  if (!user) return;
  await noteUser(user);
  const cache = await caches.open(PAGES + user);
  for (const url of urls) {
    if (!CACHED_PAGE.test(new URL(url, self.location.origin).pathname)) continue;
    if (await cache.match(url)) continue;
    try {
      const request = new Request(url, { credentials: "same-origin" });
      const response = await fetch(request);
      if (!cacheable(request, response)) continue;
      if (userOf(await response.clone().text()) !== user) return;  // signed out or another user meanwhile
      await cache.put(url, response);
    } catch (err) {
      return;  // offline: the next online visit tries again
    }
  }
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  const reply = () => { if (event.ports && event.ports[0]) event.ports[0].postMessage({ done: data.type }); };
  let work = data.type === "precache" || data.type === "user" ? noteWords(data.lang, data.messages) : Promise.resolve();
  if (data.type === "precache") work = work.then(() => precache((data.urls || []).map((u) => new URL(u, self.location.origin).href), String(data.user || "")));
  else if (data.type === "logout") work = noteUser("");
  else if (data.type === "user") work = work.then(() => noteUser(String(data.user || "")));
  event.waitUntil(work.catch(() => null).then(reply));
});

/* ---- Background Sync: the outbox lives in IndexedDB "portal" / "outbox" (see portal.js) ---- */

function openOutbox() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("portal", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("outbox", { keyPath: "id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function outboxCall(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction("outbox", mode);
    const req = fn(tx.objectStore("outbox"));
    tx.oncomplete = () => resolve(req && req.result);
    tx.onerror = () => reject(tx.error);
  });
}

async function replayHere() {
  const user = await knownUser();
  if (!user) return;
  const db = await openOutbox();
  const items = (await outboxCall(db, "readonly", (s) => s.getAll())) || [];
  for (const item of items) {
    if (item.user !== user || item.state !== "pending" || !item.csrf) continue;
    const body = new URLSearchParams();
    item.pairs.forEach((p) => body.append(p[0], p[1]));
    const response = await fetch(item.url, {   // a network error rejects: the browser retries the sync later
      method: "POST", body, credentials: "same-origin", redirect: "manual",
      headers: { "X-CSRFToken": item.csrf, "HX-Request": "true", "X-Requested-With": "fetch",
                 "Idempotency-Key": item.key },
    });
    // Anything but success is left for the page, which can show the user what to do.
    if (response.status >= 200 && response.status < 300) {
      await outboxCall(db, "readwrite", (s) => s.delete(item.id));
    }
  }
}

self.addEventListener("sync", (event) => {
  if (event.tag !== "portal-outbox") return;
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((wins) => {
    if (wins.length) {
      wins.forEach((c) => c.postMessage({ type: "replay" }));
      return null;
    }
    return replayHere();
  }));
});
