// Tour schedule enhancements; the pages work without them.
(function () {
  "use strict";

  // The district filter swaps only the list and puts the filtered address in the address bar. The language switch
  // is a GET form to the page itself that carries the page's query as hidden fields: bring it up to date, so the
  // switch keeps the visitor on the filtered list rather than on the address the page was first loaded with.
  document.addEventListener("htmx:pushedIntoHistory", function () {
    var form = document.querySelector("form.lang-switch");
    if (!form) return;
    form.setAttribute("action", window.location.pathname);
    Array.prototype.forEach.call(form.querySelectorAll("input[data-page-query]"), function (input) {
      input.parentNode.removeChild(input);
    });
    var first = form.firstChild;
    new URLSearchParams(window.location.search).forEach(function (value, name) {
      if (name !== "district") return;
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      input.setAttribute("data-page-query", "");
      form.insertBefore(input, first);
    });
  });
})();
