/*
 * Opastin's resident chat widget.
 *
 * Speaks the socket.io protocol of the rasa-webchat widget (session_request ->
 * session_confirm, user_uttered, bot_uttered), so either works against the
 * handoff service's chat gateway. Written for accessibility: real buttons,
 * a live region for new messages, labels in Finnish, keyboard only use.
 * Every text from the network is inserted as text, never as HTML.
 *
 * Typing indicators in a live chat, both ways, never with text: the widget sends
 * `typing {typing: true}` at most every 2.5 s while the resident writes (only once a
 * person is involved: a queue or a professional), and `{typing: false}` when the
 * field empties, the message is sent or 5 s pass without a key. The professional's
 * state shows as "Ammattilainen kirjoittaa…" in a polite live region, said once.
 *
 * Attachments: once the resident has identified, "Lisää liite" (a labelled file input) sends
 * one PDF, JPEG or PNG to the gateway; what happened is said in a status line.
 */
(function () {
  "use strict";

  var SESSION_KEY = "opastin.session";
  var root = document.getElementById("opastin-chat");
  if (!root) return;

  var log = root.querySelector("[data-chat-log]");
  var form = root.querySelector("[data-chat-form]");
  var input = root.querySelector("[data-chat-input]");
  var sendButton = root.querySelector("[data-chat-send]");
  var connection = root.querySelector("[data-chat-connection]");
  var endButton = root.querySelector("[data-chat-restart]");
  var referenceLine = root.querySelector("[data-chat-reference]");
  var attachBox = root.querySelector("[data-chat-attach]");
  var attachInput = root.querySelector("[data-chat-attachment]");
  var attachStatus = root.querySelector("[data-chat-attach-status]");
  // custom.identification states after which the resident may send files (the server checks).
  var IDENTIFIED = { identified: true, acting_for: true, acting_for_self: true };

  // The typing indicator: a polite live region under the log, made before anything is said in it.
  var TYPING_EVERY_MS = 2500;
  var TYPING_IDLE_MS = 5000;
  var TYPING_SHOWN_MS = 6000;
  var typingLine = document.createElement("p");
  typingLine.className = "typing-status";
  typingLine.setAttribute("aria-live", "polite");
  typingLine.setAttribute("data-chat-typing", "");
  log.parentNode.parentNode.insertBefore(typingLine, log.parentNode.nextSibling);
  var typingShownTimer = null;
  var typingSent = false;
  var typingSentAt = 0;
  var typingIdleTimer = null;
  var personInvolved = false;

  var sessionSecret = readSecret();
  var t = window.opastinText;
  var socket = window.io({ path: "/socket.io", transports: ["websocket", "polling"] });

  function readSecret() {
    try {
      return window.localStorage.getItem(SESSION_KEY);
    } catch (e) {
      return null;
    }
  }

  function storeSecret(secret) {
    sessionSecret = secret;
    try {
      if (secret) window.localStorage.setItem(SESSION_KEY, secret);
      else window.localStorage.removeItem(SESSION_KEY);
    } catch (e) {
      /* private mode: the session lasts as long as the page */
    }
  }

  function setConnected(connected, text) {
    input.disabled = !connected;
    sendButton.disabled = !connected;
    connection.textContent = text;
    connection.hidden = connected;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function appendItem(node) {
    log.appendChild(node);
    node.scrollIntoView({ block: "end" });
  }

  function speakerLabel(kind) {
    var keys = { user: "you", bot: "bot", agent: "agent", system: "system" };
    return keys[kind] ? t("resident.script." + keys[kind]) : "";
  }

  function appendMessage(kind, text, senderName) {
    var item = element("li", "message message--" + kind);
    var who = element("span", "message__who", (senderName || speakerLabel(kind)) + ":");
    var body = element("p", "message__text", text);
    item.appendChild(who);
    item.appendChild(body);
    appendItem(item);
    return item;
  }

  /* The professional types (shown once, for up to 6 s after the last sign) or stopped. */
  function showAgentTyping(typing) {
    window.clearTimeout(typingShownTimer);
    typingShownTimer = null;
    if (!typing) {
      typingLine.textContent = "";
      return;
    }
    var text = t("resident.script.agent_typing");
    if (typingLine.textContent !== text) typingLine.textContent = text;
    typingShownTimer = window.setTimeout(function () { showAgentTyping(false); }, TYPING_SHOWN_MS);
  }

  function typingStopped() {
    window.clearTimeout(typingIdleTimer);
    typingIdleTimer = null;
    if (!typingSent) return;
    typingSent = false;
    socket.emit("typing", { typing: false });
  }

  /* On every change of the field: tell that the resident writes, at most every 2.5 s. */
  function residentTyped() {
    if (!personInvolved) return;
    if (!input.value.trim()) {
      typingStopped();
      return;
    }
    var now = Date.now();
    if (now - typingSentAt >= TYPING_EVERY_MS) {
      typingSentAt = now;
      typingSent = true;
      socket.emit("typing", { typing: true });
    }
    window.clearTimeout(typingIdleTimer);
    typingIdleTimer = window.setTimeout(typingStopped, TYPING_IDLE_MS);
  }

  function sendText(text, shownAs) {
    var message = text.trim();
    typingStopped();
    if (!message) return;
    appendMessage("user", shownAs || message);
    socket.emit("user_uttered", { message: message, session_id: sessionSecret });
  }

  function appendButtons(buttons, answered) {
    var item = element("li", "message message--choices");
    var group = element("div", "choices");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", t("resident.script.choices"));
    buttons.forEach(function (button) {
      var choice = element("button", "choice", button.title);
      choice.type = "button";
      choice.disabled = answered;
      choice.addEventListener("click", function () {
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) {
          b.disabled = true;
        });
        choice.setAttribute("aria-pressed", "true");
        sendText(button.payload || button.title, button.title);
        input.focus();
      });
      group.appendChild(choice);
    });
    item.appendChild(group);
    appendItem(item);
  }

  function linkLabel(route) {
    if (route.label) return route.label;
    if (route.type === "omaolo") return t("resident.script.open_omaolo");
    return t("resident.script.open_page");
  }

  function appendRoute(route) {
    if (route.type === "emergency") {
      var urgent = element("li", "message message--emergency");
      var number = route.target === "116117" ? "116117" : "112";
      var call = element("a", "emergency-call", t("resident.script.call", { number: number === "112" ? "112" : "116 117" }));
      call.href = "tel:" + number;
      urgent.appendChild(call);
      // Rasa sends the route payload after the text and its choices: the call link goes
      // before the choices (the safety question's "Kyllä" / "Ei"), so that it comes first.
      var last = log.lastElementChild;
      if (last && last.classList.contains("message--choices")) {
        log.insertBefore(urgent, last);
        last.scrollIntoView({ block: "end" });
      } else {
        appendItem(urgent);
      }
      return;
    }
    // Strong identification: the one-time start link of this service, in a new tab; the
    // conversation stays here and hears "Tunnistettu: …" when it is done.
    if (route.type === "identification" && /^\/tunnistautuminen\/aloita\/[\w-]+$/.test(route.target)) {
      var identify = element("li", "message message--link message--identify");
      var start = element("a", "route-link identify-link", route.label || t("resident.script.open_page"));
      start.href = route.target;
      start.target = "_blank";
      start.rel = "noopener";
      start.appendChild(element("span", "visually-hidden", " " + t("resident.script.new_tab")));
      identify.appendChild(start);
      appendItem(identify);
      return;
    }
    if ((route.type === "omaolo" || route.type === "webpage") && /^https:\/\//.test(route.target)) {
      var item = element("li", "message message--link");
      var link = element("a", "route-link", linkLabel(route));
      link.href = route.target;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.appendChild(element("span", "visually-hidden", " " + t("resident.script.new_tab")));
      item.appendChild(link);
      appendItem(item);
    }
  }

  function minutesText(seconds) {
    var minutes = Math.max(1, Math.round(seconds / 60));
    return t(minutes === 1 ? "resident.script.minute" : "resident.script.minutes", { minutes: minutes });
  }

  function appendQueue(queue) {
    var item = element("li", "message message--queue");
    var text = t("resident.script.queue_position", { position: queue.position });
    if (typeof queue.estimated_wait_s === "number") {
      text += " " + t("resident.script.queue_wait", { wait: minutesText(queue.estimated_wait_s) });
    }
    item.appendChild(element("p", "message__text", text));
    var bar = element("progress", "queue-bar");
    bar.max = Math.max(queue.position, queue.queue_length || queue.position);
    bar.value = bar.max - queue.position + 1;
    bar.setAttribute("aria-label", t("resident.script.queue_label"));
    item.appendChild(bar);
    appendItem(item);
  }

  var KIND_BY_SENDER = { agent: "agent", system: "system", resident: "user" };

  /* Draw one bot_uttered message; `custom.history` marks a redraw of earlier messages on resume. */
  function renderBotMessage(message) {
    var custom = message.custom || {};
    var kind = KIND_BY_SENDER[custom.sender] || "bot";
    if (custom.queue || kind === "agent") personInvolved = true;
    if (message.text && (kind === "agent" || kind === "system")) showAgentTyping(false);
    if (message.text) appendMessage(kind, message.text, kind === "user" ? null : custom.sender_name);
    var buttons = message.quick_replies || message.buttons;
    if (buttons && buttons.length) appendButtons(buttons, Boolean(custom.history));
    if (custom.route) appendRoute(custom.route);
    if (custom.queue) appendQueue(custom.queue);
    if (custom.identification) retireIdentifyLinks();
    if (IDENTIFIED[custom.identification]) showAttach(true);
  }

  function showAttach(shown) {
    if (!attachBox) return;
    attachBox.hidden = !shown;
    if (!shown) attachStatus.textContent = "";
  }

  /* One file to the gateway (POST /liitteet, the session secret in a header). The chat's own
     "Liite: …" message comes over the socket when it is through; a refusal is said here. */
  function sendAttachment(file) {
    attachStatus.textContent = t("resident.script.attachment_sending", { name: file.name });
    var body = new FormData();
    body.append("file", file);
    fetch("/liitteet", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Opastin-Session": sessionSecret || "" },
      body: body
    })
      .then(function (response) {
        return response.json().then(function (answer) {
          attachStatus.textContent = response.ok ? "" : answer.message || t("resident.script.attachment_failed");
        });
      })
      .catch(function () {
        attachStatus.textContent = t("resident.script.attachment_failed");
      })
      .finally(function () {
        attachInput.value = "";
      });
  }

  if (attachInput) {
    attachInput.addEventListener("change", function () {
      if (attachInput.files && attachInput.files.length) sendAttachment(attachInput.files[0]);
    });
  }

  /* The identification ended (done, cancelled or failed): its one-time links are spent. */
  function retireIdentifyLinks() {
    Array.prototype.forEach.call(log.querySelectorAll("a.identify-link[href]"), function (link) {
      link.removeAttribute("href");
      link.removeAttribute("target");
      link.setAttribute("aria-disabled", "true");
      link.classList.add("identify-link--used");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    sendText(text);
  });

  input.addEventListener("input", residentTyped);

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });

  if (endButton) {
    endButton.addEventListener("click", function () {
      // Ends the conversation on the server too: its secret will not resume it again.
      typingStopped();
      socket.emit("session_end");
      storeSecret(null);
      log.textContent = "";
      showAgentTyping(false);
      showAttach(false);
      personInvolved = false;
      socket.emit("session_request", { session_id: null });
      input.focus();
    });
  }

  socket.on("connect", function () {
    socket.emit("session_request", { session_id: sessionSecret });
  });

  // The service may have missed events for this page (its replicas' queue was away): the
  // conversation is requested again and redrawn from its history, as after a reconnect.
  socket.on("resync", function () {
    if (sessionSecret) socket.emit("session_request", { session_id: sessionSecret });
  });

  socket.on("session_confirm", function (data) {
    var secret = typeof data === "string" ? data : data && data.session_id;
    var isNewConversation = secret !== sessionSecret;
    storeSecret(secret);
    setConnected(true, "");
    // A resumed conversation is redrawn from the history the gateway sends next.
    log.textContent = "";
    showAgentTyping(false);
    showAttach(false);
    personInvolved = false;
    if (isNewConversation) {
      // Like rasa-webchat's initPayload: the bot greets first; nothing is shown for it.
      socket.emit("user_uttered", { message: "/greet", session_id: secret });
    }
  });

  socket.on("conversation_reference", function (data) {
    if (referenceLine && data && typeof data.reference === "string") {
      referenceLine.textContent = t("resident.script.reference", { reference: data.reference });
    }
  });

  socket.on("bot_uttered", renderBotMessage);

  socket.on("typing", function (data) {
    if (!data || typeof data.typing !== "boolean") return;
    if (data.typing) personInvolved = true;
    showAgentTyping(data.typing);
  });

  socket.on("disconnect", function () {
    showAgentTyping(false);
    typingSent = false;
    setConnected(false, t("resident.script.disconnected"));
  });

  socket.on("connect_error", function () {
    setConnected(false, t("resident.script.unreachable"));
  });

  setConnected(false, t("resident.script.connecting"));
})();
