"""The replay's equity chart, and reading its points back from ``equity.csv``.

Only the standard library and ``rampart.extras`` at import: the chart process
(``rampart.reports.chart_process``) imports this and matplotlib, nothing more.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from rampart.extras import require


def draw_equity(points: Sequence[tuple[int, float]], path: Path, title: str) -> None:
    """Draw the equity curve to ``path``; raises ``MissingExtra`` without matplotlib."""
    from datetime import UTC, datetime

    figure = require("reports", "matplotlib.figure").Figure
    # A Figure without pyplot: no global state, no GUI backend to pick.
    fig = figure(figsize=(10, 4), dpi=100)
    ax = fig.subplots()
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
