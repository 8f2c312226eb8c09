/*
 * The team status panel of the resident page: which chats are open now, the
 * queue and wait, and when closed ones open next. Reads the public status
 * endpoint of the handoff service and refreshes itself without a reload.
 */
(function () {
  "use strict";

  var REFRESH_MS = 30000;
  var list = document.querySelector("[data-team-status]");
  var updated = document.querySelector("[data-team-status-updated]");
  if (!list) return;

  var HELSINKI = "Europe/Helsinki";
  var WEEKDAYS_ESSIVE = ["sunnuntaina", "maanantaina", "tiistaina", "keskiviikkona", "torstaina", "perjantaina", "lauantaina"];
  var timeOnly = new Intl.DateTimeFormat("fi-FI", { hour: "numeric", minute: "2-digit", timeZone: HELSINKI });
  var dayKey = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: HELSINKI });
  var dayAndMonth = new Intl.DateTimeFormat("fi-FI", { day: "numeric", month: "numeric", timeZone: HELSINKI });

  function helsinkiWeekday(date) {
    var parts = dayKey.format(date).split("-").map(Number);
    return new Date(Date.UTC(parts[0], parts[1] - 1, parts[2])).getUTCDay();
  }

  function daysFromToday(date) {
    var today = Date.parse(dayKey.format(new Date()));
    return Math.round((Date.parse(dayKey.format(date)) - today) / 86400000);
  }

  /* "tänään klo 12.00", "huomenna klo 8.00", "torstaina klo 12.00" or "maanantaina 4.1. klo 8.00". */
  function whenText(date) {
    var days = daysFromToday(date);
    var day = days === 0 ? "tänään" : days === 1 ? "huomenna" : WEEKDAYS_ESSIVE[helsinkiWeekday(date)];
    if (days > 6) day += " " + dayAndMonth.format(date);
    return day + " klo " + timeOnly.format(date);
  }

  function waitText(seconds) {
    var minutes = Math.max(1, Math.round(seconds / 60));
    return "noin " + minutes + " min";
  }

  function describe(team) {
    if (team.open && team.accepting) {
      var text = "Auki nyt";
      if (team.closes_at) text += " klo " + timeOnly.format(new Date(team.closes_at)) + " asti";
      text += ". Jonossa " + team.queue_length;
      if (team.queue_length > 0) text += ", odotusaika " + waitText(team.estimated_wait_s);
      return { state: "open", text: text + "." };
    }
    if (team.open) {
      return { state: "busy", text: "Auki, mutta chat ei juuri nyt ota uusia keskusteluja vastaan." };
    }
    if (team.opens_at) {
      return { state: "closed", text: "Suljettu. Avautuu " + whenText(new Date(team.opens_at)) + "." };
    }
    return { state: "closed", text: "Suljettu." };
  }

  function render(teams) {
    var items = teams.map(function (team) {
      var status = describe(team);
      var item = document.createElement("li");
      item.className = "team team--" + status.state;
      var name = document.createElement("span");
      name.className = "team__name";
      name.textContent = team.name;
      var state = document.createElement("span");
      state.className = "team__state";
      state.textContent = status.text;
      item.appendChild(name);
      item.appendChild(state);
      return item;
    });
    list.replaceChildren.apply(list, items);
    if (updated) updated.textContent = "Päivitetty klo " + timeOnly.format(new Date()) + ".";
  }

  function refresh() {
    fetch("/api/public/teams", { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(render)
      .catch(function () {
        if (updated) updated.textContent = "Tilannetta ei juuri nyt saatu haettua. Yritetään pian uudelleen.";
      });
  }

  refresh();
  window.setInterval(refresh, REFRESH_MS);
})();
