/*
 * The embedded widget's side of the chat bubble (/upotus in a frame; see loader.js).
 *
 * The county's page cannot reach into this frame, so the two talk by postMessage:
 * {opastin: "focus"} from the page moves focus to the chat heading (read first, with
 * the warning about identity codes after it); Escape here asks the page to close
 * the chat with {opastin: "close"}, sent only to the origin of the page that framed
 * this one (the browser lets only HANDOFF_FRAME_ANCESTORS frame it).
 */
(function () {
  "use strict";

  var heading = document.getElementById("chat-heading");
  var parentOrigin = null;
  if (!heading || window.parent === window) return;

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent) return;
    parentOrigin = event.origin;
    if (event.data && event.data.opastin === "focus") heading.focus();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && parentOrigin) {
      window.parent.postMessage({ opastin: "close" }, parentOrigin);
    }
  });
})();
