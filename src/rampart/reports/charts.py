"""The report's PNG charts (matplotlib, Agg backend): equity, PnL by strategy, order outcomes.

Each chart is rendered to bytes, so the same image is stored with the report, written next to
its Markdown and sent to the operator chat. Figures are built without pyplot (no global state),
and every chart is drawn on one thread of its own (``_drawer``) while the event loop trades.

matplotlib comes with the ``reports`` extra and is imported only when a chart is drawn:
without it ``render_charts`` raises ``MissingExtra`` and the report goes out without charts.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from rampart.extras import MissingExtra, require
from rampart.reports.figures import Figures, StrategyLine
from rampart.reports.period import DAY_MS

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
T = TypeVar("T")


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
    """Import matplotlib and draw a report's charts once on the drawing thread, when the
    ``reports`` extra is installed (whether it was). A service calls it as it starts: the
    library, its fonts and what a first drawing of each kind of chart keeps (~50 MB of resident
    memory; ~3 MB of it the dates' axes, the bars and the glyphs a real report draws) are then
    the process's from its start, not a step at the first daily report (00:05), which the
    ``MemoryGrowth`` rule (over 5 % in an hour) would page as growth after every restart."""
    return _on_drawer(_draw_warm_up)


WARM_UP_FIGURES = Figures(
    start=0,
    end=DAY_MS,
    account=None,
    quotes={"acct-1": "USDT"},
    strategies=[
        StrategyLine("trend", trades=3, wins=2, pnl=Decimal("12.5"), quote="USDT"),
        StrategyLine("mean-revert", trades=2, wins=0, pnl=Decimal("-4.25"), quote="USDT"),
    ],
    orders_by_status={"filled": 9, "canceled": 3, "rejected": 1},
    equity_curve=[(i * DAY_MS // 24, 10_000.0 + 7.5 * i) for i in range(25)],
)
"""A day as a report draws it: an equity curve on a dates' axis, bars of both signs."""


def _draw_warm_up() -> bool:
    try:
        require("reports", "matplotlib.figure")
    except MissingExtra:
        return False
    _charts(WARM_UP_FIGURES, "2024-01-01", operator=True)
    return True


def warm_up_aside() -> Future[bool]:
    """:func:`warm_up` without waiting for it, so the service's start (its first calls to the
    exchange) does not wait the seconds the import takes."""
    return _drawer().submit(_draw_warm_up)


@functools.cache
def _drawer() -> ThreadPoolExecutor:
    """The one thread every chart is drawn on. matplotlib keeps its fonts a thread (a font
    object is not safe to share), and a thread's drawing leaves its buffers in that thread's C
    heap arena: drawn on whichever worker thread a report ran on, each new one would load the
    fonts again and grow an arena of its own. One thread also keeps two reports made at once
    (the scheduler's and an operator's) from drawing on the same library state together."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-charts")


# A forked child has none of its parent's threads: it starts its own drawer when it draws.
os.register_at_fork(after_in_child=_drawer.cache_clear)


def _on_drawer(draw: Callable[[], T]) -> T:
    return _drawer().submit(draw).result()


def render_charts(figures: Figures, label: str, *, operator: bool = True) -> dict[str, bytes]:
    """File name → PNG bytes, drawn on the drawing thread; an investor's summary has no
    order-outcome chart.

    Raises ``MissingExtra`` when matplotlib (the ``reports`` extra) is not installed.
    """
    require("reports", "matplotlib.figure")
    return _on_drawer(lambda: _charts(figures, label, operator=operator))


def _charts(figures: Figures, label: str, *, operator: bool) -> dict[str, bytes]:
    charts = {
        EQUITY: equity_chart(figures, f"Equity, {label}"),
        PNL_BY_STRATEGY: pnl_by_strategy_chart(figures, f"PnL by strategy, {label}"),
    }
    if operator:
        charts[ORDER_OUTCOMES] = order_outcomes_chart(figures, f"Order outcomes, {label}")
    return charts
