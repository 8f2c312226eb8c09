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

  function setDisabled(form, disabled) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (button) {
      button.disabled = disabled;
    });
  }

  /* Post `form` in place (CSRF header, `body` or the form's fields); resolves with the response,
     rejects on an error status. */
  function post(form, accept, body) {
    setDisabled(form, true);
    return fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: accept, "X-CSRF-Token": csrf },
      body: body || new URLSearchParams(new FormData(form))
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response;
    });
  }

  /* On a failed post: the buttons back, and the form's data-failed text in `target` (or a new alert). */
  function failed(form, target) {
    setDisabled(form, false);
    var line = target;
    if (!line) {
      line = form.querySelector("[data-open-failed]") || document.createElement("p");
      line.setAttribute("data-open-failed", "");
      line.setAttribute("role", "alert");
      line.className = "alert";
      form.appendChild(line);
    }
    line.textContent = form.getAttribute("data-failed");
  }

  function onSubmit(selector, handler) {
    var form = holder.querySelector(selector);
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      handler(form, event);
    });
  }

  function bind() {
    // "Näytä henkilötunnus" / "Avaa henkilötunnus": the server answers with the panel holding the
    // code for this view only (audited); a reload or a change of the identification hides it again.
    onSubmit("[data-open-code]", function (form) {
      post(form, "text/html")
        .then(function (response) { return response.text(); })
        .then(function (html) { show(html, "[data-identity-code]"); })
        .catch(function () { failed(form, null); });
    });
    // The maturity assessment of a child of 12 or older: either button posts its decision.
    onSubmit("[data-assess]", function (form, event) {
      var body = new URLSearchParams(new FormData(form));
      if (event.submitter) body.set("decision", event.submitter.value);
      post(form, "application/json", body)
        .then(load)
        .catch(function () { failed(form, holder.querySelector("[data-assessment]")); });
    });
    // "Pyydä tunnistautumista".
    onSubmit("[data-identify]", function (form) {
      post(form, "application/json")
        .then(load)
        .catch(function () { failed(form, holder.querySelector("[data-identification-state]")); });
    });
  }

  var socket = window.opastinDeskSocket;
  if (socket) {
    var forThisChat = function (event) {
      if (event && event.conversation_id === conversationId) load();
    };
    socket.on("identification", forThisChat);
    // A change of the chat (a message, a transfer asked) keeps an opened code on screen; a change of
    // the identification itself reloads the panel, and the code with it is gone.
    socket.on("conversation", function (event) {
      if (!holder.querySelector("[data-identity-code]")) forThisChat(event);
    });
    socket.on("connect", load);
  }
  load();
})();
