"""The replay's equity chart, drawn with Pillow (loaded only when a chart is drawn)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import IO, Any

from rampart.extras import require

COLUMNS = 1_000
"""The chart's width in pixels (10 inches at 100 dpi): no more columns of points can show."""


def envelope(
    points: Sequence[tuple[int, float]], columns: int = COLUMNS
) -> Sequence[tuple[int, float]]:
    """What a ``columns``-pixel-wide line of ``points`` shows: per column of consecutive
    points, its first, lowest, highest and last, in their order. A curve of up to four
    points per column is returned as it is. Drawing 20,000 points of a 5-minute file's curve
    cost ~0.8 s each with matplotlib (rasterising and converting every timestamp); the
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


WIDTH, HEIGHT = COLUMNS, 400
"""The PNG's size in pixels (what matplotlib's 10 x 4 inches at 100 dpi made)."""
LEFT, RIGHT, TOP, BOTTOM = 90, 975, 36, 338
"""The plot's box: room on the left for the equity labels, below for the dates."""
LINE = (31, 111, 235)  # #1f6feb, the reports' blue
GRID = (222, 226, 230)
INK = (36, 41, 47)
TIME_STEPS_MS = tuple(
    minutes * 60_000
    for minutes in (1, 5, 15, 30, 60, 180, 360, 720, 1_440, 2_880, 10_080, 20_160, 43_200,
                    131_040, 262_080, 525_600)
)  # fmt: skip
"""Spacings the date ticks are chosen from (minutes to a year), aligned on UTC midnight."""


def draw_equity(points: Sequence[tuple[int, float]], path: Path | IO[bytes], title: str) -> None:
    """Draw the equity curve to ``path``; raises ``MissingExtra`` without Pillow.

    Drawn with Pillow (installed with matplotlib by the ``reports`` extra), not matplotlib:
    importing matplotlib and laying out a figure cost ~0.5 CPU s per replay, several times
    what drawing these few lines by hand costs. Equity ticks on round numbers, dated ticks,
    a light grid and the title, as before."""
    image_module = require("reports", "PIL.Image")
    draw_module = require("reports", "PIL.ImageDraw")
    font_module = require("reports", "PIL.ImageFont")
    image = image_module.new("RGB", (WIDTH, HEIGHT), "white")
    draw = draw_module.Draw(image)
    font = _font(font_module, 12)
    points = envelope(points)
    draw.text(((LEFT + RIGHT) / 2, TOP / 2), title, fill=INK, anchor="mm",
              font=_font(font_module, 15))  # fmt: skip
    label = image_module.new("RGB", (60, 16), "white")
    draw_module.Draw(label).text((30, 8), "equity", fill=INK, anchor="mm", font=font)
    image.paste(label.rotate(90, expand=True), (4, (TOP + BOTTOM) // 2 - 30))
    if points:
        t0, t1 = points[0][0], points[-1][0]
        if t1 == t0:
            t0, t1 = t0 - 60_000, t1 + 60_000
        values = [v for _, v in points]
        low, high = min(values), max(values)
        if high == low:
            pad = abs(high) * 0.01 or 1.0
            low, high = low - pad, high + pad
        margin = (high - low) * 0.05  # the curve clear of the box, as matplotlib left it
        low, high = low - margin, high + margin

        def x_of(ts: float) -> float:
            return LEFT + (ts - t0) * (RIGHT - LEFT) / (t1 - t0)

        def y_of(value: float) -> float:
            return BOTTOM - (value - low) * (BOTTOM - TOP) / (high - low)

        step = _round_step((high - low) / 5)
        places = max(0, -math.floor(math.log10(step)))
        for tick in _ticks(low, high, step):
            y = y_of(tick)
            draw.line([(LEFT, y), (RIGHT, y)], fill=GRID)
            draw.text((LEFT - 6, y), f"{tick:,.{places}f}", fill=INK, anchor="rm", font=font)
        every = next((s for s in TIME_STEPS_MS if (t1 - t0) / s <= 7), TIME_STEPS_MS[-1])
        shape = "%Y-%m-%d" if every >= 86_400_000 else "%m-%d %H:%M"
        for tick in range(-(-t0 // every) * every, t1 + 1, every):
            x = x_of(tick)
            draw.line([(x, TOP), (x, BOTTOM)], fill=GRID)
            when = datetime.fromtimestamp(tick / 1000, tz=UTC).strftime(shape)
            draw.text((x, BOTTOM + 8), when, fill=INK, anchor="mt", font=font)
        draw.text(((LEFT + RIGHT) / 2, HEIGHT - 10), "time (UTC)", fill=INK, anchor="mb",
                  font=font)  # fmt: skip
        line = [(x_of(ts), y_of(v)) for ts, v in points]
        if len(line) == 1:  # a line of one point draws nothing: a dot shows where it is
            (x, y) = line[0]
            draw.ellipse([(x - 3, y - 3), (x + 3, y + 3)], fill=LINE)
        else:
            draw.line(line, fill=LINE, width=2, joint="curve")
    draw.rectangle([(LEFT, TOP), (RIGHT, BOTTOM)], outline=INK)
    # zlib's fastest level: a few kB more than the default for a mostly white picture, a
    # third of the time (a multi-file replay draws one per file).
    image.save(path, format="PNG", compress_level=1)


@cache
def _font(font_module: Any, size: int) -> Any:
    """Pillow's bundled font at ``size``: loaded once per process, not once per chart."""
    return font_module.load_default(size=size)


def _round_step(rough: float) -> float:
    """The 1, 2 or 5 times a power of ten nearest above ``rough``: where ticks read well."""
    power = 10.0 ** math.floor(math.log10(rough))
    return next(k * power for k in (1, 2, 5, 10) if k * power >= rough)


def _ticks(low: float, high: float, step: float) -> list[float]:
    first = math.ceil(low / step)
    return [k * step for k in range(first, math.floor(high / step) + 1)]
