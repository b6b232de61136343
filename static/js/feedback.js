// Feedback form with htmx: the form replaces itself with the thank-you, its errors, or the refusal.
// Without JavaScript the same form posts and redirects as a plain page.
(function () {
  "use strict";

  function isFeedbackForm(elt) {
    return elt && elt.id === "feedback" && elt.matches && elt.matches("form[data-outbox='feedback']");
  }

  // htmx leaves 4xx answers unswapped; 422 (errors next to the fields) and 409 (not accepted, with the
  // reason) are fragments meant to replace the form. Any other error is a whole page (too many tries,
  // too much text, an expired form): send the form the plain way so the person sees that page. The
  // idempotency key makes the second sending safe.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.elt;
    if (!isFeedbackForm(elt)) return;
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (status >= 400) {
      event.detail.shouldSwap = false;
      HTMLFormElement.prototype.submit.call(elt);
    }
  });

  // After the swap, put the keyboard and screen reader where the news is: the thank-you, the refusal, or
  // the list of what to correct. (The form replaced itself, so the swapped-out element is gone.)
  document.addEventListener("htmx:afterSwap", function () {
    var form = document.getElementById("feedback");
    var target = document.getElementById("thanks") || document.getElementById("closed") ||
      (form && form.querySelector("#error-summary"));
    if (target) target.focus();
  });
})();

// Poster pages: a print button, shown only when it can work.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button[data-print]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
