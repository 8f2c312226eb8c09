/*
 * A consultation room in the desk (handoff/desk/rooms.py, room.html).
 *
 * The page works without this script (a plain form). With it, a message is posted in place
 * (JSON, the CSRF token in X-CSRF-Token) and the field is emptied for the next one; messages
 * written by anyone in the room arrive on the desk socket (desk.js, window.opastinDeskSocket) as
 * `room_message` and are added to the log, each once. `room_presence` for this room, a reconnect,
 * and every 30 seconds while the page is visible fetch the presence list again (the server's
 * fragment); after a reconnect the page's messages are fetched too, for what the socket missed.
 * Every text from the network is inserted as text, never as HTML.
 */
(function () {
  "use strict";

  var holder = document.querySelector("[data-room]");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var socket = window.opastinDeskSocket;
  if (!holder || !csrfMeta || !socket || !window.fetch) return;
  var room = holder.getAttribute("data-room");
  var csrf = csrfMeta.getAttribute("content");
  var log = holder.querySelector("[data-room-log]");
  var empty = holder.querySelector("[data-room-empty]");
  var form = holder.querySelector("[data-room-form]");
  var field = form.querySelector("textarea");
  var status = form.querySelector("[data-room-status]");
  var presence = holder.querySelector("[data-room-presence]");
  var PRESENCE_EVERY_MS = 30000;
  var shown = {};
  var wasDisconnected = false;

  Array.prototype.forEach.call(log.querySelectorAll("[data-id]"), function (item) {
    shown[item.getAttribute("data-id")] = true;
  });
  log.scrollTop = log.scrollHeight; // the latest messages in view

  function span(className, text) {
    var node = document.createElement("span");
    node.className = className;
    node.textContent = text;
    return node;
  }

  /* Add one message {id, who, at, text} at the end of the log, unless it is there already. */
  function append(message) {
    if (!message || shown[String(message.id)]) return;
    shown[String(message.id)] = true;
    var item = document.createElement("li");
    item.className = "line line--room";
    item.setAttribute("data-id", String(message.id));
    item.appendChild(span("line__who", message.who));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(span("line__at", message.at));
    item.appendChild(document.createTextNode(": "));
    item.appendChild(span("line__text", message.text));
    var atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.appendChild(item);
    empty.hidden = true;
    if (atEnd) log.scrollTop = log.scrollHeight;
  }

  function imported(parent) {
    return Array.prototype.map.call(parent.childNodes, function (node) {
      return document.importNode(node, true);
    });
  }

  function fetched(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok || response.redirected) throw new Error(String(response.status));
      return response.text();
    }).then(function (html) {
      return new DOMParser().parseFromString(html, "text/html");
    });
  }

  function refreshPresence() {
    fetched(presence.getAttribute("data-room-presence"))
      .then(function (parsed) {
        presence.replaceChildren.apply(presence, imported(parsed.body));
      })
      .catch(function () {
        /* the list stays as it was; the next event or the next round fetches it again */
      });
  }

  /* After a reconnect: the messages the socket may have missed, from the page itself. */
  function refreshMessages() {
    fetched(window.location.pathname)
      .then(function (parsed) {
        Array.prototype.forEach.call(parsed.querySelectorAll("[data-room-log] [data-id]"), function (item) {
          append({
            id: item.getAttribute("data-id"),
            who: item.querySelector(".line__who").textContent,
            at: item.querySelector(".line__at").textContent,
            text: item.querySelector(".line__text").textContent
          });
        });
      })
      .catch(function () {
        /* a reload shows them */
      });
  }

  function say(text) {
    status.textContent = text;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!field.value.trim()) return;
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
      body: new URLSearchParams(new FormData(form))
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        append(data.message);
        log.scrollTop = log.scrollHeight;
        field.value = "";
        say(form.getAttribute("data-published"));
      })
      .catch(function () {
        say(form.getAttribute("data-failed"));
      })
      .finally(function () {
        button.disabled = false;
        field.focus();
      });
  });

  socket.on("room_message", function (event) {
    if (event && event.room === room) append(event.message);
  });
  socket.on("room_presence", function (event) {
    if (event && event.room === room) refreshPresence();
  });
  socket.on("disconnect", function () {
    wasDisconnected = true;
  });
  socket.on("connect", function () {
    if (!wasDisconnected) return;
    wasDisconnected = false;
    refreshPresence();
    refreshMessages();
  });
  window.setInterval(function () {
    if (!document.hidden) refreshPresence();
  }, PRESENCE_EVERY_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) refreshPresence();
  });
})();
