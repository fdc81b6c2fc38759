"""What one trial is: a setting traded over a span of candles, and what came of it.

The search runs a :class:`Backtest` it is handed (``rampart.wiring.backtest`` trades through
the same engine, risk engine, brackets and paper venue as ``replay`` and ``run``); nothing here
knows how the candles are traded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Point = tuple[int, float]


@dataclass(frozen=True, slots=True)
class Span:
    """Candles ``[start, end)`` are traded; ``[warm_from, start)`` only warm the agent's
    indicators (no orders), as a restart re-feeds history before trading."""

    warm_from: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.warm_from <= self.start < self.end:
            raise ValueError(f"a span needs 0 <= warm_from <= start < end, not {self}")

    @property
    def traded(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class BacktestResult:
    curve: tuple[Point, ...]
    """Equity at the close of the last candle of each period (see ``period_ms``), first point
    the capital at the span's start."""
    max_drawdown: float
    """Measured on every candle's equity, not only the periods'."""
    trades: int
    fees: float
    capital: float
    final: float
    candles: int
    """Candles traded (fewer than the span's when the trial was stopped)."""
    stopped: bool = False
    """Stopped part-way because ``report`` asked (a pruned trial)."""
    shaped: str = ""
    """Halts and refused entries with their candle times, in one line (trading.shaping)."""


Report = Callable[[int, Sequence[Point], float, int], bool]
"""Called at each step of a running trial with (step, curve so far, drawdown so far, trades so
far); returns True to stop it there."""


class Backtest(Protocol):
    def __call__(
        self,
        params: Mapping[str, Any],
        span: Span,
        report: Report | None = None,
        steps: int = 0,
    ) -> BacktestResult:
        """Trade ``params`` over ``span``; ``report`` is called ``steps`` times, evenly."""
        ...
