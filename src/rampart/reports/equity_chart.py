"""The replay's equity chart, and reading its points back from ``equity.csv``.

Only the standard library and ``rampart.extras`` at import: the chart process
(``rampart.reports.chart_process``) imports this and matplotlib, nothing more.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from rampart.extras import require

COLUMNS = 1_000
"""The chart's width in pixels (10 inches at 100 dpi): no more columns of points can show."""


def envelope(
    points: Sequence[tuple[int, float]], columns: int = COLUMNS
) -> Sequence[tuple[int, float]]:
    """What a ``columns``-pixel-wide line of ``points`` shows: per column of consecutive
    points, its first, lowest, highest and last, in their order. A curve of up to four
    points per column is returned as it is. Drawing 20,000 points of a 5-minute file's curve
    cost ~0.8 s of the chart process each (rasterising and converting every timestamp); the
    envelope draws the same line, every peak and trough kept, at a fifth of the points."""
    n = len(points)
    if n <= 4 * columns:
        return points
    kept: list[tuple[int, float]] = []
    for column in range(columns):
        lo, hi = n * column // columns, n * (column + 1) // columns
        values = [v for _, v in points[lo:hi]]
        low = lo + values.index(min(values))
        high = lo + values.index(max(values))
        for i in sorted({lo, low, high, hi - 1}):
            kept.append(points[i])
    return kept


def draw_equity(points: Sequence[tuple[int, float]], path: Path, title: str) -> None:
    """Draw the equity curve to ``path``; raises ``MissingExtra`` without matplotlib."""
    from datetime import UTC, datetime

    figure = require("reports", "matplotlib.figure").Figure
    # A Figure without pyplot: no global state, no GUI backend to pick.
    fig = figure(figsize=(10, 4), dpi=100)
    ax = fig.subplots()
    points = envelope(points)
    if points:
        xs = [datetime.fromtimestamp(ts / 1000, tz=UTC) for ts, _ in points]
        ax.plot(xs, [v for _, v in points], linewidth=1.0, color="#1f6feb")
    ax.set_title(title)
    ax.set_ylabel("equity")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    # Fixed margins, not tight_layout: measuring every label's extent was a third of the draw
    # (~0.04 s), which the replay waits for. These fit the labels matplotlib makes here:
    # long axes switch to an offset ("1e6"), and dates are rotated into the bottom margin.
    fig.subplots_adjust(left=0.09, right=0.98, top=0.92, bottom=0.2)
    fig.savefig(path)


def read_equity_csv(path: Path) -> list[tuple[int, float]]:
    """The points ``write_equity_csv`` wrote, exactly (a float's text is its shortest repr)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        next(rows, None)  # the header
        return [(int(ts), float(equity)) for ts, equity in rows]
