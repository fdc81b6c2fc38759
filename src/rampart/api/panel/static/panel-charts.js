// Rampart panel: price and equity charts, drawn with the vendored TradingView Lightweight
// Charts (lightweight-charts.standalone.production.js, Apache-2.0; LICENSE-lightweight-charts.txt).
//
// A <figure data-chart="price" data-src="..."> draws a symbol's candles, an arrow for each
// entry (below the candle) and exit (above it, green for a gain, red for a loss), and a dashed
// line at each open position's live stop-loss (red) and take-profit (green), as FreqUI draws
// trades on candles. A <figure data-chart="equity" data-src="..."> draws one line per account
// from the stored equity history. Both fetch their data from /panel/data/... (the pages run no
// inline script) and fetch again as the engine moves (rampart:tick), at most every REFRESH_MS.
// A price figure also draws the indicators its symbol's agents plot (over the candles, or in
// panes of their own). When drawn, a figure says what it drew in data-drawn, data-candles,
// data-markers, data-lines, data-indicators and data-points, and in data-axis how its price axis prints the last value (read by the
// browser tests; the figure's caption says it in words).
//
// A figure with data-levels draws the stop-loss and take-profit lines it names (read with the
// rest of its page: the caption and the tables say the same), not the ones in its data. When
// htmx swaps the page's live block in again, the chart's box is kept (hx-preserve) and its
// lines are redrawn from the new figure. Axes print prices and money as every front does
// (thousands separated, the decimals rampart.domain.money_format picks, sent as "places"),
// and pointing at an entry or exit shows that trade in words (its "label", made by the server
// with the same formatter).
(function () {
  "use strict";
  var LWC = window.LightweightCharts;
  var REFRESH_MS = 10000;
  var COLORS = { up: "#0a6b2d", down: "#a4161a", entry: "#0b57d0", text: "#14171c", grid: "#e6e9ee" };
  var LINES = ["#0b57d0", "#a4161a", "#0a6b2d", "#8a4b00", "#5b2a86", "#00677f", "#4a5361"];
  if (!LWC) { return; }

  function seconds(ms) { return Math.floor(ms / 1000); }

  function formatter(places) {
    var opts = { minimumFractionDigits: places, maximumFractionDigits: places, useGrouping: true };
    return function (value) {
      var text = Number(value).toLocaleString("en-US", opts);
      return text === "-0" || /^-0\.0*$/.test(text) ? text.slice(1) : text;
    };
  }

  function options(box, places) {
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
      localization: { locale: "en-GB", priceFormatter: formatter(places) },
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

  function markersOf(data, tips) {
    var times = data.candles.map(function (c) { return c.time; });
    var markers = [];
    function tip(t, label) {
      if (label) { (tips[t] = tips[t] || []).push(label); }
    }
    data.entries.forEach(function (e) {
      var t = candleAt(times, e.time);
      if (t !== null) {
        markers.push({ time: t, position: "belowBar", color: COLORS.entry, shape: "arrowUp", text: "in" });
        tip(t, e.label);
      }
    });
    data.exits.forEach(function (x) {
      var t = candleAt(times, x.time);
      if (t !== null) {
        tip(t, x.label);
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

  // The trades at the candle under the pointer, in words, in a box over the chart.
  function tooltips(box, state) {
    var tip = document.createElement("div");
    tip.className = "chart-tip";
    tip.hidden = true;
    box.appendChild(tip);
    state.chart.subscribeCrosshairMove(function (param) {
      var found = param && param.time !== undefined && param.point ? state.tips[param.time] : null;
      if (!found) { tip.hidden = true; return; }
      tip.textContent = "";
      found.forEach(function (line) {
        var row = document.createElement("div");
        row.textContent = line;
        tip.appendChild(row);
      });
      tip.hidden = false;
      var x = Math.min(param.point.x + 12, box.clientWidth - tip.offsetWidth - 4);
      tip.style.left = Math.max(4, x) + "px";
      tip.style.top = "8px";
    });
  }

  // The stop-loss and take-profit lines: the figure's own (read with its page) when it has
  // them, else those in the chart's data.
  function levelsOf(figure, data) {
    var own = figure.getAttribute("data-levels");
    if (own === null) { return data.levels; }
    try { return JSON.parse(own); } catch (e) { return []; }
  }

  function guard(protection) {
    if (protection === "monitor") { return "(monitor) "; }
    if (protection === "unprotected") { return "UNPROTECTED "; }
    return "";
  }

  function drawLevels(figure, data, state) {
    var levels = levelsOf(figure, data);
    state.levels = levels.map(function (level) { return Number(level.price); });
    state.lines.forEach(function (line) { state.series.removePriceLine(line); });
    state.lines = levels.map(function (level) {
      var stop = level.kind === "stop-loss";
      return state.series.createPriceLine({
        price: Number(level.price), color: stop ? COLORS.down : COLORS.up, lineWidth: 2,
        lineStyle: LWC.LineStyle.Dashed, axisLabelVisible: true,
        // A stop that rests nowhere on the exchange says so on its line: held by Rampart's
        // monitor, or UNPROTECTED.
        title: (stop ? "SL " + guard(level.protection) : "TP ") +
          (data.accounts.length > 1 ? level.account : ""),
      });
    });
    figure.dataset.lines = levels.map(function (l) { return l.kind + " " + l.price; }).sort().join("; ");
  }

  function drawPrice(figure, box, data, state) {
    if (!state.chart) {
      state.chart = LWC.createChart(box, options(box, data.places));
      state.tips = {};
      tooltips(box, state);
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
    state.series.setData(data.candles.map(function (c) {
      return { time: seconds(c.time), open: c.open, high: c.high, low: c.low, close: c.close };
    }));
    state.tips = {};
    var markers = markersOf(data, state.tips);
    state.markers.setMarkers(markers);
    drawLevels(figure, data, state);
    drawIndicators(figure, data, state);
    if (data.candles.length) {
      figure.dataset.axis = formatter(data.places)(data.candles[data.candles.length - 1].close);
    }
    figure.dataset.candles = String(data.candles.length);
    figure.dataset.markers = String(markers.length);
  }

  // The indicators the symbol's agents plot (their `plot`): a line over the candles for the
  // "price" pane, a pane of its own under them for any other, lines of one pane together.
  function drawIndicators(figure, data, state) {
    var found = data.indicators || [];
    (state.indicators || []).forEach(function (line) { state.chart.removeSeries(line); });
    var panes = ["price"];
    state.indicators = found.map(function (ind, i) {
      if (panes.indexOf(ind.pane) < 0) { panes.push(ind.pane); }
      var line = state.chart.addSeries(LWC.LineSeries, {
        color: LINES[i % LINES.length], lineWidth: 1, title: ind.name,
        priceLineVisible: false, lastValueVisible: false,
      }, panes.indexOf(ind.pane));
      line.setData(ind.points.map(function (p) { return { time: seconds(p.time), value: p.value }; }));
      return line;
    });
    figure.dataset.indicators = found.map(function (ind) { return ind.pane + ":" + ind.name; }).join("; ");
  }

  function drawEquity(figure, box, data, state) {
    var places = data.series.length ? data.series[0].places : 2;
    if (!state.chart) {
      state.chart = LWC.createChart(box, options(box, places));
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
    var last = data.series.length ? data.series[0].points : [];
    if (last.length) { figure.dataset.axis = formatter(places)(last[last.length - 1].equity); }
  }

  // A figure's chart lives on its box (kept across htmx swaps): a figure swapped in around a
  // box that is drawn already takes its marks, and redraws its lines from its own data-levels.
  var DRAWN_MARKS = ["drawn", "candles", "markers", "points", "axis", "indicators"];

  function load(figure) {
    var box = figure.querySelector("[data-chart-canvas]");
    if (!box) { return; }
    var state = box.__rampart;
    if (state) {
      if (state.figure !== figure) {
        var old = state.figure;
        state.figure = figure;
        DRAWN_MARKS.forEach(function (k) { if (old.dataset[k] !== undefined) { figure.dataset[k] = old.dataset[k]; } });
        if (state.series && state.data && figure.dataset.chart === "price") { drawLevels(figure, state.data, state); }
      }
      return;
    }
    state = box.__rampart = { figure: figure };
    var draw = figure.dataset.chart === "price" ? drawPrice : drawEquity;
    var last = 0;
    var busy = false;

    function fetchAndDraw() {
      if (busy) { return; }
      busy = true;
      last = Date.now();
      fetch(state.figure.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error(String(r.status))); })
        .then(function (data) {
          state.data = data;
          draw(state.figure, box, data, state);
          state.figure.dataset.drawn = "yes";
          box.removeAttribute("aria-busy");
        })
        .catch(function () {
          if (!state.chart) {
            state.figure.dataset.drawn = "failed";
            box.setAttribute("aria-busy", "false");
            var note = state.figure.querySelector("[data-chart-problem]");
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

  function loadAll() { document.querySelectorAll("figure[data-chart][data-src]").forEach(load); }
  loadAll();
  document.body.addEventListener("htmx:afterSettle", loadAll);
})();
