"""The report's PNG charts (matplotlib, Agg backend): equity, PnL by strategy, order outcomes.

Each chart is rendered to bytes, so the same image is stored with the report, written next to
its Markdown and sent to the operator chat. Figures are built without pyplot (no global state),
so the scheduler can render them in a worker thread while the event loop trades.

matplotlib comes with the ``reports`` extra and is imported only when a chart is drawn:
without it ``render_charts`` raises ``MissingExtra`` and the report goes out without charts.
"""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rampart.extras import MissingExtra, require
from rampart.reports.figures import Figures

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EQUITY = "equity.png"
PNL_BY_STRATEGY = "pnl_by_strategy.png"
ORDER_OUTCOMES = "order_outcomes.png"
TITLES = {
    EQUITY: "Equity",
    PNL_BY_STRATEGY: "PnL by strategy",
    ORDER_OUTCOMES: "Order outcomes",
}
GREEN = "#2da44e"
RED = "#cf222e"
BLUE = "#1f6feb"


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _figure() -> Figure:
    figure: type[Figure] = require("reports", "matplotlib.figure").Figure
    return figure(figsize=(8, 3.5), dpi=100)


def _empty(ax: object, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)  # type: ignore[attr-defined]


def equity_chart(figures: Figures, title: str) -> bytes:
    fig = _figure()
    ax = fig.subplots()
    if figures.equity_curve:
        xs = [datetime.fromtimestamp(ts / 1000, tz=UTC) for ts, _ in figures.equity_curve]
        ax.plot(xs, [v for _, v in figures.equity_curve], linewidth=1.2, color=BLUE)
        fig.autofmt_xdate()
    else:
        _empty(ax, "no equity snapshots")
    ax.set_title(title)
    ax.set_ylabel(f"equity ({figures.quote or 'summed across quote assets'})")
    ax.grid(alpha=0.3)
    return _png(fig)


def pnl_by_strategy_chart(figures: Figures, title: str) -> bytes:
    fig = _figure()
    ax = fig.subplots()
    lines = figures.strategies
    if lines:
        values = [float(s.pnl) for s in lines]
        several = figures.quote is None
        names = [f"{s.strategy} ({s.quote})" if several else s.strategy for s in lines]
        ax.bar(names, values, color=[GREEN if v > 0 else RED for v in values])
        ax.axhline(0, color="black", linewidth=0.8)
    else:
        _empty(ax, "no trades")
    ax.set_title(title)
    ax.set_ylabel(f"net PnL ({figures.quote or 'in its quote asset'})")
    ax.grid(alpha=0.3, axis="y")
    return _png(fig)


def order_outcomes_chart(figures: Figures, title: str) -> bytes:
    fig = _figure()
    ax = fig.subplots()
    statuses = figures.orders_by_status
    if statuses:
        colors = [RED if s in ("rejected", "unknown") else BLUE for s in statuses]
        ax.bar(list(statuses), list(statuses.values()), color=colors)
    else:
        _empty(ax, "no orders")
    ax.set_title(title)
    ax.set_ylabel("orders")
    ax.grid(alpha=0.3, axis="y")
    return _png(fig)


def warm_up() -> bool:
    """Import matplotlib and draw one small chart, when the ``reports`` extra is installed
    (whether it was). A service calls it as it starts: the library and its fonts (~50 MB of
    resident memory) are then the process's from its start, not a step of 20 % at the first
    daily report (00:05), which the ``MemoryGrowth`` rule (over 5 % in an hour) would page as
    growth after every restart."""
    try:
        fig = _figure()
    except MissingExtra:
        return False
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color=BLUE)
    ax.set_title(TITLES[EQUITY])
    _png(fig)
    return True


def warm_up_aside() -> threading.Thread:
    """:func:`warm_up` in a thread of its own, so the service's start (its first calls to the
    exchange) does not wait the seconds the import takes."""
    thread = threading.Thread(target=warm_up, name="charts-warm-up", daemon=True)
    thread.start()
    return thread


def render_charts(figures: Figures, label: str, *, operator: bool = True) -> dict[str, bytes]:
    """File name → PNG bytes; an investor's summary has no order-outcome chart.

    Raises ``MissingExtra`` when matplotlib (the ``reports`` extra) is not installed.
    """
    require("reports", "matplotlib.figure")
    charts = {
        EQUITY: equity_chart(figures, f"Equity, {label}"),
        PNL_BY_STRATEGY: pnl_by_strategy_chart(figures, f"PnL by strategy, {label}"),
    }
    if operator:
        charts[ORDER_OUTCOMES] = order_outcomes_chart(figures, f"Order outcomes, {label}")
    return charts
