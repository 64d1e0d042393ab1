// Progressive enhancement of the audit pages: both work as plain HTML without this file.
// - The CSV export link: fetch the stream, say how much has arrived, then hand the file to the browser.
// - The verification form: say that it is running (the page answers when the check is done).
(function () {
  "use strict";

  function size(bytes) {
    // Numbers as the page's language writes them (3,7 KB in Vietnamese).
    var lang = document.documentElement.lang || "vi";
    function fmt(n) { return n.toLocaleString(lang, { maximumFractionDigits: 1 }); }
    if (bytes < 1024) { return fmt(bytes) + " B"; }
    if (bytes < 1024 * 1024) { return fmt(bytes / 1024) + " KB"; }
    return fmt(bytes / (1024 * 1024)) + " MB";
  }

  function say(node, template, bytes) {
    node.textContent = template.replace("{size}", size(bytes));
  }

  function filename(response) {
    var header = response.headers.get("Content-Disposition") || "";
    var found = /filename="([^"]+)"/.exec(header);
    return found ? found[1] : "audit.csv";
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  function exportWithProgress(link, status) {
    var received = 0;
    var chunks = [];
    say(status, link.dataset.progress, 0);
    return fetch(link.href, { credentials: "same-origin" }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (!response.ok || type.indexOf("text/csv") !== 0 || !response.body) {
        // Not the file (a page saying what went wrong): let the browser show it.
        window.location.href = link.href;
        return;
      }
      var reader = response.body.getReader();
      function pump() {
        return reader.read().then(function (part) {
          if (part.done) {
            save(new Blob(chunks, { type: type }), filename(response));
            say(status, link.dataset.done, received);
            return;
          }
          chunks.push(part.value);
          received += part.value.length;
          say(status, link.dataset.progress, received);
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      status.textContent = link.dataset.failed;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var link = document.querySelector("[data-export]");
    var status = document.querySelector("[data-export-status]");
    if (link && status && window.fetch && window.ReadableStream && window.URL && URL.createObjectURL) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        if (link.getAttribute("aria-disabled") === "true") { return; }
        link.setAttribute("aria-disabled", "true");
        exportWithProgress(link, status).then(function () { link.removeAttribute("aria-disabled"); });
      });
    }
    var form = document.querySelector("form[data-verify]");
    var running = document.querySelector("[data-verify-status]");
    if (form && running) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button");
        running.textContent = form.dataset.running;
        form.setAttribute("aria-busy", "true");
        // Disabled after this event, so the button still submits the form once.
        setTimeout(function () { if (button) { button.disabled = true; } }, 0);
      });
    }
  });
})();
