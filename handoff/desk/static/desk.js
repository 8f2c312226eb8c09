/*
 * Opastin agent desk: live updates over the socket.io namespace /desk.
 *
 * The pages work without this script (plain forms). With it, the queue
 * overview refreshes when a team's queue changes, new chat messages appear in
 * the conversation's live region, and replies are sent without reloading the
 * page. Every text from the network is inserted as text, never as HTML; the
 * overview fragment is HTML rendered (and escaped) by the server.
 *
 * Typing indicators, never with text: in a chat the agent holds, the desk sends
 * `typing {conversation_id, typing: true}` at most every 2.5 s while the agent
 * writes, and `typing: false` when the reply empties, is sent or 5 s pass without
 * a key. The resident's state shows as "Asukas kirjoittaa…" under the messages
 * (a polite live region, said once) and as a tag in the overview's chat list,
 * until the resident's message, their "stopped", or 6 s without a sign.
 */
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  if (!csrfMeta || !window.io || !window.opastinText) return;
  var csrf = csrfMeta.getAttribute("content");
  var liveStatus = document.querySelector("[data-live-status]");
  var overview = document.querySelector("[data-overview]");
  var conversation = document.querySelector("[data-conversation]");
  var conversationId = conversation ? conversation.getAttribute("data-conversation") : null;
  var log = document.querySelector("[data-log]");
  var replyForm = document.querySelector("[data-reply]");
  var typingLine = document.querySelector("[data-typing]");
  var shown = {};
  var wasDisconnected = false;
  var refreshing = false;
  var refreshAgain = false;

  var t = window.opastinText;

  // Notices: an unread count in the tab title, a sound (switchable) and the browser's
  // notifications, never with a message's text. An emergency gets a louder, lasting alert.
  var baseTitle = document.title;
  var unread = 0;
  var soundSwitch = document.querySelector("[data-sound]");
  var notifyButton = document.querySelector("[data-notify]");
  var audio = null;
  var SOUND_KEY = "opastin-desk-sound";

  function soundOn() {
    return !!soundSwitch && soundSwitch.checked;
  }

  function beep(urgent) {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audio = audio || new Context();
    var tones = urgent ? [0, 0.25, 0.5] : [0];
    tones.forEach(function (offset) {
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.frequency.value = urgent ? 1200 : 880;
      gain.gain.value = 0.15;
      oscillator.connect(gain);
      gain.connect(audio.destination);
      oscillator.start(audio.currentTime + offset);
      oscillator.stop(audio.currentTime + offset + 0.15);
    });
  }

  function notice(kind, urgent) {
    if (document.hidden || !document.hasFocus()) {
      unread += 1;
      document.title = "(" + unread + ") " + baseTitle;
    }
    if (soundOn()) beep(urgent);
    if (window.Notification && window.Notification.permission === "granted" && (document.hidden || urgent)) {
      new window.Notification(t(urgent ? "desk.script.notice_urgent" : "desk.script.notice_" + kind), {
        tag: "opastin-" + kind,
        requireInteraction: urgent
      });
    }
  }

  function seen() {
    if (document.hidden) return;
    unread = 0;
    document.title = baseTitle;
  }
  document.addEventListener("visibilitychange", seen);
  window.addEventListener("focus", seen);

  if (soundSwitch) {
    soundSwitch.checked = window.localStorage.getItem(SOUND_KEY) !== "off";
    soundSwitch.addEventListener("change", function () {
      window.localStorage.setItem(SOUND_KEY, soundSwitch.checked ? "on" : "off");
    });
  }
  if (notifyButton && window.Notification && window.Notification.permission === "default") {
    notifyButton.hidden = false;
    notifyButton.addEventListener("click", function () {
      window.Notification.requestPermission().then(function () {
        notifyButton.hidden = true;
      });
    });
  }

  function queueCounts() {
    return {
      waiting: overview ? overview.querySelectorAll(".queue tbody tr").length : 0,
      urgent: overview ? overview.querySelectorAll(".queue tbody tr.row--urgent").length : 0
    };
  }

  function showStatus(text) {
    liveStatus.textContent = text;
    liveStatus.hidden = !text;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // Helsinki time whatever the agent's computer is set to, as the server renders it (views.local_time).
  var HELSINKI_TIME = new Intl.DateTimeFormat("fi-FI", {
    timeZone: "Europe/Helsinki", day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit",
    hourCycle: "h23"
  });

  function timeOf(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    var part = {};
    HELSINKI_TIME.formatToParts(date).forEach(function (p) { part[p.type] = p.value; });
    return part.day + "." + part.month + ". klo " + part.hour + "." + part.minute;
  }

  function appendMessage(message) {
    if (!log || message.conversation_id !== conversationId) return;
    if (message.id !== undefined && message.id !== null) {
      if (shown[message.id]) return;
      shown[message.id] = true;
    }
    var item = element("li", "line line--" + message.sender);
    if (message.emergency) item.className += " line--urgent";
    item.appendChild(element("span", "line__who", message.author || t("desk.sender." + message.sender)));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(element("span", "line__at", timeOf(message.created_at)));
    item.appendChild(document.createTextNode(": "));
    item.appendChild(element("span", "line__text", message.text));
    log.appendChild(item);
    item.scrollIntoView({ block: "nearest" });
  }

  function focusKey(node) {
    if (!node || !overview || !overview.contains(node)) return null;
    if (node.tagName === "A") return "a|" + node.getAttribute("href");
    var form = node.form;
    if (!form) return null;
    var chosen = form.querySelector('[name="conversation_id"]');
    var team = form.querySelector('[name="team"]');
    return "f|" + form.getAttribute("action") + "|" + (chosen ? chosen.value : "") + "|" + (team ? team.value : "");
  }

  function restoreFocus(key) {
    var candidates = overview.querySelectorAll("a, button");
    for (var i = 0; i < candidates.length; i += 1) {
      if (focusKey(candidates[i]) === key) {
        candidates[i].focus();
        return;
      }
    }
  }

  function refreshOverview() {
    if (!overview) return;
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    fetch(overview.getAttribute("data-overview-url"), { credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected || !response.ok) {
          window.location.assign("/desk/login");
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        var key = focusKey(document.activeElement);
        var before = queueCounts();
        var parsed = new DOMParser().parseFromString(html, "text/html");
        var nodes = Array.prototype.map.call(parsed.body.childNodes, function (node) {
          return document.importNode(node, true);
        });
        overview.replaceChildren.apply(overview, nodes);
        Object.keys(typingChats).forEach(function (id) { markChat(id, true); });
        if (key) restoreFocus(key);
        var after = queueCounts();
        if (after.waiting > before.waiting || after.urgent > before.urgent) {
          notice("queue", after.urgent > before.urgent);
        }
      })
      .catch(function () {
        showStatus(t("desk.script.queue_update_failed"));
      })
      .finally(function () {
        refreshing = false;
        if (refreshAgain) {
          refreshAgain = false;
          refreshOverview();
        }
      });
  }

  if (log) {
    Array.prototype.forEach.call(log.querySelectorAll("[data-id]"), function (item) {
      shown[item.getAttribute("data-id")] = true;
    });
  }

  if (replyForm) {
    var textarea = replyForm.querySelector("textarea");
    replyForm.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!textarea.value.trim()) return;
      var body = new URLSearchParams(new FormData(replyForm));
      fetch(replyForm.getAttribute("action"), {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrf },
        body: body
      })
        .then(function (response) {
          return response.json().then(function (data) {
            if (!response.ok) throw new Error((data.error && data.error.message) || "error");
            return data;
          });
        })
        .then(function (data) {
          textarea.value = "";
          textarea.focus();
          showStatus("");
          appendMessage(data.message);
        })
        .catch(function () {
          showStatus(t("desk.script.send_failed"));
        });
    });
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        replyForm.requestSubmit();
      }
    });

    // Ready answers of the team: a button or Alt+1 ... Alt+9 puts one into the reply at the
    // cursor, to be edited before sending; nothing is sent by itself.
    var canned = document.querySelector("[data-canned]");
    var answers = canned ? canned.querySelectorAll("[data-canned-text]") : [];
    function insertAnswer(button) {
      var text = button.getAttribute("data-canned-text");
      var start = textarea.selectionStart, end = textarea.selectionEnd;
      var before = textarea.value.slice(0, start), after = textarea.value.slice(end);
      var glue = before && !/\s$/.test(before) ? " " : "";
      textarea.value = before + glue + text + after;
      var caret = (before + glue + text).length;
      textarea.focus();
      textarea.setSelectionRange(caret, caret);
      showStatus(t("desk.script.canned_inserted"));
    }
    if (canned && answers.length) {
      canned.hidden = false;
      Array.prototype.forEach.call(answers, function (button) {
        button.addEventListener("click", function () { insertAnswer(button); });
      });
      document.addEventListener("keydown", function (event) {
        if (!event.altKey || event.ctrlKey || event.metaKey) return;
        var index = "123456789".indexOf(event.key);
        if (index < 0 || index >= answers.length) return;
        event.preventDefault();
        insertAnswer(answers[index]);
      });
    }
  }

  var socket = window.io("/desk", { path: "/socket.io", transports: ["websocket", "polling"] });

  // -- typing indicators ----------------------------------------------------------
  var TYPING_EVERY_MS = 2500;
  var TYPING_IDLE_MS = 5000;
  var TYPING_SHOWN_MS = 6000;
  var typingChats = {}; // conversation id -> the timer that hides its indicator

  function markChat(id, typing) {
    if (!overview) return;
    Array.prototype.forEach.call(overview.querySelectorAll("[data-chat]"), function (row) {
      if (row.getAttribute("data-chat") !== id) return;
      var marker = row.querySelector("[data-typing-marker]");
      if (typing && !marker) {
        marker = element("span", "tag tag--typing", t("desk.script.resident_typing"));
        marker.setAttribute("data-typing-marker", "");
        row.insertBefore(marker, row.querySelector(".summary"));
      } else if (!typing && marker) {
        marker.remove();
      }
    });
  }

  /* The resident of chat `id` types (shown for up to 6 s after the last sign) or stopped. */
  function residentTyping(id, typing) {
    window.clearTimeout(typingChats[id]);
    delete typingChats[id];
    if (typing) {
      typingChats[id] = window.setTimeout(function () { residentTyping(id, false); }, TYPING_SHOWN_MS);
    }
    markChat(id, typing);
    if (typingLine && id === conversationId) {
      var text = typing ? t("desk.script.resident_typing") : "";
      if (typingLine.textContent !== text) typingLine.textContent = text;
    }
  }

  if (replyForm && conversationId) {
    var reply = replyForm.querySelector("textarea");
    var typingSent = false;
    var typingSentAt = 0;
    var typingIdle = null;

    var typingStopped = function () {
      window.clearTimeout(typingIdle);
      typingIdle = null;
      if (!typingSent) return;
      typingSent = false;
      socket.emit("typing", { conversation_id: conversationId, typing: false });
    };

    reply.addEventListener("input", function () {
      if (!reply.value.trim()) {
        typingStopped();
        return;
      }
      var now = Date.now();
      if (now - typingSentAt >= TYPING_EVERY_MS) {
        typingSentAt = now;
        typingSent = true;
        socket.emit("typing", { conversation_id: conversationId, typing: true });
      }
      window.clearTimeout(typingIdle);
      typingIdle = window.setTimeout(typingStopped, TYPING_IDLE_MS);
    });
    replyForm.addEventListener("submit", typingStopped);
    socket.on("disconnect", function () { typingSent = false; });
  }

  socket.on("connect", function () {
    showStatus("");
    if (wasDisconnected) {
      wasDisconnected = false;
      if (conversation) window.location.reload();
      else refreshOverview();
    }
  });
  socket.on("disconnect", function () {
    wasDisconnected = true;
    showStatus(t("desk.script.disconnected"));
  });
  socket.on("connect_error", function () {
    wasDisconnected = true;
    showStatus(t("desk.script.realtime_failed"));
  });
  socket.on("message", function (message) {
    if (message.sender === "resident") residentTyping(message.conversation_id, false);
    appendMessage(message);
    var elsewhere = message.conversation_id !== conversationId;
    if (message.sender === "resident" && (document.hidden || elsewhere || message.emergency)) {
      notice("message", !!message.emergency);
    }
  });
  socket.on("typing", function (event) {
    if (!event || typeof event.conversation_id !== "string" || typeof event.typing !== "boolean") return;
    residentTyping(event.conversation_id, event.typing);
  });
  socket.on("changed", refreshOverview);
  socket.on("conversation", function (event) {
    if (conversation && event.conversation_id === conversationId) window.location.reload();
    else refreshOverview();
  });
})();
