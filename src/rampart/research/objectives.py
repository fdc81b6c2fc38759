"""What a search maximises, and the limits a setting must keep to count at all.

Objectives (all maximised, all net of every fee and slippage the trial paid, all read from the
trial's equity per period, ``rampart.domain.performance``): ``profit`` (final equity / capital
- 1), ``sharpe``, ``sortino``, ``calmar``. A ratio that does not exist (no trade, so no
variation) scores 0, never better than a setting that made money.

Constraints (Optuna's constrained TPE: a value above 0 is a violation by that much):
``max_drawdown`` (the deepest fall of the equity, every candle) and ``min_trades`` (closed
trades). A setting breaking one is kept in the study (the sampler learns from it) but is never
chosen as best.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rampart.domain.errors import ConfigError
from rampart.domain.performance import Performance, performance
from rampart.research.trial import BacktestResult, Point

OBJECTIVES = ("sharpe", "sortino", "calmar", "profit")


def check_objective(name: str) -> str:
    if name not in OBJECTIVES:
        raise ConfigError(f"--objective must be one of {', '.join(OBJECTIVES)}; got {name!r}.")
    return name


def figures(result: BacktestResult, period_ms: int) -> Performance:
    return performance(result.curve, period_ms, drawdown=result.max_drawdown)


def score(name: str, perf: Performance) -> float:
    """The objective's value; 0 for a ratio that does not exist."""
    value = perf.profit if name == "profit" else getattr(perf, name)
    return 0.0 if value is None else float(value)


def partial_score(name: str, curve: Sequence[Point], drawdown: float, period_ms: int) -> float:
    """The objective on the part of a trial run so far (what pruning compares)."""
    return score(name, performance(curve, period_ms, drawdown=drawdown))


@dataclass(frozen=True, slots=True)
class Constraints:
    max_drawdown: float | None = None
    """Largest allowed drawdown, a fraction (0.2 = 20 %)."""
    min_trades: int = 0

    def __post_init__(self) -> None:
        if self.max_drawdown is not None and not 0 < self.max_drawdown <= 1:
            raise ConfigError(
                f"--max-drawdown is a percentage above 0 and at most 100; got "
                f"{self.max_drawdown * 100:g}."
            )
        if self.min_trades < 0:
            raise ConfigError(f"--min-trades cannot be negative; got {self.min_trades}.")

    def values(self, drawdown: float, trades: int) -> list[float]:
        """One value per constraint, at most 0 when it holds (Optuna's convention)."""
        limit = self.max_drawdown if self.max_drawdown is not None else 1.0
        return [drawdown - limit, float(self.min_trades - trades)]

    def holds(self, drawdown: float, trades: int) -> bool:
        return all(v <= 0 for v in self.values(drawdown, trades))

    def broken(self, drawdown: float, trades: int) -> str:
        """What a setting's figures break, in words; empty when it keeps every constraint."""
        dd, few = self.values(drawdown, trades)
        out = []
        if dd > 0:
            out.append(f"a max drawdown of {drawdown:.1%}, above {self.max_drawdown:.0%}")
        if few > 0:
            out.append(f"{trades} closed trades, fewer than {self.min_trades}")
        return " and ".join(out)

    def describe(self) -> str:
        parts = []
        if self.max_drawdown is not None:
            parts.append(f"max drawdown at most {self.max_drawdown:.0%}")
        if self.min_trades:
            parts.append(f"at least {self.min_trades} trades")
        return ", ".join(parts) or "none"
