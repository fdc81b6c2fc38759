"""The ``bad_candles`` fault: a corrupting proxy in front of the klines endpoint.

Only the klines answer is spoiled; the exchange's tape, matching, fills and tickers stay true,
so what the feed reads differs from what the exchange trades on (a bad print, not a crash).
Each firing spoils the newest row of one answer, by ``variant``:

``zero``          open, high, low and close are 0;
``negative``      the prices are negated;
``x1000``         the prices are 1000 times too high (a decimal-point slip);
``x0.001``        the prices are 1000 times too low;
``stale``         the newest row carries the prices of a candle ``STALE_BACK`` candles older
                  (a stuck cache), its open time current and its volume 0;
``out_of_order``  the newest two rows are swapped (open times not ascending);
``duplicate``     a second print of the newest row follows it, same open time, prices 5 %
                  higher (two answers for one minute: the later one is the wrong one);
``gap``           the newest row is missing, and stays missing from every later answer while
                  the fault is on (a hole in the exchange's history);
``random``        one of the above, drawn with the fault set's seeded generator.

Every spoiled row is recorded (:class:`Corrupted`, in :attr:`FaultSet.corrupted`), so a harness
can tell a candle it spoiled from a true one when the engine acts on it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

VARIANTS = (
    "zero",
    "negative",
    "x1000",
    "x0.001",
    "stale",
    "out_of_order",
    "duplicate",
    "gap",
)
RANDOM = "random"
STALE_BACK = 60
"""How old the prices of a ``stale`` row are, in candles (or the oldest the answer has)."""
DUPLICATE_MOVE = Decimal("1.05")
PRICES = (1, 2, 3, 4)
"""Open, high, low and close in a Binance kline row."""
CLOSE = 4
KlineRow = list[Any]
Older = Callable[[int], KlineRow | None]
"""The true row of a candle so many candles before the newest (None: the tape has none)."""


@dataclass(frozen=True, slots=True)
class Corrupted:
    """One row the fault spoiled: ``close`` is the close it served (for ``gap``: the true close
    of the missing candle; for ``out_of_order``: the true close of the row moved after the
    newest one)."""

    variant: str
    symbol: str
    ts: int
    close: float


def check_variant(variant: str) -> str:
    """``variant`` as the fault takes it (``x0.001`` also as ``x0_001``), or ValueError."""
    name = variant.strip().lower().replace("-", "_")
    name = "x0.001" if name == "x0_001" else name
    if name not in (*VARIANTS, RANDOM):
        raise ValueError(f"variant {variant!r} is not one of {', '.join((*VARIANTS, RANDOM))}")
    return name


def _scaled(row: KlineRow, factor: Decimal) -> KlineRow:
    out = list(row)
    for i in PRICES:
        out[i] = _text(Decimal(str(row[i])) * factor)
    return out


def _text(value: Decimal) -> str:
    """A price as Binance writes it (8 decimals), so a spoiled row looks like a real one."""
    return f"{value.quantize(Decimal('1e-8')):f}"


def corrupt(
    rows: list[KlineRow],
    symbol: str,
    variant: str,
    rng: random.Random,
    holes: set[tuple[str, int]],
    older: Older,
) -> tuple[list[KlineRow], Corrupted | None]:
    """``rows`` (a klines answer, oldest first) with the newest one spoiled by ``variant``,
    and what was spoiled (None when the answer is too short for it). ``holes``: the (symbol,
    open time) a ``gap`` took out, kept out of every later answer by :func:`fill_holes`;
    ``older``: where a ``stale`` row's prices come from (a poll's answer is often one row)."""
    if variant == RANDOM:
        variant = rng.choice(VARIANTS)
    if not rows or (variant == "out_of_order" and len(rows) < 2):
        return rows, None
    out = list(rows)
    last = out[-1]
    ts = int(last[0])
    if variant == "gap":
        holes.add((symbol, ts))
        return out[:-1], Corrupted(variant, symbol, ts, float(last[CLOSE]))
    if variant == "out_of_order":
        out[-2], out[-1] = last, out[-2]
        return out, Corrupted(variant, symbol, int(out[-1][0]), float(out[-1][CLOSE]))
    if variant == "duplicate":
        out.append(_scaled(last, DUPLICATE_MOVE))
        bad = out[-1]
    elif variant == "stale":
        old = older(STALE_BACK)
        if old is None or old[CLOSE] == last[CLOSE]:
            return rows, None
        bad = [*last[:1], *old[1:5], "0.00000000", *last[6:]]
        out[-1] = bad
    else:
        factor = {
            "zero": Decimal(0),
            "negative": Decimal(-1),
            "x1000": Decimal(1000),
            "x0.001": Decimal("0.001"),
        }[variant]
        bad = _scaled(last, factor)
        out[-1] = bad
    return out, Corrupted(variant, symbol, ts, float(bad[CLOSE]))


def fill_holes(rows: list[KlineRow], symbol: str, holes: set[tuple[str, int]]) -> list[KlineRow]:
    """``rows`` without the candles a ``gap`` took out earlier."""
    if not holes:
        return rows
    return [r for r in rows if (symbol, int(r[0])) not in holes]
