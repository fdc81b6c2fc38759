// Rampart panel: price and equity charts, drawn with the vendored TradingView Lightweight
// Charts (lightweight-charts.standalone.production.js, Apache-2.0; LICENSE-lightweight-charts.txt).
//
// A <figure data-chart="price" data-src="..."> draws a symbol's candles, an arrow for each
// entry (below the candle) and exit (above it, green for a gain, red for a loss), and a dashed
// line at each open position's live stop-loss (red) and take-profit (green), as FreqUI draws
// trades on candles. A <figure data-chart="equity" data-src="..."> draws one line per account
// from the stored equity history. Both fetch their data from /panel/data/... (the pages run no
// inline script) and fetch again as the engine moves (rampart:tick), at most every REFRESH_MS.
// When drawn, a figure says what it drew in data-drawn, data-candles, data-markers and
// data-points (read by the browser tests; the figure's caption says it in words).
(function () {
  "use strict";
  var LWC = window.LightweightCharts;
  var REFRESH_MS = 10000;
  var COLORS = { up: "#0a6b2d", down: "#a4161a", entry: "#0b57d0", text: "#14171c", grid: "#e6e9ee" };
  var LINES = ["#0b57d0", "#a4161a", "#0a6b2d", "#8a4b00", "#5b2a86", "#00677f", "#4a5361"];
  if (!LWC) { return; }

  function seconds(ms) { return Math.floor(ms / 1000); }

  function options(box) {
    return {
      autoSize: true,
      layout: {
        background: { color: "#ffffff" },
        textColor: COLORS.text,
        fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        // The logo injects a <style> element, which the pages' policy refuses: the caption
        // credits TradingView instead.
        attributionLogo: false,
      },
      grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
      timeScale: { timeVisible: true, secondsVisible: false },
      localization: { locale: "en-GB" },
      height: box.clientHeight || 320,
    };
  }

  // The candle a time falls in (the last one opening at or before it), or null when the time is
  // before the candles the engine still holds.
  function candleAt(times, ms) {
    var lo = 0, hi = times.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (times[mid] <= ms) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found < 0 ? null : seconds(times[found]);
  }

  function markersOf(data) {
    var times = data.candles.map(function (c) { return c.time; });
    var markers = [];
    data.entries.forEach(function (e) {
      var t = candleAt(times, e.time);
      if (t !== null) {
        markers.push({ time: t, position: "belowBar", color: COLORS.entry, shape: "arrowUp", text: "in" });
      }
    });
    data.exits.forEach(function (x) {
      var t = candleAt(times, x.time);
      if (t !== null) {
        var gain = Number(x.pnl) >= 0;
        markers.push({
          time: t, position: "aboveBar", color: gain ? COLORS.up : COLORS.down,
          shape: "arrowDown", text: x.cause || "out",
        });
      }
    });
    markers.sort(function (a, b) { return a.time - b.time; });
    return markers;
  }

  function drawPrice(figure, box, data, state) {
    if (!state.chart) {
      state.chart = LWC.createChart(box, options(box));
      state.series = state.chart.addSeries(LWC.CandlestickSeries, {
        upColor: COLORS.up, downColor: COLORS.down, borderVisible: false,
        wickUpColor: COLORS.up, wickDownColor: COLORS.down,
      });
      state.markers = LWC.createSeriesMarkers(state.series, []);
      state.lines = [];
      state.levels = [];
      // Keep the stop-loss and take-profit lines in view, not only the candles.
      state.series.applyOptions({
        autoscaleInfoProvider: function (original) {
          var found = original();
          if (found && found.priceRange && state.levels.length) {
            found.priceRange.minValue = Math.min.apply(null, [found.priceRange.minValue].concat(state.levels));
            found.priceRange.maxValue = Math.max.apply(null, [found.priceRange.maxValue].concat(state.levels));
          }
          return found;
        },
      });
    }
    state.levels = data.levels.map(function (level) { return Number(level.price); });
    state.series.setData(data.candles.map(function (c) {
      return { time: seconds(c.time), open: c.open, high: c.high, low: c.low, close: c.close };
    }));
    var markers = markersOf(data);
    state.markers.setMarkers(markers);
    state.lines.forEach(function (line) { state.series.removePriceLine(line); });
    state.lines = data.levels.map(function (level) {
      var stop = level.kind === "stop-loss";
      return state.series.createPriceLine({
        price: Number(level.price), color: stop ? COLORS.down : COLORS.up, lineWidth: 2,
        lineStyle: LWC.LineStyle.Dashed, axisLabelVisible: true,
        title: (stop ? "SL " : "TP ") + (data.accounts.length > 1 ? level.account : ""),
      });
    });
    figure.dataset.candles = String(data.candles.length);
    figure.dataset.markers = String(markers.length);
  }

  function drawEquity(figure, box, data, state) {
    if (!state.chart) {
      state.chart = LWC.createChart(box, options(box));
      state.series = {};
    }
    var points = 0;
    data.series.forEach(function (s, i) {
      var line = state.series[s.account_id];
      if (!line) {
        line = state.series[s.account_id] = state.chart.addSeries(LWC.LineSeries, {
          color: LINES[i % LINES.length], lineWidth: 2, title: s.account_id,
        });
      }
      // One point per second at most: the store may hold several snapshots in one second.
      var seen = {};
      var rows = [];
      s.points.forEach(function (p) {
        var t = seconds(p.ts);
        if (seen[t] !== undefined) { rows[seen[t]] = { time: t, value: Number(p.equity) }; return; }
        seen[t] = rows.length;
        rows.push({ time: t, value: Number(p.equity) });
      });
      line.setData(rows);
      points += s.points.length;
    });
    if (!state.fitted) { state.chart.timeScale().fitContent(); state.fitted = true; }
    figure.dataset.points = String(points);
  }

  function load(figure) {
    var box = figure.querySelector("[data-chart-canvas]");
    var draw = figure.dataset.chart === "price" ? drawPrice : drawEquity;
    var state = {};
    var last = 0;
    var busy = false;

    function fetchAndDraw() {
      if (busy) { return; }
      busy = true;
      last = Date.now();
      fetch(figure.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error(String(r.status))); })
        .then(function (data) {
          draw(figure, box, data, state);
          figure.dataset.drawn = "yes";
          box.removeAttribute("aria-busy");
        })
        .catch(function () {
          if (!state.chart) {
            figure.dataset.drawn = "failed";
            box.setAttribute("aria-busy", "false");
            var note = figure.querySelector("[data-chart-problem]");
            if (note) { note.hidden = false; }
          }
        })
        .then(function () { busy = false; });
    }

    fetchAndDraw();
    document.body.addEventListener("rampart:tick", function () {
      if (Date.now() - last >= REFRESH_MS) { fetchAndDraw(); }
    });
  }

  document.querySelectorAll("figure[data-chart][data-src]").forEach(load);
})();
