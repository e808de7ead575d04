// The toolkit console's only script: refreshes the pending approvals every few seconds. The
// page works without it; the fragment is server-rendered and escaped like the page.
(function () {
  "use strict";
  var pending = document.getElementById("pending");
  if (!pending) { return; }
  function refresh() {
    fetch("/ui/approvals/pending", { credentials: "same-origin", headers: { "Accept": "text/html" } })
      // Signed out meanwhile (sent to the sign-in page): leave the section as it is.
      .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
      .then(function (html) {
        // Leave the section alone while someone is typing a reason.
        var busy = pending.contains(document.activeElement) && document.activeElement.tagName === "INPUT";
        if (html !== null && !busy) { pending.innerHTML = html; }
      })
      .catch(function () {});
  }
  setInterval(refresh, 5000);
}());
