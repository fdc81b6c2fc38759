"""The float screen in front of candle matching: most bars of a replay cannot touch any resting
order (their range stays clear of every trigger and limit), and those are recognised from the
candle's floats without building a Decimal :class:`~rampart.venues.pricing.Bar`. The screen only
ever answers "certainly untouched" or "don't know"; the Decimal path decides the rest exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from rampart.domain.candles import Candle
from rampart.domain.orders import TERMINAL, OrderType, Side
from rampart.venues.book import BookOrder
from rampart.venues.validation import STOP_TYPES

GATE_MARGIN = 1e-9
"""Relative safety margin of the float screen. A float and the Decimal of its shortest repr
(what :class:`Bar` holds) differ by far less than 1e-15 relatively, so a bar whose floats
clear a gate by this margin clears it in Decimal too."""

Gate = tuple[float, float] | None


def gates(orders: Iterable[BookOrder]) -> Gate:
    """(below, above): a bar with ``low > below`` and ``high < above`` (its open and close
    included) triggers and fills none of ``orders``. None when some order trades on any bar
    (a market order, a triggered stop-market)."""
    below, above = -math.inf, math.inf
    for order in orders:
        if order.status in TERMINAL:
            continue
        kind, buy = order.type, order.side is Side.BUY
        if kind is OrderType.MARKET or (kind is OrderType.STOP_MARKET and order.triggered):
            return None
        if kind in STOP_TYPES and not order.triggered:
            level, on_low = order.stop_price, not buy  # a sell stop triggers on the low
        else:
            level, on_low = order.price, buy  # a buy limit fills on the low
        if level is None:
            return None
        if on_low:
            below = max(below, float(level) * (1 + GATE_MARGIN))
        else:
            above = min(above, float(level) * (1 - GATE_MARGIN))
    return below, above


class BarScreen:
    """Each symbol's gates, worked out from its book when first needed."""

    def __init__(self) -> None:
        self._gates: dict[str, Gate] = {}

    def forget(self, symbol: str | None = None) -> None:
        """The book or a trigger state of ``symbol`` changed (every symbol when None)."""
        if symbol is None:
            self._gates.clear()
        else:
            self._gates.pop(symbol, None)

    def untouched(self, candle: Candle, book: Mapping[int, BookOrder]) -> bool:
        """Whether this bar certainly leaves every order of ``book`` as it is (no trigger, no
        fill), judged on the candle's floats against the orders' gates (see :func:`gates`).
        False whenever in doubt: the Decimal path then decides exactly as before."""
        symbol = candle.symbol
        try:
            gate = self._gates[symbol]
        except KeyError:
            gate = self._gates[symbol] = gates(book.values())
        if gate is None:
            return False
        below, above = gate
        o, c = candle.open, candle.close
        try:
            return min(candle.low, o, c) > below and max(candle.high, o, c) < above
        except TypeError:
            return False  # not numbers: Bar.check on the Decimal path says what is wrong
