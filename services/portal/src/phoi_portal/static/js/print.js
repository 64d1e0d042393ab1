// The handover slip's "Print" button (no inline script under the CSP). Without this file, the browser's own
// Print command prints the same thing: the print style sheet keeps only the slip.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
});
