"""What the replayed agent plots: its lines read at each point of the equity curve,
written to ``indicators.csv`` and drawn to ``chart.png`` beside the equity chart."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import structlog

from rampart.extras import MissingExtra
from rampart.reports.indicator_chart import Row, draw_indicators, write_indicators_csv
from rampart.trading.engine import Engine


class PlotTaker:
    """The agent's lines at the curve's points. With fewer candles than points the engine
    reads them on every candle; with more, only on the candles the replay asks it to
    (``AgentPlots.ask`` before such a candle, :meth:`take` after it)."""

    def __init__(self, engine: Engine, symbol: str) -> None:
        self._plots, self._symbol = engine.plots, symbol
        self.lines = [(line.label, line.pane) for _, line, _ in engine.plots.latest(symbol)]
        self.rows: list[Row] = []

    def take(self, ts: int, close: float) -> None:
        if self.lines:  # the values the engine took after this candle, not read again
            plots = self._plots
            values = (
                plots.recorded(self._symbol)
                if plots.every_candle
                else plots.taken(self._symbol, ts)
            )
            self.rows.append((ts, close, values))

    def finish(self, out_dir: Path, title: str, chart: bool) -> None:
        """Write the CSV and, with ``chart``, the picture; an older run's are never left."""
        csv_path, png_path = out_dir / "indicators.csv", out_dir / "chart.png"
        if not self.lines:
            csv_path.unlink(missing_ok=True)
            png_path.unlink(missing_ok=True)
            return
        write_indicators_csv(self.rows, [name for name, _ in self.lines], csv_path)
        if not chart:
            png_path.unlink(missing_ok=True)
            return
        try:
            draw_indicators(self.rows, self.lines, png_path, title)
        except (MissingExtra, OSError) as exc:  # the picture only: the run and its CSV stand
            with suppress(OSError):
                png_path.unlink(missing_ok=True)
            structlog.get_logger("rampart.reports").warning(
                "indicator_chart_skipped", path=str(png_path), reason=str(exc)
            )
