// Tour schedule enhancements; the pages work without them.
(function () {
  "use strict";

  // The district filter swaps only the list and puts the filtered address in the address bar; the language switch
  // must send the visitor back to that address, not to the one the page was first loaded with.
  document.addEventListener("htmx:pushedIntoHistory", function () {
    var next = document.querySelector("form.lang-switch input[name=next]");
    if (next) next.value = window.location.pathname + window.location.search;
  });
})();
