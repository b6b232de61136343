// Tour schedule enhancements; the pages work without them.
(function () {
  "use strict";

  // The district filter swaps only the list and puts the filtered address in the address bar. The language
  // picker's links lead to the page itself with the page's query: bring them up to date, so a switch keeps the
  // visitor on the filtered list rather than on the address the page was first loaded with.
  document.addEventListener("htmx:pushedIntoHistory", function () {
    var district = new URLSearchParams(window.location.search).get("district");
    Array.prototype.forEach.call(document.querySelectorAll("a[data-lang-switch]"), function (link) {
      var query = new URLSearchParams();
      if (district !== null) query.set("district", district);
      query.set("lang", link.getAttribute("data-lang-switch"));
      query.set("remember", "1");
      link.setAttribute("href", window.location.pathname + "?" + query.toString());
    });
  });
})();
