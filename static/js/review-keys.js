// Keyboard shortcuts for reviewers working through a queue. Everything here also works without it:
// the queue rows are links and the actions are a plain form.
// Queue: J / K move between rows, Enter or O opens the focused one.
// Detail: M, R, A, X, C choose an action and put the cursor in the comment; N opens the next application.
(function () {
  "use strict";
  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    var key = event.key.toLowerCase();
    var rows = Array.prototype.slice.call(document.querySelectorAll("table.queue tbody tr"));
    if (rows.length && (key === "j" || key === "k")) {
      var current = rows.indexOf(document.activeElement && document.activeElement.closest("tr"));
      var next = key === "j" ? Math.min(rows.length - 1, current + 1) : Math.max(0, current - 1);
      var link = rows[next].querySelector("a");
      if (link) { link.focus(); event.preventDefault(); }
      return;
    }
    if (rows.length && key === "o" && document.activeElement && document.activeElement.closest("table.queue")) {
      document.activeElement.click();
      return;
    }
    if (key === "n") {
      var nextLink = document.getElementById("next-link");
      if (nextLink) { nextLink.click(); event.preventDefault(); }
      return;
    }
    var radio = document.querySelector('.action-form input[data-key="' + key + '"]');
    if (radio) {
      radio.checked = true;
      var comment = document.getElementById("comment");
      if (comment) comment.focus();
      event.preventDefault();
    }
  });
})();
