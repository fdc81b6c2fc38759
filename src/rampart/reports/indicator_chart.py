"""The replay's indicator chart: the close with the lines an agent plots over it and each
trade's entry (a green triangle up) and exit (a red triangle down) on it, a pane under it for
each other pane the agent names, and a time axis in UTC under the last pane; drawn with Pillow
like the equity chart."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rampart.extras import require
from rampart.reports.equity_chart import (
    COLUMNS,
    GRID,
    INK,
    TIME_STEPS_MS,
    _font,
    _round_step,
    _ticks,
)

Row = tuple[int, float, tuple[float | None, ...]]
"""(time in UTC ms, the close, each plotted line's value or None)."""
Mark = tuple[int, float, bool]
"""A trade's entry or exit on the price pane: (time in UTC ms, price, True for an entry)."""
ENTRY, EXIT = (22, 163, 74), (220, 38, 38)
"""Colours no plotted line takes (COLORS): a mark is never read as a point of a line."""
AXIS = 44
"""Room under the last pane for the time axis' labels and its name."""
PRICE_PANE = "price"
WIDTH, LEFT, RIGHT = COLUMNS, 90, 975
PRICE_HEIGHT, PANE_HEIGHT, TITLE = 300, 120, 36
CLOSE = (140, 147, 156)
COLORS = ((11, 87, 208), (164, 22, 26), (10, 107, 45), (138, 75, 0), (91, 42, 134), (0, 103, 127))
"""Each line's colour, in the order declared (the panel's palette)."""


def write_indicators_csv(rows: Sequence[Row], names: Sequence[str], path: Path) -> None:
    """``ts,close,<name>...``: an empty cell while a line has no value (warming up)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(("ts", "close", *names))
        # The csv writer writes None as an empty cell and a float as its repr(): the cells as
        # written out by hand, without a comprehension per row.
        for ts, close, values in rows:
            out.writerow((ts, close, *values))


def draw_indicators(
    rows: Sequence[Row],
    lines: Sequence[tuple[str, str]],
    path: Path,
    title: str,
    marks: Sequence[Mark] = (),
) -> None:
    """Draw ``rows`` to ``path``; ``lines`` are (name, pane) in the rows' value order, ``marks``
    the trades' entries and exits. Raises ``MissingExtra`` without Pillow."""
    image_module = require("reports", "PIL.Image")
    draw_module = require("reports", "PIL.ImageDraw")
    font_module = require("reports", "PIL.ImageFont")
    panes = [PRICE_PANE, *sorted({p for _, p in lines if p != PRICE_PANE})]
    height = TITLE + PRICE_HEIGHT + PANE_HEIGHT * (len(panes) - 1) + AXIS
    image = image_module.new("RGB", (WIDTH, height), "white")
    draw = draw_module.Draw(image)
    font = _font(font_module, 12)
    draw.text(((LEFT + RIGHT) / 2, TITLE / 2), title, fill=INK, anchor="mm",
              font=_font(font_module, 15))  # fmt: skip
    if not rows:
        image.save(path, format="PNG", compress_level=1)
        return
    t0, t1 = rows[0][0], rows[-1][0]
    t1 = t1 if t1 > t0 else t0 + 60_000

    def x_of(ts: float) -> float:
        return LEFT + (ts - t0) * (RIGHT - LEFT) / (t1 - t0)

    top = TITLE
    for pane in panes:
        bottom = top + (PRICE_HEIGHT if pane == PRICE_PANE else PANE_HEIGHT) - 10
        series: list[Series] = []
        if pane == PRICE_PANE:
            series.append(("close", CLOSE, [(ts, close) for ts, close, _ in rows]))
        for i, (name, where) in enumerate(lines):
            if where == pane:
                points = [(ts, value) for ts, _, v in rows if (value := v[i]) is not None]
                series.append((name, COLORS[i % len(COLORS)], points))
        y_of = _pane(draw, font, series, x_of, top, bottom, pane)
        if pane == PRICE_PANE:
            _marks(draw, marks, x_of, y_of, t0, t1)
        top = bottom + 10
    _time_axis(draw, font, x_of, t0, t1, top - 10, height)
    image.save(path, format="PNG", compress_level=1)


def _marks(
    d: Any,
    marks: Sequence[Mark],
    x_of: Callable[[float], float],
    y_of: Callable[[float], float],
    t0: int,
    t1: int,
) -> None:
    """Each entry as a green triangle pointing up under its price, each exit as a red one
    pointing down above it (only those inside the drawn span)."""
    for ts, price, entry in marks:
        if not t0 <= ts <= t1:
            continue
        x, y = x_of(ts), y_of(price)
        if entry:
            d.polygon([(x, y + 2), (x - 5, y + 10), (x + 5, y + 10)], fill=ENTRY)
        else:
            d.polygon([(x, y - 2), (x - 5, y - 10), (x + 5, y - 10)], fill=EXIT)


def _time_axis(
    d: Any, font: Any, x_of: Callable[[float], float], t0: int, t1: int, bottom: int, height: int
) -> None:
    """Dates (or times) under the last pane at a round step, and the axis' name."""
    every = next((s for s in TIME_STEPS_MS if (t1 - t0) / s <= 7), TIME_STEPS_MS[-1])
    shape = "%Y-%m-%d" if every >= 86_400_000 else "%m-%d %H:%M"
    for tick in range(-(-t0 // every) * every, t1 + 1, every):
        when = datetime.fromtimestamp(tick / 1000, tz=UTC).strftime(shape)
        d.text((x_of(tick), bottom + 6), when, fill=INK, anchor="mt", font=font)
    d.text(((LEFT + RIGHT) / 2, height - 6), "time (UTC)", fill=INK, anchor="mb", font=font)


Series = tuple[str, tuple[int, int, int], list[tuple[int, float]]]
"""A line of a pane: its name, colour and (time, value) points."""


def _pane(
    d: Any,
    font: Any,
    series: Sequence[Series],
    x_of: Callable[[float], float],
    top: int,
    bottom: int,
    pane: str,
) -> Callable[[float], float]:
    """Draw one pane; returns how it places a value (for the marks drawn over it)."""
    values = [v for _, _, points in series for _, v in points]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high == low:
        pad = abs(high) * 0.01 or 1.0
        low, high = low - pad, high + pad

    def y_of(value: float) -> float:
        return bottom - (value - low) * (bottom - top) / (high - low)

    step = _round_step((high - low) / 4)
    places = max(0, -math.floor(math.log10(step)))
    for tick in _ticks(low, high, step):
        y = y_of(tick)
        d.line([(LEFT, y), (RIGHT, y)], fill=GRID)
        d.text((LEFT - 6, y), f"{tick:,.{places}f}", fill=INK, anchor="rm", font=font)
    legend = LEFT + 6
    for name, color, points in series:
        line = [(x_of(ts), y_of(v)) for ts, v in points]
        if len(line) > 1:
            d.line(line, fill=color, width=2 if name != "close" else 1)
        d.text((legend, top + 4), name, fill=color, anchor="lt", font=font)
        legend += 12 + 7 * len(name)
    if pane != PRICE_PANE:
        d.text((RIGHT - 6, top + 4), pane, fill=INK, anchor="rt", font=font)
    d.rectangle([(LEFT, top), (RIGHT, bottom)], outline=INK)
    return y_of
