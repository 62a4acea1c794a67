/* Progressive enhancement only: every page works without this file.
   Keeps answers typed while offline in localStorage and replays them when the connection
   returns, so a dropped phone connection never loses an answer. */
(function () {
  "use strict";
  var KEY = "portal.pendingAnswers";

  function pending() {
    try { return JSON.parse(localStorage.getItem(KEY) || "{}"); } catch (e) { return {}; }
  }
  function store(queue) {
    try { localStorage.setItem(KEY, JSON.stringify(queue)); } catch (e) { /* storage full or disabled */ }
  }
  function csrfToken() {
    var headers = document.body && document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function formPairs(el) {
    var pairs = [];
    el.querySelectorAll("input, select, textarea").forEach(function (input) {
      if (!input.name || input.disabled) return;
      if ((input.type === "checkbox" || input.type === "radio") && !input.checked) return;
      pairs.push([input.name, input.value]);
    });
    return pairs;
  }
  function remember(el) {
    var queue = pending();
    queue[el.dataset.autosave] = { url: el.getAttribute("hx-post"), pairs: formPairs(el), at: Date.now() };
    store(queue);
    el.classList.add("offline");
  }
  var replaying = false;
  function replay() {
    if (replaying) return;
    replaying = true;
    var queue = pending();
    var names = Object.keys(queue);
    if (!names.length) { replaying = false; return; }
    var left = names.length;
    function done() { if (--left === 0) replaying = false; }
    names.forEach(function (name) {
      var item = queue[name];
      var body = new URLSearchParams();
      item.pairs.forEach(function (p) { body.append(p[0], p[1]); });
      fetch(item.url, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" }
      }).then(function (resp) {
        if (resp.status >= 500) return;  // keep it for the next attempt
        var q = pending(); delete q[name]; store(q);
        return resp.text().then(function (html) {
          var el = document.getElementById("q-" + name);
          if (el && html && window.htmx) {
            el.outerHTML = html;
            htmx.process(document.getElementById("q-" + name));
          }
        });
      }).catch(function () { /* still offline */ }).then(done, done);
    });
  }

  document.addEventListener("htmx:sendError", function (evt) {
    var el = evt.detail.elt && evt.detail.elt.closest("[data-autosave]");
    if (el) remember(el);
  });
  // Never replace a question the user is typing in with a copy pushed from another device.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target;
    if (target && target.contains(document.activeElement) && document.activeElement !== document.body) {
      evt.detail.shouldSwap = false;
    }
  });
  window.addEventListener("online", replay);
  document.addEventListener("DOMContentLoaded", function () {
    if (Object.keys(pending()).length && navigator.onLine !== false) replay();
  });
})();
