// Small enhancements; every page works without them.
(function () {
  "use strict";

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
