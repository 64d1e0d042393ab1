// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Moves focus to the error summary so screen-reader and keyboard users hear what to fix first.
  function focusErrors() {
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  }

  // A page that waits for something (a request whose serials are being allocated, or waiting for stock)
  // marks the element that will change with data-watch="<seconds>" and an id. The page is fetched again
  // in the background at that pace, and its main content is replaced only once that element has changed:
  // no timed refresh of the whole page (WCAG 2.2.1), nothing moves while nothing happened, and nothing
  // is replaced while the reader is typing in a field. Without this file the reader reloads the page.
  function watch() {
    var watched = document.querySelector("[data-watch][id]");
    var seconds = watched ? parseInt(watched.getAttribute("data-watch"), 10) : 0;
    if (!(seconds > 0)) { return; }
    window.setTimeout(function () { look(watched); }, seconds * 1000);
  }

  function typing(main) {
    var active = document.activeElement;
    return active && main.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
  }

  function look(watched) {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        // Signed out, or the page is gone: stop looking (the next click shows why).
        return response.ok && !response.redirected ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var now = fresh.getElementById(watched.id);
        var main = document.getElementById("main");
        var freshMain = fresh.getElementById("main");
        if (now && main && freshMain && now.textContent !== watched.textContent && !typing(main)) {
          main.innerHTML = freshMain.innerHTML;
        }
        watch();
      })
      .catch(watch); // the network failed for a moment: look again later
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrors();
    watch();
  });
})();
