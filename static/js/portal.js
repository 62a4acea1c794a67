/* Progressive enhancement only: every page works without this file (plain form posts).

   Offline on the phone: answers that cannot reach the server wait in an IndexedDB outbox
   ("portal" / "outbox") that survives closed tabs and expired sessions, and are replayed on load,
   on `online`, when the tab becomes visible again and by Background Sync (sw.js) where the browser
   has it. 保存并继续 offline keeps the step's answers and opens the next step from the service
   worker's cache. Replay rules: 2xx delivered (removed); 401 kept, "sign in again" shown; 409
   kept as a conflict for the user to settle; 422 kept with the server's message; anything else kept
   for later. Nothing is ever dropped without the user choosing to. Plain ES2017, no build step. */
(function () {
  "use strict";
  const MIRROR = "portal.pendingAnswers";  // synchronous summary of the outbox (and the old queue's key)
  const body = document.body;
  const statusEl = () => document.getElementById("outbox-status");

  /* ---- words: templates/_js_messages.html (the page's language), the Chinese when a key is missing ---- */
  const ZH = {
    unanswered: "（未回答）", list_separator: "、", saved_field: "已保存：{label}", invalid: "这个回答未通过校验。",
    refused_http: "服务器未接受这个回答（HTTP {status}）。",
    expired_n: "登录已过期：{n} 个回答仅保存在本机，请重新登录后自动同步", offline_n: "离线：{n} 个回答仅保存在本机",
    offline: "离线：新的回答会先保存在本机", syncing_n: "正在同步 {n} 个回答…", pending_n: "{n} 个回答尚未同步，稍后自动重试",
    refused_n: "{n} 个回答需要您确认，见下方", synced: "已同步", sign_in_again: "重新登录",
    panel_title: "以下回答未能同步，请选择", changed_elsewhere: "已在另一台设备上修改。", yours: "您的回答：{answer}",
    server: "服务器上的回答：{answer}", use_mine: "用我的", use_theirs: "用服务器的", fix: "去修改", discard: "放弃这个回答",
  };
  const MESSAGES = (function () {
    const el = document.getElementById("portal-messages");
    try { return (el && JSON.parse(el.textContent)) || {}; } catch (e) { return {}; }
  })();
  /* t("offline_n", {n: 3}): the sentence with its {placeholders} filled; "<key>_one" when n is 1 and it exists. */
  function t(key, vars) {
    const one = vars && vars.n === 1 ? MESSAGES[key + "_one"] : null;
    const text = one || MESSAGES[key] || ZH[key] || key;
    return text.replace(/\{(\w+)\}/g, (m, name) => (vars && name in vars ? String(vars[name]) : m));
  }
  const panelEl = () => document.getElementById("outbox-panel");

  let items = [];          // last read of the outbox, all users
  let offline = navigator.onLine === false;
  let loginUrl = null;     // set once the server said 401: the session expired
  let synced = 0;          // answers delivered by the last replay
  let syncedTimer = null;
  let replaying = false;

  /* Whose page this is: "" when signed out, null on the service worker's offline page (unknown). */
  function me() {
    if (body.hasAttribute("data-offline-page")) return null;
    return body.getAttribute("data-user") || "";
  }
  function mine(list) {
    const user = me();
    return list.filter((it) => !user || it.user === user);  // signed out: whatever waits for anyone to sign in
  }
  function csrfToken() {
    try { return JSON.parse(body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { /* fall through */ }
    const input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  }

  /* ---- IndexedDB ---- */
  let dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
        const req = indexedDB.open("portal", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("outbox", { keyPath: "id" });
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return dbPromise;
  }
  async function call(mode, fn) {
    const conn = await db();
    return new Promise((resolve, reject) => {
      const tx = conn.transaction("outbox", mode);
      const req = fn(tx.objectStore("outbox"));
      tx.oncomplete = () => resolve(req && req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }
  const readAll = () => call("readonly", (s) => s.getAll()).then((r) => r || [], () => []);
  const put = (item) => call("readwrite", (s) => s.put(item));
  const remove = (id) => call("readwrite", (s) => s.delete(id));

  /* ---- the outbox ---- */
  function formPairs(el) {
    const pairs = [];
    el.querySelectorAll("input, select, textarea").forEach((input) => {
      if (!input.name || input.disabled) return;
      if ((input.type === "checkbox" || input.type === "radio") && !input.checked) return;
      pairs.push([input.name, input.value]);
    });
    return pairs;
  }
  function changed(el) {
    return Array.prototype.some.call(el.querySelectorAll("input, select, textarea"), (input) => {
      if (input.type === "checkbox" || input.type === "radio") return input.checked !== input.defaultChecked;
      if (input.tagName === "SELECT") return Array.prototype.some.call(input.options, (o) => o.selected !== o.defaultSelected);
      return input.type !== "hidden" && input.value !== input.defaultValue;
    });
  }
  function shownValue(pairs, field) {
    const el = document.getElementById("q-" + field);
    const words = pairs.filter((p) => p[0] === field && p[1] !== "").map((p) => {
      const input = el && el.querySelector('input[name="' + field + '"][value="' + CSS.escape(p[1]) + '"]');
      const label = input && input.closest("label");
      if (!label) return p[1];
      const copy = label.cloneNode(true);  // the option in the page's language, without the Chinese beside it
      copy.querySelectorAll(".alt").forEach((alt) => alt.remove());
      return copy.textContent.trim();
    });
    return words.join(t("list_separator")) || t("unanswered");
  }

  async function keep(el) {
    const user = me();
    const field = el.getAttribute("data-autosave");
    if (!user || !field) return;  // signed-out or unknown pages have no answers of their own to keep
    const pairs = formPairs(el);
    const version = pairs.find((p) => p[0] === "v__" + field);
    await put({
      id: user + "|" + field, user: user, field: field, label: el.getAttribute("data-label") || field,
      url: el.getAttribute("hx-post"), pairs: pairs, base: version ? Number(version[1]) : null,
      key: newKey(), queuedAt: Date.now(), page: location.pathname, csrf: csrfToken(), state: "pending",
      mine: shownValue(pairs, field),
    });
    await refresh();
    el.classList.add("offline");
    askForSync();
  }

  function askForSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then((reg) => reg.sync && reg.sync.register("portal-outbox")).catch(() => null);
  }

  /* Answers still waiting are shown in the questions they belong to, even on a page from the cache. */
  function restoreQueued() {
    mine(items).filter((it) => it.state === "pending").forEach((it) => {
      const el = document.getElementById("q-" + it.field);
      if (!el) return;
      const given = it.pairs.filter((p) => !p[0].startsWith("v__"));
      el.querySelectorAll("input, select, textarea").forEach((input) => {
        if (!input.name || input.name.startsWith("v__") || input.type === "hidden") return;
        const values = given.filter((p) => p[0] === input.name).map((p) => p[1]);
        if (input.type === "checkbox" || input.type === "radio") input.checked = values.indexOf(input.value) >= 0;
        else if (values.length) input.value = values[0];
      });
      el.classList.add("offline");
    });
  }

  function swapQuestion(field, html) {
    const el = document.getElementById("q-" + field);
    if (!el) return;
    el.classList.remove("offline");
    if (!html || !window.htmx) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    const fresh = tpl.content.firstElementChild;
    if (!fresh || fresh.id !== "q-" + field) return;
    const focused = el.contains(document.activeElement) ? document.activeElement : null;
    el.replaceWith(fresh);
    htmx.process(fresh);
    if (focused && focused.name) {  // keep the user's place
      const same = Array.prototype.find.call(fresh.querySelectorAll("input, select, textarea"),
        (i) => i.name === focused.name && (i.type !== "radio" && i.type !== "checkbox" || i.value === focused.value));
      if (same) same.focus();
    }
  }
  function fragmentOf(html) {
    const tpl = document.createElement("template");
    tpl.innerHTML = (html || "").trim();
    return tpl.content.querySelector("[data-autosave]");
  }

  /* After a 400 (the page's CSRF token died with its session): is the user still signed in? */
  async function signedOut() {
    try {
      const resp = await fetch(location.pathname + location.search, {
        credentials: "same-origin", redirect: "manual", headers: { "X-Requested-With": "fetch" } });
      if (resp.status !== 401) return false;
      loginUrl = resp.headers.get("X-Login-URL") || body.getAttribute("data-login") || "/login";
      return true;
    } catch (e) {
      return false;
    }
  }

  /* Sends one queued answer; returns "ok", "stop" (offline, signed out, server trouble) or "next". */
  async function send(item) {
    const data = new URLSearchParams();
    item.pairs.forEach((p) => data.append(p[0], p[1]));
    let resp;
    try {
      resp = await fetch(item.url, {
        method: "POST", body: data, credentials: "same-origin", redirect: "manual",
        headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true", "X-Requested-With": "fetch",
                   "Idempotency-Key": item.key },
      });
    } catch (e) {
      offline = true;
      return "stop";
    }
    offline = false;
    const status = resp.status;
    if (status >= 200 && status < 300 && resp.type !== "opaqueredirect") {
      const html = await resp.text();
      await remove(item.id);
      synced += 1;
      swapQuestion(item.field, html);
      if ((resp.headers.get("HX-Trigger") || "").indexOf("step-changed") >= 0 && window.htmx) htmx.trigger(body, "step-changed");
      return "ok";
    }
    if (status === 401 || resp.type === "opaqueredirect") {
      loginUrl = resp.headers.get("X-Login-URL") || body.getAttribute("data-login") || "/login";
      return "stop";
    }
    if (status === 409 || status === 422) {
      const html = await resp.text();
      const q = fragmentOf(html);
      const update = { state: status === 409 ? "conflict" : "invalid" };
      if (q) {
        update.label = q.getAttribute("data-label") || item.label;
        update.theirs = q.getAttribute("data-theirs") || t("unanswered");
        update.mine = q.getAttribute("data-mine") || item.mine;
        update.serverVersion = Number(q.getAttribute("data-server-version") || 0);
        update.message = q.getAttribute("data-error") || "";
      }
      if (status === 422 && !update.message) update.message = t("invalid");
      await put(Object.assign({}, item, update));
      swapQuestion(item.field, html);
      return "next";
    }
    if (status === 400) { await signedOut(); return "stop"; }  // stale token: a fresh page sends it
    if (status === 429 || status >= 500) return "stop";  // stale page token or server trouble: later
    await put(Object.assign({}, item, { state: "invalid", message: t("refused_http", { status: status }) }));
    return "next";
  }

  async function replay() {
    if (replaying) return;
    const user = me();
    if (!user || navigator.onLine === false) { await refresh(); return; }
    replaying = true;
    try {
      synced = 0;
      const queue = (await readAll()).filter((it) => it.user === user && it.state === "pending")
        .sort((a, b) => a.queuedAt - b.queuedAt);
      if (queue.length) loginUrl = null;
      for (const item of queue) {
        if ((await send(item)) === "stop") break;
      }
    } finally {
      replaying = false;
    }
    await refresh();
  }

  /* ---- what the user sees and hears ---- */
  function withNext(url, next) {
    try {
      const u = new URL(url, location.href);
      if (next) u.searchParams.set("next", next);
      return u.pathname + u.search;
    } catch (e) { return url; }
  }
  function here() {
    if (location.pathname === (body.getAttribute("data-login") || "/login")) {
      return new URLSearchParams(location.search).get("next") || "";
    }
    return location.pathname + location.search;
  }

  function renderStatus(list) {
    const el = statusEl();
    if (!el) return;
    const pending = list.filter((it) => it.state === "pending").length;
    const refused = list.filter((it) => it.state !== "pending").length;
    const total = pending + refused;
    let text = "";
    let link = null;
    if (total && (loginUrl || me() === "")) {
      text = t("expired_n", { n: total });
      link = withNext(loginUrl || body.getAttribute("data-login") || "/login", here());
    } else if (offline || navigator.onLine === false) {
      text = total ? t("offline_n", { n: total }) : t("offline");
    } else if (pending && replaying) {
      text = t("syncing_n", { n: pending });
    } else if (pending) {
      text = t("pending_n", { n: pending });
    } else if (refused) {
      text = t("refused_n", { n: refused });
    } else if (synced) {
      text = t("synced");
    }
    if (el.getAttribute("data-text") === text + (link || "")) return;  // announce changes only
    el.setAttribute("data-text", text + (link || ""));
    el.textContent = text;
    el.className = "outbox-status" + (text ? (offline || loginUrl || me() === "" ? " is-offline" : " is-online") : "");
    if (link) {
      const a = document.createElement("a");
      a.href = link;
      a.textContent = t("sign_in_again");
      el.appendChild(document.createTextNode(" "));
      el.appendChild(a);
    }
    if (text === t("synced")) {
      clearTimeout(syncedTimer);
      syncedTimer = setTimeout(() => { synced = 0; renderStatus(mine(items)); }, 10000);
    }
  }

  function renderPanel(list) {
    const panel = panelEl();
    if (!panel) return;
    if (!me()) list = [];  // conflicts are settled signed in, as their owner
    const refused = list.filter((it) => it.state === "conflict" || it.state === "invalid");
    panel.textContent = "";
    panel.hidden = !refused.length;
    if (!refused.length) return;
    const h = document.createElement("h2");
    h.id = "outbox-title";
    h.textContent = t("panel_title");
    panel.appendChild(h);
    refused.forEach((it) => {
      const box = document.createElement("div");
      box.className = "outbox-item";
      box.setAttribute("data-field", it.field);
      const add = (tag, text, cls) => {
        const node = document.createElement(tag);
        node.textContent = text;
        if (cls) node.className = cls;
        box.appendChild(node);
        return node;
      };
      add("p", it.label, "outbox-label");
      if (it.state === "conflict") {
        add("p", t("changed_elsewhere"));
        add("p", t("yours", { answer: it.mine || t("unanswered") }), "outbox-mine");
        add("p", t("server", { answer: it.theirs || t("unanswered") }), "outbox-theirs");
      } else {
        add("p", it.message || t("invalid"), "field-error");
        add("p", t("yours", { answer: it.mine || t("unanswered") }), "outbox-mine");
      }
      const row = document.createElement("p");
      row.className = "outbox-actions";
      const button = (act, text, cls) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = cls;
        b.textContent = text;
        b.setAttribute("data-act", act);
        b.setAttribute("data-id", it.id);
        row.appendChild(b);
      };
      if (it.state === "conflict") {
        button("mine", t("use_mine"), "primary");
        button("theirs", t("use_theirs"), "secondary");
      } else {
        const a = document.createElement("a");
        a.href = (it.page || "/q") + "#q-" + it.field;
        a.textContent = t("fix");
        row.appendChild(a);
        button("discard", t("discard"), "secondary");
      }
      box.appendChild(row);
      panel.appendChild(box);
    });
  }

  function writeMirror(list) {
    const summary = {};
    list.forEach((it) => { summary[it.field] = { url: it.url, at: it.queuedAt, state: it.state }; });
    try { localStorage.setItem(MIRROR, JSON.stringify(summary)); } catch (e) { /* storage full or disabled */ }
  }

  async function refresh() {
    items = await readAll();
    const list = mine(items);
    writeMirror(list);
    renderStatus(list);
    renderPanel(list);
  }

  async function settle(act, id) {
    const item = items.find((it) => it.id === id);
    if (!item) return;
    if (act === "mine") {
      // Sent again against the version the server holds now: the user has seen it and chose theirs over it.
      const base = item.serverVersion || 0;
      const pairs = item.pairs.map((p) => (p[0] === "v__" + item.field ? [p[0], String(base)] : p));
      const again = Object.assign({}, item, { pairs: pairs, base: base, state: "pending", key: newKey() });
      await put(again);
      await send(again);
      await refresh();
    } else {
      await remove(id);
      await refresh();
      const el = document.getElementById("q-" + item.field);
      if (el && window.htmx) htmx.trigger(body, "step-changed");  // show the server's answer in place
    }
    const panel = panelEl();
    const next = panel && panel.querySelector("button");
    if (next) next.focus();
  }

  /* ---- 保存并继续 / 上一步: posted by script so a dead connection never shows the browser's error page ---- */
  async function keepStep(form) {
    const pendingFields = mine(items).map((it) => it.field);
    const questions = Array.prototype.filter.call(form.querySelectorAll("[data-autosave]"),
      (el) => changed(el) || pendingFields.indexOf(el.getAttribute("data-autosave")) >= 0);
    for (const el of questions) await keep(el);
  }
  async function moveOnOffline(form, dest) {
    offline = true;
    await keepStep(form);
    if (dest && navigator.serviceWorker && navigator.serviceWorker.controller) {
      location.assign(dest);  // the service worker answers from its cache
    } else {
      await refresh();
    }
  }
  function nativeSubmit(form, go) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = "go";
    input.value = go;
    form.appendChild(input);
    form.setAttribute("data-native", "1");
    HTMLFormElement.prototype.submit.call(form);
  }

  document.addEventListener("click", (evt) => {
    const b = evt.target.closest && evt.target.closest("form[data-next] button[name=go]");
    if (b) b.form.setAttribute("data-go", b.value);
    const act = evt.target.closest && evt.target.closest("#outbox-panel button[data-act]");
    if (act) settle(act.getAttribute("data-act"), act.getAttribute("data-id"));
  }, true);

  document.addEventListener("submit", (evt) => {
    const form = evt.target;
    if (form.hasAttribute("data-logout")) {
      tellWorker({ type: "logout" });
      return;
    }
    if (!form.hasAttribute("data-next") || form.hasAttribute("data-native") || evt.defaultPrevented || !window.fetch) return;
    evt.preventDefault();
    const go = (evt.submitter && evt.submitter.name === "go" ? evt.submitter.value : form.getAttribute("data-go")) || "next";
    const dest = go === "back" ? (form.getAttribute("data-back") || form.getAttribute("data-next")) : form.getAttribute("data-next");
    if (navigator.onLine === false) { moveOnOffline(form, dest); return; }
    const data = new URLSearchParams(new FormData(form));
    data.set("go", go);
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then((resp) => {
        const to = resp.headers.get("X-Location");
        if (resp.status === 204 && to) { location.assign(to); return null; }
        if (resp.ok && resp.redirected) { location.assign(resp.url); return null; }
        if (resp.status === 401) {
          loginUrl = withNext(resp.headers.get("X-Login-URL") || body.getAttribute("data-login") || "/login", dest);
          return keepStep(form).then(() => location.assign(loginUrl));
        }
        if (resp.status >= 500) return moveOnOffline(form, dest);
        if (resp.status === 400) {  // the page's token outlived its session: keep the answers, start afresh
          return keepStep(form).then(signedOut).then((out) => location.assign(out ? withNext(loginUrl, dest) : dest));
        }
        nativeSubmit(form, go);  // 422 and the like: the server's page shows what to fix
        return null;
      }, () => moveOnOffline(form, dest));
  });

  /* ---- htmx autosave ---- */
  /* "Saved: <question>" read out from a live region that outlives the swapped question (a region inserted
     already filled, like the question's own "已保存", is not reliably announced). */
  let savedTimer = null;
  function announceSaved(field) {
    const region = document.getElementById("save-status");
    const q = document.getElementById("q-" + field);
    const shown = q && q.querySelector(".saved");
    if (!region || !shown || !shown.textContent.trim()) return;
    region.textContent = "";  // the same words again are announced again
    clearTimeout(savedTimer);
    savedTimer = setTimeout(() => { region.textContent = t("saved_field", { label: q.getAttribute("data-label") || field }); }, 100);
  }
  document.addEventListener("htmx:sendError", (evt) => {
    const el = evt.detail.elt && evt.detail.elt.closest("[data-autosave]");
    offline = true;
    if (el) keep(el); else refresh();
  });
  document.addEventListener("htmx:responseError", (evt) => {
    const xhr = evt.detail.xhr;
    const el = evt.detail.elt && evt.detail.elt.closest("[data-autosave]");
    if (!xhr || !el) return;
    if (xhr.status === 401) {
      loginUrl = xhr.getResponseHeader("X-Login-URL") || body.getAttribute("data-login") || "/login";
      keep(el);
    } else if (xhr.status === 400) {
      keep(el).then(signedOut).then(refresh);
    } else if (xhr.status >= 500) {
      keep(el);
    }
  });
  document.addEventListener("htmx:afterRequest", (evt) => {
    const xhr = evt.detail.xhr;
    // A question swapped out by its own answer is detached: htmx tells its ancestor instead, and the
    // question itself is the request's target.
    const from = (node) => node && node.closest && node.closest("[data-autosave]");
    const el = from(evt.detail.elt) || from(evt.detail.target);
    if (!xhr || !el || xhr.status < 200 || xhr.status >= 300 || !me()) return;
    // Saved online just now: an older copy waiting in the outbox must not be replayed over it.
    const was = offline;
    offline = false;
    announceSaved(el.getAttribute("data-autosave"));
    const id = me() + "|" + el.getAttribute("data-autosave");
    if (items.some((it) => it.id === id)) remove(id).then(refresh, refresh);
    else if (was) refresh();
  });
  // Never replace a question the user is typing in with a copy pushed from another device.
  document.addEventListener("htmx:oobBeforeSwap", (evt) => {
    const target = evt.detail.target;
    if (target && target.contains(document.activeElement) && document.activeElement !== body) {
      evt.detail.shouldSwap = false;
    }
  });

  window.addEventListener("online", () => { offline = false; replay(); });
  window.addEventListener("offline", () => { offline = true; refresh(); });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") replay(); });

  /* ---- service worker ---- */
  function tellWorker(msg) {
    if (!("serviceWorker" in navigator) || !navigator.serviceWorker.controller) return;
    navigator.serviceWorker.controller.postMessage(msg);
  }
  function ask(worker, msg) {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => resolve();
      worker.postMessage(msg, [channel.port2]);
    });
  }
  function startWorker() {
    const script = body.getAttribute("data-sw");
    if (!script || !("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register(script, { scope: "/" }).catch(() => null);
    navigator.serviceWorker.addEventListener("message", (evt) => {
      if (evt.data && evt.data.type === "replay") replay();
    });
    const user = me();
    if (user === null) return;
    const form = document.querySelector("form[data-steps]");
    navigator.serviceWorker.ready.then((reg) => {
      if (!reg.active) return null;
      // The page's language and words go along: the worker's offline page is written in them.
      const words = { lang: document.documentElement.lang || "zh-Hans", messages: MESSAGES };
      if (!form || !user || navigator.onLine === false) return ask(reg.active, Object.assign({ type: "user", user: user }, words));
      const urls = [location.pathname].concat(form.getAttribute("data-steps").split(/\s+/).filter(Boolean));
      return ask(reg.active, Object.assign({ type: "precache", urls: urls, user: user }, words)).then(() => {
        document.documentElement.setAttribute("data-offline-ready", "1");
      });
    }).catch(() => null);
  }

  /* Answers queued by the earlier localStorage version of this file move into the outbox. */
  async function adoptOldQueue() {
    let old = {};
    try { old = JSON.parse(localStorage.getItem(MIRROR) || "{}"); } catch (e) { return; }
    const user = me();
    const names = Object.keys(old).filter((n) => old[n] && old[n].pairs);
    if (!user || !names.length) return;
    for (const field of names) {
      const version = old[field].pairs.find((p) => p[0] === "v__" + field);
      await put({ id: user + "|" + field, user: user, field: field, label: field, url: old[field].url,
                  pairs: old[field].pairs, base: version ? Number(version[1]) : null, key: newKey(),
                  queuedAt: old[field].at || Date.now(), page: location.pathname, csrf: csrfToken(),
                  state: "pending", mine: shownValue(old[field].pairs, field) });
    }
  }

  /* /q shows the step to resume at without a redirect: the address bar gets that step's own URL, so a
     reload, a bookmark or the back button comes back to it (and the service worker caches it by that URL). */
  function canonicalUrl() {
    const el = document.querySelector("[data-canonical]");
    const url = el && el.getAttribute("data-canonical");
    if (url && url !== location.pathname && window.history && history.replaceState) {
      history.replaceState(history.state, "", url + location.hash);
    }
  }
  canonicalUrl();

  async function start() {
    startWorker();
    try { await adoptOldQueue(); } catch (e) { /* no IndexedDB: nothing more to do */ }
    await refresh();
    restoreQueued();
    if (mine(items).some((it) => it.state === "pending")) await replay();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
