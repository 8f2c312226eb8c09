/*
 * Opastin agent desk: live updates over the socket.io namespace /desk.
 *
 * The pages work without this script (plain forms). With it, nothing reloads the page: the
 * chat list and the queues (on the front page and beside an open conversation) are fetched
 * again when a team's queue or one of the agent's chats changes, new chat messages appear in
 * the conversation's live region, a status change (the chat ended, the resident left, a
 * transfer) is merged into the open conversation in place, and replies, notes, transfers and
 * ending are sent without leaving the page. Every text from the network is inserted as text,
 * never as HTML; the fragments are HTML rendered (and escaped) by the server.
 *
 * One screen for the day: each chat in the list shows how many of the resident's messages
 * arrived while another chat (or the front page) was on screen, and how long the resident has
 * waited for an answer. The reply and the internal note are kept as drafts per conversation in
 * sessionStorage (never sent to the server): restored when the agent comes back to the chat,
 * cleared when sent, when the chat ends and at logout (desk-session.js).
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
  var typingLine = document.querySelector("[data-typing]");
  var shown = {};
  var wasDisconnected = false;
  var refreshing = false;
  var refreshAgain = false;
  var reloadingChat = false;
  var reloadChatAgain = false;
  var ENDED = { ended: true, cancelled: true, closed: true };

  var t = window.opastinText;

  // -- per-tab storage: drafts and unread counts (sessionStorage dies with the tab) ------
  var DRAFT_PREFIX = "opastin-desk-draft:";
  var UNREAD_KEY = "opastin-desk-unread";

  function storage() {
    try {
      return window.sessionStorage;
    } catch (error) {
      return null;
    }
  }

  function draftKey(kind, id) {
    return DRAFT_PREFIX + kind + ":" + id;
  }

  function saveDraft(kind, id, value) {
    var store = storage();
    if (!store || !id) return;
    try {
      if (value) store.setItem(draftKey(kind, id), value);
      else store.removeItem(draftKey(kind, id));
    } catch (error) { /* storage full or refused: the draft stays in the field only */ }
  }

  function clearDrafts(id) {
    saveDraft("reply", id, "");
    saveDraft("note", id, "");
  }

  /* Keep a textarea's text as its conversation's draft and put a kept draft back. */
  function keepDraft(field) {
    var kind = field.getAttribute("data-draft");
    var store = storage();
    if (!store || !conversationId || !kind) return;
    var kept = store.getItem(draftKey(kind, conversationId));
    if (kept && !field.value) field.value = kept;
    field.addEventListener("input", function () { saveDraft(kind, conversationId, field.value); });
  }

  function unreadCounts() {
    var store = storage();
    try {
      return (store && JSON.parse(store.getItem(UNREAD_KEY) || "{}")) || {};
    } catch (error) {
      return {};
    }
  }

  function setUnread(id, count) {
    var store = storage();
    if (!store) return;
    var counts = unreadCounts();
    if (count > 0) counts[id] = count;
    else delete counts[id];
    try {
      store.setItem(UNREAD_KEY, JSON.stringify(counts));
    } catch (error) { /* not kept */ }
    showUnread();
  }

  function chatRow(id) {
    if (!overview) return null;
    var rows = overview.querySelectorAll("[data-chat]");
    for (var i = 0; i < rows.length; i += 1) {
      if (rows[i].getAttribute("data-chat") === id) return rows[i];
    }
    return null;
  }

  function showUnread() {
    if (!overview) return;
    var counts = unreadCounts();
    Array.prototype.forEach.call(overview.querySelectorAll("[data-chat]"), function (row) {
      var badge = row.querySelector("[data-unread]");
      if (!badge) return;
      var count = counts[row.getAttribute("data-chat")] || 0;
      var text = count === 1 ? t("desk.script.unread_one") : count ? t("desk.script.unread_many", { count: count }) : "";
      if (badge.textContent !== text) badge.textContent = text;
      badge.hidden = !count;
    });
  }

  /* "Odottaa vastausta 3 min" from each chat's [data-waiting-since] (the resident's first
     message after the agent's last one), kept current while the page is open. */
  function showWaits() {
    if (!overview) return;
    var now = Date.now();
    Array.prototype.forEach.call(overview.querySelectorAll("[data-waiting-since]"), function (node) {
      var since = Date.parse(node.getAttribute("data-waiting-since") || "");
      var text = "";
      if (!isNaN(since)) {
        var count = Math.max(1, Math.round((now - since) / 60000));
        text = t("desk.script.waited", { wait: t("desk.script.minutes", { count: count }) });
      }
      if (node.textContent !== text) node.textContent = text;
    });
  }
  window.setInterval(showWaits, 30000);

  function waitingAfter(message) {
    var row = chatRow(message.conversation_id);
    var node = row && row.querySelector("[data-waiting-since]");
    if (!node) return;
    if (message.sender === "agent") node.setAttribute("data-waiting-since", "");
    else if (message.sender === "resident" && !node.getAttribute("data-waiting-since")) {
      node.setAttribute("data-waiting-since", message.created_at || new Date().toISOString());
    }
    showWaits();
  }

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

  /* Residents waiting in the agent's queues, and how many of them possibly in an emergency. */
  function queueCounts() {
    var counts = { waiting: 0, urgent: 0 };
    if (!overview) return counts;
    Array.prototype.forEach.call(overview.querySelectorAll("[data-queue-length]"), function (node) {
      counts.waiting += Number(node.getAttribute("data-queue-length")) || 0;
      counts.urgent += Number(node.getAttribute("data-queue-urgent")) || 0;
    });
    return counts;
  }

  var statusTimer = null;

  /* A line in the status bar at the bottom (role=status); a `passing` one (a confirmation, not a
     problem) goes after 6 s, so that the bar does not keep covering the page. */
  function showStatus(text, passing) {
    window.clearTimeout(statusTimer);
    liveStatus.textContent = text;
    liveStatus.hidden = !text;
    if (text && passing) statusTimer = window.setTimeout(function () { showStatus(""); }, 6000);
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

  function line(className, who, at, text) {
    var item = element("li", className);
    item.appendChild(element("span", "line__who", who));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(element("span", "line__at", at));
    item.appendChild(document.createTextNode(": "));
    item.appendChild(element("span", "line__text", text));
    return item;
  }

  function appendThread(message) {
    var thread = conversation && conversation.querySelector("[data-thread]");
    if (!thread || !message || thread.querySelector('[data-id="' + Number(message.id) + '"]')) return;
    var item = line("line line--consultation", message.who, message.at, message.text);
    item.setAttribute("data-id", Number(message.id));
    thread.appendChild(item);
  }

  function appendMessage(message) {
    if (!log || message.conversation_id !== conversationId) return;
    if (message.id !== undefined && message.id !== null) {
      if (shown[message.id]) return;
      shown[message.id] = true;
    }
    var item = line(
      "line line--" + message.sender + (message.emergency ? " line--urgent" : ""),
      message.author || t("desk.sender." + message.sender),
      timeOf(message.created_at),
      message.text
    );
    if (message.id !== undefined && message.id !== null) item.setAttribute("data-id", message.id);
    if (message.attachment && /^\/desk\/conversations\/[\w-]+\/liitteet\/[\w-]+$/.test(message.attachment.url)) {
      item.appendChild(document.createTextNode(" "));
      var download = element("a", "line__attachment", t("desk.script.attachment"));
      download.setAttribute("href", message.attachment.url);
      download.setAttribute("download", "");
      item.appendChild(download);
    }
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

  function imported(parent) {
    return Array.prototype.map.call(parent.childNodes, function (node) {
      return document.importNode(node, true);
    });
  }

  function toLogin(response) {
    if (response.redirected && /\/desk\/(login|password)/.test(response.url)) {
      window.location.assign(response.url);
      return true;
    }
    return false;
  }

  /* The chat list and the queues again, from the server (front page or beside a conversation). */
  function refreshOverview() {
    if (!overview) return;
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    fetch(overview.getAttribute("data-overview-url"), { credentials: "same-origin" })
      .then(function (response) {
        if (toLogin(response)) return null;
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
        overview.replaceChildren.apply(overview, imported(parsed.body));
        Object.keys(typingChats).forEach(function (id) { markChat(id, true); });
        showUnread();
        showWaits();
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

  /* The open conversation's status, controls, missed messages and notes, merged in place:
     a half-written reply stays in its field. */
  function refreshConversation() {
    if (!conversation) return;
    if (reloadingChat) {
      reloadChatAgain = true;
      return;
    }
    reloadingChat = true;
    fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (response) {
        if (toLogin(response)) return null;
        if (response.status === 403 || response.status === 404) {
          chatGone();
          return null;
        }
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-conversation]");
        if (!fresh || fresh.getAttribute("data-conversation") !== conversationId) return;
        mergeConversation(fresh);
      })
      .catch(function () {
        showStatus(t("desk.script.chat_update_failed"));
      })
      .finally(function () {
        reloadingChat = false;
        if (reloadChatAgain) {
          reloadChatAgain = false;
          refreshConversation();
        }
      });
  }

  function mergeConversation(fresh) {
    Array.prototype.forEach.call(fresh.querySelectorAll("[data-log] [data-id]"), function (item) {
      var id = item.getAttribute("data-id");
      if (shown[id]) return;
      shown[id] = true;
      log.appendChild(document.importNode(item, true));
      log.scrollTop = log.scrollHeight;
    });
    var state = conversation.querySelector("[data-chat-state]");
    var freshState = fresh.querySelector("[data-chat-state]");
    if (state && freshState) state.replaceChildren.apply(state, imported(freshState));
    var notesList = conversation.querySelector("[data-notes]");
    var freshNotes = fresh.querySelector("[data-notes]");
    if (notesList && freshNotes && freshNotes.children.length > notesList.children.length) {
      notesList.replaceChildren.apply(notesList, imported(freshNotes));
    }
    var people = conversation.querySelector("[data-consult-people]");
    var freshPeople = fresh.querySelector("[data-consult-people]");
    if (people && freshPeople && !people.isEqualNode(freshPeople)) {
      people.replaceChildren.apply(people, imported(freshPeople));
      bindConsultActions(people);
    }
    var status = fresh.getAttribute("data-status");
    conversation.setAttribute("data-status", status);
    if (fresh.getAttribute("data-held") !== conversation.getAttribute("data-held")) {
      conversation.setAttribute("data-held", fresh.getAttribute("data-held"));
      var controls = conversation.querySelector("[data-chat-controls]");
      var freshControls = fresh.querySelector("[data-chat-controls]");
      var hadFocus = controls && controls.contains(document.activeElement);
      if (fresh.getAttribute("data-held") !== "1") saveDraft("reply", conversationId, "");
      if (controls && freshControls) {
        controls.replaceChildren.apply(controls, imported(freshControls));
        bindControls();
      }
      var skip = document.querySelector("[data-skip-reply]");
      if (skip) skip.hidden = !document.getElementById("reply");
      if (hadFocus) conversation.querySelector("h1").focus();
    }
    if (ENDED[status]) {
      clearDrafts(conversationId);
      showStatus(t("desk.script.chat_ended"), true);
    }
  }

  /* The chat is no longer the agent's to see (transferred to another team): say so in place. */
  function chatGone() {
    clearDrafts(conversationId);
    var controls = conversation.querySelector("[data-chat-controls]");
    var hadFocus = controls && controls.contains(document.activeElement);
    if (controls) controls.replaceChildren();
    var state = conversation.querySelector("[data-chat-state]");
    if (state) state.replaceChildren(element("p", "alert", t("desk.script.chat_gone")));
    var skip = document.querySelector("[data-skip-reply]");
    if (skip) skip.hidden = true;
    conversation.setAttribute("data-held", "0");
    if (hadFocus) conversation.querySelector("h1").focus();
    showStatus(t("desk.script.chat_gone"));
  }

  if (log) {
    Array.prototype.forEach.call(log.querySelectorAll("[data-id]"), function (item) {
      shown[item.getAttribute("data-id")] = true;
    });
    log.scrollTop = log.scrollHeight; // the latest messages in view, as in any chat
  }

  function post(form) {
    return fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
      body: new URLSearchParams(new FormData(form))
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error((data.error && data.error.message) || "error");
        return data;
      });
    });
  }

  var socket = window.io("/desk", { path: "/socket.io", transports: ["websocket", "polling"] });
  window.opastinDeskSocket = socket; // identify.js listens to its `identification` events

  /* A reply goes over the open socket (acknowledged with the stored message); without a
     connection, through the form's own address. An unanswered reply is never sent twice:
     if it was stored after all, it shows in the log like every message. */
  var REPLY_ACK_MS = 10000;
  function sendReply(form, text) {
    if (!socket.connected) return post(form);
    return new Promise(function (resolve, reject) {
      socket.timeout(REPLY_ACK_MS).emit(
        "reply",
        { conversation_id: conversationId, text: text },
        function (error, answer) {
          if (error || !answer || !answer.message) reject(new Error("not sent"));
          else resolve(answer);
        }
      );
    });
  }

  // -- typing indicators ----------------------------------------------------------
  var TYPING_EVERY_MS = 2500;
  var TYPING_IDLE_MS = 5000;
  var TYPING_SHOWN_MS = 6000;
  var typingChats = {}; // conversation id -> the timer that hides its indicator
  var typingSent = false;
  var typingSentAt = 0;
  var typingIdle = null;

  function typingStopped() {
    window.clearTimeout(typingIdle);
    typingIdle = null;
    if (!typingSent) return;
    typingSent = false;
    socket.emit("typing", { conversation_id: conversationId, typing: false });
  }
  socket.on("disconnect", function () { typingSent = false; });

  function markChat(id, typing) {
    var row = chatRow(id);
    if (!row) return;
    var marker = row.querySelector("[data-typing-marker]");
    if (typing && !marker) {
      marker = element("span", "tag tag--typing", t("desk.script.resident_typing"));
      marker.setAttribute("data-typing-marker", "");
      row.insertBefore(marker, row.querySelector(".summary"));
    } else if (!typing && marker) {
      marker.remove();
    }
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

  // -- the conversation's forms ------------------------------------------------------

  /* The reply form of a chat the agent holds, its ready answers and the in-place actions
     (bound again when the controls are replaced after a status change). */
  function bindControls() {
    var replyForm = conversation.querySelector("[data-reply]");
    if (replyForm) {
      var textarea = replyForm.querySelector("textarea");
      keepDraft(textarea);
      replyForm.addEventListener("submit", function (event) {
        event.preventDefault();
        typingStopped();
        if (!textarea.value.trim()) return;
        sendReply(replyForm, textarea.value)
          .then(function (data) {
            textarea.value = "";
            saveDraft("reply", conversationId, "");
            textarea.focus();
            showStatus("");
            appendMessage(data.message);
            waitingAfter(data.message);
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
      textarea.addEventListener("input", function () {
        if (!textarea.value.trim()) {
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
      var canned = conversation.querySelector("[data-canned]");
      if (canned && canned.querySelectorAll("[data-canned-text]").length) {
        canned.hidden = false;
        Array.prototype.forEach.call(canned.querySelectorAll("[data-canned-text]"), function (button) {
          button.addEventListener("click", function () { insertAnswer(button); });
        });
      }
    }
    Array.prototype.forEach.call(conversation.querySelectorAll("[data-in-place]"), function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        post(form)
          .then(function () {
            if (form.hasAttribute("data-ends-chat")) clearDrafts(conversationId);
            else showStatus(t("desk.script.transfer_asked"), true);
            refreshConversation();
            refreshOverview();
          })
          .catch(function () {
            showStatus(t("desk.script.action_failed"));
          });
      });
    });
  }

  // Consultation: invite and end in place (the people part is redrawn), the thread written in place.
  function bindConsultation() {
    var section = conversation.querySelector("[data-consultation]");
    if (!section) return;
    bindConsultActions(section);
    var threadForm = section.querySelector("[data-thread-form]");
    var threadField = threadForm.querySelector("textarea");
    keepDraft(threadField);
    threadForm.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!threadField.value.trim()) return;
      post(threadForm)
        .then(function (data) {
          appendThread(data.message);
          threadField.value = "";
          saveDraft("thread", conversationId, "");
          threadField.focus();
        })
        .catch(function () {
          showStatus(t("desk.script.consultation_failed"));
        });
    });
  }

  function bindConsultActions(section) {
    Array.prototype.forEach.call(section.querySelectorAll("[data-consult-action]"), function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        post(form)
          .then(refreshConversation)
          .catch(function () {
            showStatus(t("desk.script.action_failed"));
          });
      });
    });
  }

  // Ready answers of the team: a button or Alt+1 ... Alt+9 puts one into the reply at the
  // cursor, to be edited before sending; nothing is sent by itself.
  function insertAnswer(button) {
    var textarea = document.getElementById("reply");
    if (!textarea) return;
    var text = button.getAttribute("data-canned-text");
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    var before = textarea.value.slice(0, start), after = textarea.value.slice(end);
    var glue = before && !/\s$/.test(before) ? " " : "";
    textarea.value = before + glue + text + after;
    var caret = (before + glue + text).length;
    textarea.focus();
    textarea.setSelectionRange(caret, caret);
    saveDraft("reply", conversationId, textarea.value);
    showStatus(t("desk.script.canned_inserted"), true);
  }

  if (conversation) {
    bindControls();
    setUnread(conversationId, 0);
    if (ENDED[conversation.getAttribute("data-status")]) clearDrafts(conversationId);
    document.addEventListener("keydown", function (event) {
      if (!event.altKey || event.ctrlKey || event.metaKey) return;
      var canned = conversation.querySelector("[data-canned]");
      var answers = canned && !canned.hidden ? canned.querySelectorAll("[data-canned-text]") : [];
      var index = "123456789".indexOf(event.key);
      if (index < 0 || index >= answers.length) return;
      event.preventDefault();
      insertAnswer(answers[index]);
    });

    bindConsultation();

    var noteForm = conversation.querySelector("[data-note]");
    if (noteForm) {
      var noteField = noteForm.querySelector("textarea");
      keepDraft(noteField);
      noteForm.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!noteField.value.trim()) return;
        post(noteForm)
          .then(function (data) {
            var notesList = conversation.querySelector("[data-notes]");
            notesList.appendChild(line("line line--note", data.note.who, data.note.at, data.note.text));
            noteField.value = "";
            saveDraft("note", conversationId, "");
            noteField.focus();
            showStatus(t("desk.script.note_saved"), true);
          })
          .catch(function () {
            showStatus(t("desk.script.note_failed"));
          });
      });
    }
  }
  showUnread();
  showWaits();

  // -- the socket's events ----------------------------------------------------------
  socket.on("connect", function () {
    document.body.setAttribute("data-desk-live", ""); // live updates flow (tests wait for it)
    showStatus("");
    if (wasDisconnected) {
      wasDisconnected = false;
      refreshConversation();
      refreshOverview();
    }
  });
  // The service may have missed events for this desk (its replicas' queue was away): reload
  // what is shown, as after a reconnect.
  socket.on("resync", function () {
    refreshConversation();
    refreshOverview();
  });
  socket.on("disconnect", function () {
    document.body.removeAttribute("data-desk-live");
    wasDisconnected = true;
    showStatus(t("desk.script.disconnected"));
  });
  socket.on("connect_error", function () {
    wasDisconnected = true;
    showStatus(t("desk.script.realtime_failed"));
  });
  socket.on("message", function (message) {
    if (!message || typeof message.conversation_id !== "string") return;
    if (message.sender === "resident") residentTyping(message.conversation_id, false);
    appendMessage(message);
    waitingAfter(message);
    var elsewhere = message.conversation_id !== conversationId;
    if (message.sender === "resident" && elsewhere && chatRow(message.conversation_id)) {
      setUnread(message.conversation_id, (unreadCounts()[message.conversation_id] || 0) + 1);
    }
    if (message.sender === "resident" && (document.hidden || elsewhere || message.emergency)) {
      notice("message", !!message.emergency);
    }
    if (message.emergency && !elsewhere) refreshConversation();
  });
  socket.on("typing", function (event) {
    if (!event || typeof event.conversation_id !== "string" || typeof event.typing !== "boolean") return;
    residentTyping(event.conversation_id, event.typing);
  });
  socket.on("changed", refreshOverview);
  // Consultation: a thread message (the author's own comes back too: shown once), an invitation,
  // or the end of one (a consultant's page then has nothing more to show).
  socket.on("consultation", function (event) {
    if (!event || typeof event.conversation_id !== "string") return;
    var here = conversation && event.conversation_id === conversationId;
    if (event.message && here) appendThread(event.message);
    if (event.state === "invited" && typeof event.by === "string") {
      showStatus(t("desk.script.consultation_invited", { name: event.by }), true);
      notice("consultation", false);
    }
    if ((event.state === "joined" || event.state === "left") && here && typeof event.name === "string") {
      showStatus(t("desk.script.consultation_" + event.state, { name: event.name }), true);
    }
    if (event.state && event.state !== "invited" && here) refreshConversation();
    if (event.state) refreshOverview();
  });
  socket.on("conversation", function (event) {
    if (!event || typeof event.conversation_id !== "string") return;
    if (ENDED[event.status]) {
      clearDrafts(event.conversation_id);
      setUnread(event.conversation_id, 0);
    } else if (event.status !== "active") {
      saveDraft("reply", event.conversation_id, ""); // back in a queue: nobody's reply to write now
    }
    if (conversation && event.conversation_id === conversationId) refreshConversation();
    refreshOverview();
  });
})();
