"""What the replayed agent plots: its lines read at each point of the equity curve,
written to ``indicators.csv`` and drawn to ``chart.png`` beside the equity chart."""

from __future__ import annotations

import csv
from contextlib import suppress
from pathlib import Path

import structlog

from rampart.extras import MissingExtra
from rampart.reports.indicator_chart import Mark, Row, draw_indicators, write_indicators_csv
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
            if plots.every_candle:
                values = plots.last.get(self._symbol)
                if values is None:  # no candle recorded yet (the guard held the first)
                    values = plots.recorded(self._symbol)
            else:
                values = plots.taken(self._symbol, ts)
            self.rows.append((ts, close, values))

    def finish(
        self, out_dir: Path, title: str, chart: bool, trades_csv: Path | None = None
    ) -> None:
        """Write the CSV and, with ``chart``, the picture with the trades of ``trades_csv``
        marked on the price; an older run's are never left."""
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
            marks = trade_marks(trades_csv) if trades_csv is not None else []
            draw_indicators(self.rows, self.lines, png_path, title, marks)
        except (MissingExtra, OSError) as exc:  # the picture only: the run and its CSV stand
            with suppress(OSError):
                png_path.unlink(missing_ok=True)
            structlog.get_logger("rampart.reports").warning(
                "indicator_chart_skipped", path=str(png_path), reason=str(exc)
            )


def trade_marks(trades_csv: Path) -> list[Mark]:
    """Each closed trade's entry and exit, read back from the replay's ``trades.csv`` (the
    trades are never held in memory while the replay runs)."""
    marks: list[Mark] = []
    with trades_csv.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            marks.append((int(row["opened_at"]), float(row["entry_price"]), True))
            marks.append((int(row["closed_at"]), float(row["exit_price"]), False))
    return marks
