// The ticket page: "send this ticket to me" uses the phone's own share sheet where there is one, else copies the
// link; without either (or without this script) the button is a plain mailto: link. And a print button.
(function () {
  "use strict";

  function share(link, event) {
    var title = link.getAttribute("data-share-title");
    var url = link.getAttribute("data-share-url");
    var status = document.querySelector("[data-share-status]");
    if (navigator.share) {
      event.preventDefault();
      navigator.share({title: title, text: title, url: url}).catch(function () {
        // Closed without sharing: nothing to do.
      });
      return;
    }
    if (navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext) {
      event.preventDefault();
      navigator.clipboard.writeText(url).then(function () {
        if (status) status.textContent = link.getAttribute("data-share-copied");
      }, function () {
        window.location.href = link.href; // copying refused: the email instead
      });
    }
    // Otherwise the link opens an email to oneself.
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-share]");
    if (link) share(link, event);
  });

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-print]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
