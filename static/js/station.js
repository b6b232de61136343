// The Mitmach-Station: after a while without a touch or a key, the page is loaded afresh, so the next person meets
// an empty form. The wait is read from data-idle-seconds each time, so it can be changed on the page.
(function () {
  "use strict";
  var root = document.getElementById("station");
  if (!root) return;
  var timer = null;
  function restart() {
    if (timer) clearTimeout(timer);
    var seconds = parseFloat(root.getAttribute("data-idle-seconds")) || 60;
    timer = setTimeout(function () {
      window.location.replace(root.getAttribute("data-station-url"));
    }, seconds * 1000);
  }
  ["pointerdown", "keydown", "input", "focusin", "wheel", "touchstart"].forEach(function (name) {
    document.addEventListener(name, restart, { passive: true, capture: true });
  });
  // Tests and staff may change the wait on the page; start counting again with the new value.
  new MutationObserver(restart).observe(root, { attributes: true, attributeFilter: ["data-idle-seconds"] });
  var thanks = root.querySelector(".station-thanks");
  if (thanks) {
    var first = root.querySelector("#mitreden-form input, #mitreden-form textarea, #mitreden-form select");
    if (first) first.focus({ preventScroll: true });
  }
  restart();
})();
