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
  var t = window.opastinText;
  if (!list || !t) return;

  var HELSINKI = "Europe/Helsinki";
  var WEEKDAYS_ESSIVE = t("resident.script.weekdays").split(" ");  // Sunday first, as Date.getUTCDay()
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
    var day = days === 0 ? t("resident.script.today") : days === 1 ? t("resident.script.tomorrow")
      : WEEKDAYS_ESSIVE[helsinkiWeekday(date)];
    if (days > 6) day += " " + dayAndMonth.format(date);
    return t("resident.script.at_time", { day: day, time: timeOnly.format(date) });
  }

  function waitText(seconds) {
    var minutes = Math.max(1, Math.round(seconds / 60));
    return t("resident.script.wait_short", { minutes: minutes });
  }

  function describe(team) {
    if (team.open && team.accepting) {
      var open = team.closes_at
        ? t("resident.script.open_until", { time: timeOnly.format(new Date(team.closes_at)) })
        : t("resident.script.open_now");
      var queue = team.queue_length > 0
        ? t("resident.script.queue_count_wait", { count: team.queue_length, wait: waitText(team.estimated_wait_s) })
        : t("resident.script.queue_count", { count: team.queue_length });
      return { state: "open", text: open + ". " + queue + "." };
    }
    if (team.open) {
      return { state: "busy", text: t("resident.script.busy") };
    }
    if (team.opens_at) {
      return { state: "closed", text: t("resident.script.closed_until", { when: whenText(new Date(team.opens_at)) }) };
    }
    return { state: "closed", text: t("resident.script.closed") };
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
    if (updated) updated.textContent = t("resident.script.updated", { time: timeOnly.format(new Date()) });
  }

  function refresh() {
    fetch("/api/public/teams", { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(render)
      .catch(function () {
        if (updated) updated.textContent = t("resident.script.update_failed");
      });
  }

  refresh();
  window.setInterval(refresh, REFRESH_MS);
})();
