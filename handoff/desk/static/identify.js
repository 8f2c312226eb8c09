/*
 * Strong identification in the desk's conversation view (handoff/desk/identification.py).
 *
 * Loads the conversation's identification panel into [data-identification] ("Ei tunnistettu",
 * "Tunnistautumista pyydetty", "Tunnistettu: Etunimi Sukunimi", a notice when the resident
 * cancelled or it failed, a warning for a different person) and refreshes it in place when the
 * desk socket (desk.js, window.opastinDeskSocket) says `identification` or `conversation` for this
 * chat. "Asioi lapsensa puolesta" with the maturity assessment's buttons for a child of 12 or older,
 * and "Näytä henkilötunnus" (the code for that one view, audited) are handled in place too.
 * "Pyydä tunnistautumista" is posted in place: the server issues the ticket and sends the
 * resident the button. Every text comes rendered from the server; without identification
 * configured the panel answers 404 and stays hidden.
 */
(function () {
  "use strict";

  var holder = document.querySelector("[data-identification]");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  if (!holder || !csrfMeta || !window.fetch) return;
  var url = holder.getAttribute("data-identification");
  var conversationId = holder.getAttribute("data-conversation-id");
  var csrf = csrfMeta.getAttribute("content");
  var loading = false;
  var loadAgain = false;

  function imported(parent) {
    return Array.prototype.map.call(parent.childNodes, function (node) {
      return document.importNode(node, true);
    });
  }

  function load() {
    if (loading) {
      loadAgain = true;
      return;
    }
    loading = true;
    fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok && !response.redirected ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        var hadFocus = holder.contains(document.activeElement);
        var parsed = new DOMParser().parseFromString(html, "text/html");
        holder.replaceChildren.apply(holder, imported(parsed.body));
        holder.hidden = false;
        bind();
        if (hadFocus) {
          var next = holder.querySelector("button") || holder.querySelector("[data-identification-state]");
          if (next) {
            if (!next.hasAttribute("tabindex") && next.tagName !== "BUTTON") next.setAttribute("tabindex", "-1");
            next.focus();
          }
        }
      })
      .catch(function () {
        /* the panel stays as it was; the next event or reconnect loads it again */
      })
      .finally(function () {
        loading = false;
        if (loadAgain) {
          loadAgain = false;
          load();
        }
      });
  }

  function show(html, focusSelector) {
    var parsed = new DOMParser().parseFromString(html, "text/html");
    holder.replaceChildren.apply(holder, imported(parsed.body));
    bind();
    var target = holder.querySelector(focusSelector);
    if (target) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus();
    }
  }

  // "Näytä henkilötunnus" / "Avaa henkilötunnus": the server answers with the panel holding the
  // code for this view only (audited); the next refresh of the panel hides it again.
  function bindOpenCode() {
    var form = holder.querySelector("[data-open-code]");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      fetch(form.getAttribute("action"), {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "text/html", "X-CSRF-Token": csrf },
        body: new URLSearchParams(new FormData(form))
      })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.text();
        })
        .then(function (html) {
          show(html, "[data-identity-code]");
        })
        .catch(function () {
          button.disabled = false;
          var failed = form.querySelector("[data-open-failed]") || document.createElement("p");
          failed.setAttribute("data-open-failed", "");
          failed.setAttribute("role", "alert");
          failed.className = "alert";
          failed.textContent = form.getAttribute("data-failed");
          form.appendChild(failed);
        });
    });
  }

  // The maturity assessment of a child of 12 or older: either button posts its decision in place.
  function bindAssessment() {
    var form = holder.querySelector("[data-assess]");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = new URLSearchParams(new FormData(form));
      if (event.submitter) body.set("decision", event.submitter.value);
      Array.prototype.forEach.call(form.querySelectorAll("button"), function (button) {
        button.disabled = true;
      });
      fetch(form.getAttribute("action"), {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrf },
        body: body
      })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          load();
        })
        .catch(function () {
          Array.prototype.forEach.call(form.querySelectorAll("button"), function (button) {
            button.disabled = false;
          });
          var state = holder.querySelector("[data-assessment]");
          if (state) state.textContent = form.getAttribute("data-failed");
        });
    });
  }

  function bind() {
    bindOpenCode();
    bindAssessment();
    var form = holder.querySelector("[data-identify]");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      fetch(form.getAttribute("action"), {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrf },
        body: new URLSearchParams(new FormData(form))
      })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          load();
        })
        .catch(function () {
          button.disabled = false;
          var state = holder.querySelector("[data-identification-state]");
          if (state) state.textContent = form.getAttribute("data-failed");
        });
    });
  }

  var socket = window.opastinDeskSocket;
  if (socket) {
    var forThisChat = function (event) {
      if (event && event.conversation_id === conversationId) load();
    };
    socket.on("identification", forThisChat);
    socket.on("conversation", forThisChat);
    socket.on("connect", load);
  }
  load();
})();
