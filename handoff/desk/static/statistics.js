// The printable monthly report: where scripts run, its "Tulosta raportti" button opens the print dialog.
"use strict";

document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
