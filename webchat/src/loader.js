/*
 * Opastin's chat bubble for a county's own site: one script tag on any page.
 *
 *   <script src="https://opastin.example/static/webchat/loader.js" defer
 *           data-open-label="Avaa chat" data-close-label="Sulje chat"></script>
 *
 * Optional data- attributes: data-open-label and data-close-label (the button's
 * text, which is also its accessible name), data-title (the frame's title) and
 * data-lang (the language of those texts, default "fi").
 *
 * Adds a button at the bottom right. Pressing it opens the resident widget
 * (/upotus) in a frame served by Opastin; the frame is made on the first press,
 * so nothing but this script and its stylesheet is loaded before the resident
 * asks for the chat. Escape or the button closes it again; the conversation
 * goes on in the hidden frame. Focus moves into the widget on opening and back
 * to the button on closing. The button lives in a shadow root, with Opastin's
 * stylesheet, apart from the site's own styles. Everything comes from the
 * origin this script was loaded from, never from another host.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src).origin;
  var texts = {
    open: script.getAttribute("data-open-label") || "Avaa chat",
    close: script.getAttribute("data-close-label") || "Sulje chat",
    title: script.getAttribute("data-title") || "Chat: kysy sosiaali- ja terveyspalveluista",
    lang: script.getAttribute("data-lang") || "fi"
  };
  var SVG = "http://www.w3.org/2000/svg";
  var SPEECH_BUBBLE = "M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z" +
    "m0 2v10h2v2l2.5-2H20V5z";

  var box, button, label, panel, frame;

  function element(tag, className) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    return node;
  }

  /* Built node by node, not with innerHTML: a site may enforce Trusted Types. */
  function icon() {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", SPEECH_BUBBLE);
    svg.appendChild(path);
    return svg;
  }

  function isOpen() {
    return !panel.hidden;
  }

  function focusWidget() {
    frame.focus();
    frame.contentWindow.postMessage({ opastin: "focus" }, origin);
  }

  function makeFrame() {
    frame = element("iframe");
    frame.title = texts.title;
    frame.src = origin + "/upotus";
    frame.referrerPolicy = "no-referrer";
    frame.addEventListener("load", function () {
      if (isOpen()) focusWidget();
    });
    panel.appendChild(frame);
  }

  function show(open) {
    panel.hidden = !open;
    box.classList.toggle("is-open", open);
    button.setAttribute("aria-expanded", String(open));
    label.textContent = open ? texts.close : texts.open;
  }

  function open() {
    show(true);
    if (frame) focusWidget();
    else makeFrame();
  }

  function close() {
    show(false);
    button.focus();
  }

  /* The button and the (empty, hidden) panel, shown once the stylesheet is in: no unstyled flash. */
  function makeBox(style) {
    box = element("div", "opastin");
    box.lang = texts.lang;
    box.hidden = true;
    button = element("button", "bubble");
    button.type = "button";
    button.setAttribute("aria-controls", "opastin-panel");
    button.appendChild(icon());
    label = element("span");
    button.appendChild(label);
    panel = element("div", "panel");
    panel.id = "opastin-panel";
    box.appendChild(button);
    box.appendChild(panel);
    style.addEventListener("load", function () { box.hidden = false; });
    style.addEventListener("error", function () { box.hidden = false; });
    show(false);
  }

  function listen() {
    button.addEventListener("click", function () {
      if (isOpen()) close();
      else open();
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen()) close();
    });
    window.addEventListener("message", function (event) {
      if (!frame || event.source !== frame.contentWindow || event.origin !== origin) return;
      if (event.data && event.data.opastin === "close" && isOpen()) close();
    });
  }

  function build() {
    if (document.querySelector("[data-opastin-chat]")) return; // the tag is on the page twice
    var host = element("div");
    host.setAttribute("data-opastin-chat", "");
    var root = host.attachShadow({ mode: "open" });
    var style = element("link");
    style.rel = "stylesheet";
    style.href = origin + "/static/webchat/loader.css";
    makeBox(style);
    listen();
    root.appendChild(style);
    root.appendChild(box);
    document.body.appendChild(host);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", build);
  else build();
})();
