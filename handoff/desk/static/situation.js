/* The situation page (/desk/tilanne): its figures are fetched again every 30 seconds while the
   page is visible. Focus and reading position stay where they are: only the figures change. */
(function () {
  "use strict";

  var holder = document.querySelector("[data-situation]");
  if (!holder || !window.fetch) return;
  var INTERVAL_MS = 30000;

  function refresh() {
    if (document.hidden) return;
    fetch(holder.getAttribute("data-situation-url"), { credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected || !response.ok) throw new Error("not available");
        return response.text();
      })
      .then(function (html) {
        var parsed = new DOMParser().parseFromString(html, "text/html");
        var nodes = Array.prototype.map.call(parsed.body.childNodes, function (node) {
          return document.importNode(node, true);
        });
        holder.replaceChildren.apply(holder, nodes);
      })
      .catch(function () {
        /* The figures stay as they were; the time shown on the page tells how old they are. */
      });
  }

  window.setInterval(refresh, INTERVAL_MS);
  document.addEventListener("visibilitychange", refresh);
})();
