"""Performance of an equity curve, and of buying and holding the same market, in one place.

The research commands (``rampart optimize``) score settings with these figures and compare
them with buy-and-hold on the same candles; the launch gates ("Sharpe at least buy-and-hold +
0.3 on the same candles", DESIGN §6, ``rollout/measure_launch.py``) read the same functions,
so a setting that passed research is judged by the same arithmetic when it asks for capital.
Pure: floats in, floats out, no I/O (``rollout.rules`` may import it).

Definitions:

- a curve is ``(ts, value)`` points, oldest first (UTC ms); it is read per *period*: the value
  of each period is the last point in it, and a period with no point keeps the one before (so
  a quiet hour is a zero return, not a missing one);
- returns are simple: ``v[i] / v[i-1] - 1`` per period;
- Sharpe = mean(r) / sample stdev(r) × √(periods per year), risk-free rate 0; None with fewer
  than two returns or none that varies;
- Sortino = mean(r) / downside deviation × √(periods per year), the downside deviation being
  √(mean(min(r, 0)²)) over every return; None when no return is below zero;
- max drawdown = the largest fall from a running peak, as a fraction of that peak;
- Calmar = annualised return / max drawdown; None without a drawdown;
- buy-and-hold buys at the first candle's close paying the taker fee and sells at the last
  one's paying it again; its curve is the holding's value at each close.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

YEAR_MS = 365 * 86_400_000
"""Crypto trades every day of the year."""
HOUR_MS = 3_600_000
LAUNCH_MARGIN = 0.3
"""The launch plans' rule: Sharpe at least buy-and-hold's + 0.3 on the same candles."""

Point = tuple[int, float]


def per_period(points: Sequence[Point], period_ms: int) -> list[float]:
    """The curve's value at the end of each period from its first point's to its last's."""
    if period_ms <= 0:
        raise ValueError(f"a period must be positive, not {period_ms} ms")
    if not points:
        return []
    values: list[float] = []
    first_ts, last = points[0]
    bucket = first_ts // period_ms
    for ts, value in points[1:]:
        here = ts // period_ms
        if here < bucket:
            raise ValueError("a curve's points must be in time order")
        while bucket < here:
            values.append(last)
            bucket += 1
        last = value
    values.append(last)
    return values


def returns_of(values: Sequence[float]) -> list[float]:
    """Simple returns between consecutive values; a value at or below zero ends the series
    (an account that lost everything has no return after it)."""
    out: list[float] = []
    for before, after in itertools.pairwise(values):
        if before <= 0:
            break
        out.append(after / before - 1.0)
    return out


def sharpe(returns: Sequence[float], periods_per_year: float) -> float | None:
    if len(returns) < 2:
        return None
    spread = statistics.stdev(returns)
    if not spread > 0:
        return None
    return statistics.fmean(returns) / spread * math.sqrt(periods_per_year)


def sortino(returns: Sequence[float], periods_per_year: float) -> float | None:
    if len(returns) < 2:
        return None
    downside = math.sqrt(statistics.fmean([min(r, 0.0) ** 2 for r in returns]))
    if not downside > 0:
        return None
    return statistics.fmean(returns) / downside * math.sqrt(periods_per_year)


def max_drawdown(values: Iterable[float]) -> float:
    peak = -math.inf
    worst = 0.0
    for value in values:
        if value > peak:
            peak = value
        elif peak > 0:
            worst = max(worst, (peak - value) / peak)
    return worst


def annual_return(values: Sequence[float], years: float) -> float | None:
    """Compound annual growth over ``years``; None for no time or no starting value, or when
    the span is so short that the growth compounded to a year is beyond a float (9 % in an
    hour is 1.09 ** 8,760)."""
    if len(values) < 2 or years <= 0 or values[0] <= 0:
        return None
    growth = values[-1] / values[0]
    if growth <= 0:
        return -1.0
    try:
        return float(growth ** (1.0 / years) - 1.0)
    except OverflowError:
        # No meaningful yearly figure, and an infinity would break the reports' JSON.
        return None


def calmar(values: Sequence[float], years: float) -> float | None:
    drawdown = max_drawdown(values)
    growth = annual_return(values, years)
    if growth is None or not drawdown > 0:
        return None
    return growth / drawdown


