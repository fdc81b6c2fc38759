// Rampart panel: live figures over server-sent events (no framework; htmx refreshes tables).
// Every element with data-live="<figure>" takes that figure's text from each event; the
// #live-state badge says "live" or "reconnecting", and EventSource reconnects by itself.
// Each event also fires rampart:tick, on which tables (htmx) and charts (panel-charts.js) refresh.
(function () {
  "use strict";
  // On a phone the tables become cards (panel.css): each cell is named by its column's header,
  // copied here into data-label where the template has not set one.
  function label(root) {
    root.querySelectorAll(".scroll > table").forEach(function (table) {
      var heads = Array.from(table.querySelectorAll("thead th")).map(function (th) {
        return th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        Array.from(tr.children).forEach(function (cell, i) {
          if (!cell.hasAttribute("data-label") && heads[i]) { cell.setAttribute("data-label", heads[i]); }
        });
      });
    });
  }
  label(document);
  document.body.addEventListener("htmx:afterSettle", function () { label(document); });

  var state = document.getElementById("live-state");
  if (!state || !window.EventSource) { return; }
  function setState(text) {
    state.textContent = text;
    state.setAttribute("data-state", text);
    document.body.classList.toggle("offline", text !== "live");
  }

  var source = new EventSource("/panel/live");
  source.addEventListener("open", function () { setState("live"); });
  source.addEventListener("error", function () {
    setState("reconnecting");
    if (source.readyState === EventSource.CLOSED) {
      // The server refused (signed out or expired): try again later; a page load signs in.
      setTimeout(function () { window.location.reload(); }, 5000);
    }
  });
  source.addEventListener("figures", function (e) {
    setState("live");
    var data = JSON.parse(e.data);
    var figures = data.figures || {};
    var shown = data.shown || {}; // money as people read it; figures stay exact (the chart's)
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var name = el.getAttribute("data-live");
      var has = Object.prototype.hasOwnProperty;
      var text = has.call(shown, name) ? shown[name] : figures[name];
      if (has.call(figures, name) && el.textContent !== text) {
        el.textContent = text;
      }
    });
    document.body.dispatchEvent(new CustomEvent("rampart:tick"));
  });
})();
