/*
 * Opastin's message catalogue in the page scripts (shared by the resident page and the desk).
 *
 * The page's template puts the messages its script needs on <body data-messages="{...}">
 * (from data/messages/<language>.yml, as JSON). window.opastinText(key, values) returns
 * one, with its {name} placeholders filled from values, the same rule as in Python.
 */
(function () {
  "use strict";

  var messages = {};
  try {
    messages = JSON.parse(document.body.getAttribute("data-messages") || "{}");
  } catch (error) {
    messages = {};
  }

  window.opastinText = function (key, values) {
    var template = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
    return template.replace(/\{(\w+)\}/g, function (placeholder, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : placeholder;
    });
  };
})();
