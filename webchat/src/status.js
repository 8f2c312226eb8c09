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

  var weekdayTime = new Intl.DateTimeFormat("fi-FI", {
    weekday: "long", hour: "2-digit", minute: "2-digit", timeZone: "Europe/Helsinki",
  });
  var timeOnly = new Intl.DateTimeFormat("fi-FI", {
    hour: "2-digit", minute: "2-digit", timeZone: "Europe/Helsinki",
  });

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
      return { state: "busy", text: "Auki, mutta kaikki ammattilaiset ovat juuri nyt varattuja." };
    }
    if (team.opens_at) {
      return { state: "closed", text: "Suljettu. Avautuu " + weekdayTime.format(new Date(team.opens_at)) + "." };
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
