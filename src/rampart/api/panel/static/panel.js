// Rampart panel: live figures over server-sent events (no framework; htmx refreshes tables).
// Every element with data-live="<figure>" takes that figure's text from each event; the
// #live-state badge says "live" or "reconnecting", and EventSource reconnects by itself.
(function () {
  "use strict";
  var state = document.getElementById("live-state");
  if (!state || !window.EventSource) { return; }
  var points = [];
  var MAX_POINTS = 120;

  function setState(text) {
    state.textContent = text;
    state.setAttribute("data-state", text);
    document.body.classList.toggle("offline", text !== "live");
  }

  function chart(value) {
    var svg = document.getElementById("equity-chart");
    var n = Number(value);
    if (!svg || !isFinite(n)) { return; }
    points.push(n);
    if (points.length > MAX_POINTS) { points.shift(); }
    var lo = Math.min.apply(null, points), hi = Math.max.apply(null, points);
    var span = hi - lo || 1;
    var step = points.length > 1 ? 300 / (points.length - 1) : 0;
    var coords = points.map(function (p, i) {
      return (i * step).toFixed(1) + "," + (58 - ((p - lo) / span) * 56).toFixed(1);
    });
    svg.querySelector("polyline").setAttribute("points", coords.join(" "));
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
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var name = el.getAttribute("data-live");
      if (Object.prototype.hasOwnProperty.call(figures, name) && el.textContent !== figures[name]) {
        el.textContent = figures[name];
      }
    });
    if (figures["equity-total"] !== undefined) { chart(figures["equity-total"]); }
    document.body.dispatchEvent(new CustomEvent("rampart:tick"));
  });
})();