@dataclass(frozen=True, slots=True)
class Performance:
    """The figures of one curve over one span, read per ``period_ms``."""

    profit: float
    """Final value / first value - 1 (net of every fee the curve paid)."""
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    max_drawdown: float
    periods: int
    """Returns the ratios were computed over."""
    period_ms: int

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "profit": self.profit,
            "sharpe": self.sharpe,
            "sortino": self.sortino,
            "calmar": self.calmar,
            "max_drawdown": self.max_drawdown,
            "periods": self.periods,
            "period_ms": self.period_ms,
        }


def performance(
    points: Sequence[Point], period_ms: int, *, drawdown: float | None = None
) -> Performance:
    """The figures of a curve. ``drawdown``, when the caller measured it on a finer curve
    (every candle), replaces the one read from the periods."""
    values = per_period(points, period_ms)
    rets = returns_of(values)
    per_year = YEAR_MS / period_ms
    span_years = (points[-1][0] - points[0][0]) / YEAR_MS if points else 0.0
    dd = max_drawdown(values) if drawdown is None else drawdown
    growth = annual_return(values, span_years)
    return Performance(
        profit=values[-1] / values[0] - 1.0 if values and values[0] > 0 else 0.0,
        sharpe=sharpe(rets, per_year),
        sortino=sortino(rets, per_year),
        calmar=growth / dd if growth is not None and dd > 0 else None,
        max_drawdown=dd,
        periods=len(rets),
        period_ms=period_ms,
    )


def buy_and_hold(closes: Sequence[Point], fee: float) -> list[Point]:
    """The value of 1 unit of quote currency put into the market at the first close (paying
    ``fee``, a fraction) and taken out at the last (paying it again), at every close."""
    if not 0.0 <= fee < 1.0:
        raise ValueError(f"a fee is a fraction below 1, not {fee}")
    if not closes or closes[0][1] <= 0:
        return []
    units = (1.0 - fee) / closes[0][1]
    curve = [(ts, units * close) for ts, close in closes]
    ts, value = curve[-1]
    curve[-1] = (ts, value * (1.0 - fee))
    return curve


@dataclass(frozen=True, slots=True)
class Comparison:
    """A strategy's curve against buying and holding over the same candles."""

    strategy: Performance
    hold: Performance
    margin: float

    @property
    def beats(self) -> bool | None:
        """Sharpe at least buy-and-hold's + ``margin``; None when either has no Sharpe."""
        if self.strategy.sharpe is None or self.hold.sharpe is None:
            return None
        return self.strategy.sharpe >= self.hold.sharpe + self.margin

    def sentence(self) -> str:
        ours, theirs = self.strategy.sharpe, self.hold.sharpe
        if ours is None or theirs is None:
            missing = "the strategy's curve" if ours is None else "the market"
            return (
                f"No Sharpe comparison with buy-and-hold: {missing} did not move enough to have "
                "one."
            )
        verdict = "beats" if self.beats else "does not beat"
        return (
            f"Sharpe {ours:.2f} against buy-and-hold's {theirs:.2f} on the same candles "
            f"(profit {self.strategy.profit:+.2%} against {self.hold.profit:+.2%}): it "
            f"{verdict} holding by the {self.margin:g} the launch asks."
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "strategy": self.strategy.as_dict(),
            "buy_and_hold": self.hold.as_dict(),
            "margin": self.margin,
            "beats": self.beats,
        }


def compare_with_buy_and_hold(
    equity: Sequence[Point],
    closes: Sequence[Point],
    period_ms: int,
    *,
    fee: float,
    margin: float = LAUNCH_MARGIN,
    drawdown: float | None = None,
) -> Comparison:
    """``equity`` (the strategy) and buy-and-hold of ``closes``, read over the same periods."""
    return Comparison(
        strategy=performance(equity, period_ms, drawdown=drawdown),
        hold=performance(buy_and_hold(closes, fee), period_ms),
        margin=margin,
    )


def period_for(timeframe_ms: int) -> int:
    """The period returns are read over: an hour, or the candle when candles are longer."""
    return max(HOUR_MS, timeframe_ms)
