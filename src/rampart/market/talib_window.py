"""TA-Lib's indicators for an agent, one closed candle at a time.

A Freqtrade strategy computes ``ta.RSI(dataframe)`` over the whole frame; an agent sees one
closed candle after another (``update``) and decides on the last. :class:`TalibWindow` keeps the
last ``size`` candles as float arrays and answers any TA-Lib function (``talib.abstract``, by
its name and parameters, as Freqtrade's ``ta.X(dataframe, ...)`` calls it) at the newest candle
or a few before it. Each function runs once per candle over the window, whatever the parameters
asked of it later on that candle, so a candle costs the same on bar 10 and on bar 10 million.

Only the candles fed so far are in the window: no value can hold a later candle's price (the
lookahead check re-computes every decision on data cut at its candle). The recursive indicators
(RSI, EMA, MACD, ADX: Wilder's and exponential smoothing) forget their start geometrically; with
the default window of 1,000 candles and periods up to a few dozen candles they equal the
whole-history values to float precision (tests/market/test_talib_window.py checks every TA-Lib
function against TA-Lib run over a whole shared file).

The cost of a candle: one run of each function asked on it over the window, ``size`` candles,
whatever the history's length. Two kinds of function need more than the window, and get it:

- the running totals (``AD``, ``OBV``, ``CUMSUM``, ``WAD``, ``PVT``; ``NVI`` and ``PVI``
  multiply) sum every candle since the first. The window's run is anchored on the value this
  window gave at its first candle, so the answer is the whole history's as long as the function
  is asked on every candle from the first (in ``update`` or ``_advance``); asked first later,
  once the window has forgotten candles, it raises ValueError saying so;
- the index functions (``MAXINDEX``, ``MININDEX``, ``MINMAXINDEX``) answer the candle's number
  since the first (0 for the first candle fed), as over the whole history.

``VWAP`` without a period averages every candle since the first: here it is the VWAP of the
window's candles.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

from rampart.domain.candles import Candle
from rampart.extras import require

DEFAULT_SIZE = 1_000
_COLUMNS = ("open", "high", "low", "close", "volume")
RUNNING_TOTALS = frozenset({"AD", "OBV", "CUMSUM", "WAD", "PVT"})
"""Sums over every candle since the first: the window's run shifted to the history's."""
RUNNING_PRODUCTS = frozenset({"NVI", "PVI"})
"""Products over every candle since the first: the window's run scaled to the history's."""
INDEX_FUNCTIONS = frozenset({"MAXINDEX", "MININDEX", "MINMAXINDEX"})
"""Answer a position in their input: counted from the history's first candle."""


class TalibWindow:
    """The last ``size`` closed candles, and TA-Lib's functions over them."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 2:
            raise ValueError("a TA-Lib window holds at least two candles")
        self._np = require("ta", "numpy")
        self._abstract = require("ta", "talib.abstract")
        self.size = size
        self._rows: dict[str, deque[float]] = {c: deque(maxlen=size) for c in _COLUMNS}
        self._inputs: dict[str, Any] | None = None
        self._done: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}
        self._functions: dict[str, Callable[..., Any]] = {}
        self._history: dict[tuple[str, tuple[tuple[str, Any], ...]], _Anchored] = {}
        self.candles = 0
        """Candles fed so far (the window holds the last ``size`` of them)."""

    def update(self, candle: Candle) -> None:
        """One more closed candle; the values asked after it are at this candle."""
        rows = self._rows
        rows["open"].append(float(candle.open))
        rows["high"].append(float(candle.high))
        rows["low"].append(float(candle.low))
        rows["close"].append(float(candle.close))
        rows["volume"].append(float(candle.volume))
        self._inputs = None
        self._done.clear()
        self.candles += 1

    def column(self, name: str) -> Any:
        """The window's ``open``, ``high``, ``low``, ``close`` or ``volume`` as a float array,
        oldest first."""
        return self._arrays()[name]

    def __call__(
        self, function: str, output: str | None = None, back: int = 0, **params: Any
    ) -> float:
        """``function``'s value (its ``output``, for one with several: ``macdsignal``) at the
        newest candle, or ``back`` candles before it; NaN while it is still warming up."""
        outputs = self._run(function, params)
        series = outputs[output] if output is not None else outputs
        if isinstance(series, dict):
            raise ValueError(
                f"TA-Lib's {function} has several outputs ({', '.join(series)}): name one"
            )
        index = len(series) - 1 - back
        return float(series[index]) if index >= 0 else math.nan

    def _arrays(self) -> dict[str, Any]:
        if self._inputs is None:
            np = self._np
            self._inputs = {
                c: np.fromiter(v, dtype=float, count=len(v)) for c, v in self._rows.items()
            }
        return self._inputs

    def _run(self, function: str, params: dict[str, Any]) -> Any:
        key = (function, tuple(sorted(params.items())))
        done = self._done.get(key)
        if done is not None:
            return done
        fn = self._functions.get(function)
        if fn is None:
            fn = self._functions[function] = self._abstract.Function(function)
        result = fn(self._arrays(), **params)
        if function in INDEX_FUNCTIONS:
            result = _shifted(result, self.candles - len(self._rows["close"]))
        elif function in RUNNING_TOTALS or function in RUNNING_PRODUCTS:
            result = self._anchored(key, result)
        if isinstance(result, list):  # several outputs: named as TA-Lib names them
            names = self._abstract.Function(function).output_names
            result = dict(zip(names, result, strict=True))
        self._done[key] = result
        return result

    def _anchored(self, key: tuple[str, tuple[tuple[str, Any], ...]], run: Any) -> Any:
        """A running total's (or product's) run over the window, as over the whole history:
        moved by what the history held at the window's first candle that the window does not.
        The history's value at each candle is kept as it is answered."""
        np = self._np
        kept = self._history.get(key)
        if kept is None:
            if self.candles > len(self._rows["close"]):
                raise ValueError(
                    f"TA-Lib's {key[0]} sums every candle since the first and the window has "
                    f"forgotten {self.candles - len(self._rows['close']):,} of them: ask for it "
                    "on every candle from the first (in update or _advance)."
                )
            kept = self._history[key] = _Anchored(deque(maxlen=self.size), 0)
        elif kept.candle != self.candles - 1:
            raise ValueError(
                f"TA-Lib's {key[0]} sums every candle since the first: ask for it on every "
                "candle (in update or _advance), not only on some."
            )
        dropped = self.candles - len(run)
        finite = np.flatnonzero(np.isfinite(run))
        if dropped and len(finite):
            # The window's first candle with a value; the history's value there was kept when
            # it was the newest (the kept values end one candle before the window does).
            first = int(finite[0])
            at = len(kept.values) - len(run) + 1 + first
            if 0 <= at < len(kept.values):
                then = kept.values[at]
                if key[0] in RUNNING_PRODUCTS:
                    run = run * (then / run[first]) if run[first] else run
                else:
                    run = run + (then - run[first])
        kept.values.append(float(run[-1]))
        kept.candle = self.candles
        return run


class _Anchored:
    """A running function's value over the whole history at the window's last candles."""

    __slots__ = ("candle", "values")

    def __init__(self, values: deque[float], candle: int) -> None:
        self.values = values
        self.candle = candle
        """The candle (``TalibWindow.candles``) whose value was kept last."""


def _shifted(result: Any, by: int) -> Any:
    """An index function's output moved from the window's positions to the history's."""
    if isinstance(result, list):
        return [r + by for r in result]
    return result + by
