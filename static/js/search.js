// The coordinators' search page: the arrow keys move from the box through the results and back; the page and
// its results work without this script (Tab reaches every result).
(function () {
  "use strict";

  function links() {
    var results = document.querySelector("[data-search-results]");
    return results ? Array.prototype.slice.call(results.querySelectorAll(".search-list a")) : [];
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp" && event.key !== "Escape") return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var box = document.querySelector("[data-search-box]");
    if (!box) return;
    var all = links();
    var at = all.indexOf(document.activeElement);
    if (document.activeElement === box) {
      if (event.key === "ArrowDown" && all.length) {
        event.preventDefault();
        all[0].focus();
      }
      return;
    }
    if (at < 0) return;
    event.preventDefault();
    if (event.key === "Escape" || (event.key === "ArrowUp" && at === 0)) {
      box.focus();
    } else if (event.key === "ArrowDown") {
      all[Math.min(at + 1, all.length - 1)].focus();
    } else {
      all[at - 1].focus();
    }
  });
})();
