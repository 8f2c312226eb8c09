/*
 * The desk's per-tab storage ends with the desk session: logging out (or arriving at the login
 * page, e.g. after the session expired) removes every draft and unread count desk.js kept in
 * sessionStorage, so the next person at the same browser tab finds none of them.
 */
(function () {
  "use strict";

  var PREFIX = "opastin-desk-";

  function forget() {
    var store;
    try {
      store = window.sessionStorage;
    } catch (error) {
      return;
    }
    for (var i = store.length - 1; i >= 0; i -= 1) {
      var key = store.key(i);
      if (key && key.indexOf(PREFIX) === 0) store.removeItem(key);
    }
  }

  if (document.querySelector('form[action="/desk/login"]')) forget(); // the login page
  var logout = document.querySelector("[data-logout]");
  if (logout) logout.addEventListener("submit", forget);
})();
