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
whole-history values to float precision (tests/agents/test_freqtrade_ports.py compares every
signal of the ported strategies with TA-Lib run over the whole file).
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
        if isinstance(result, list):  # several outputs: named as TA-Lib names them
            names = self._abstract.Function(function).output_names
            result = dict(zip(names, result, strict=True))
        self._done[key] = result
        return result
