// Small enhancements; every page works without them.
(function () {
  "use strict";

  // The language menu sends itself when a language is picked; the button stays for keyboard and no-JS use.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });

  // Move focus to an error summary so screen reader and keyboard users hear what to fix.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var summary = event.detail.target.querySelector && event.detail.target.querySelector("#error-summary");
    if (summary) summary.focus();
  });
})();
