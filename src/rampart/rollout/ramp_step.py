"""One step of a timed ramp inside a stage, and the stage as the step allows it: no store, so
the rollout's settings (which every front reads) describe their steps without reaching it; the
steps taken are :mod:`rampart.rollout.ramp`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from rampart.domain.stages import Stage
from rampart.risk.codes import fmt_num


@dataclass(frozen=True, slots=True)
class RampStep:
    index: int
    after_ms: int
    symbols: frozenset[str] | None
    capital: Decimal | None

    def describe(self) -> str:
        symbols = ", ".join(sorted(self.symbols)) if self.symbols is not None else "every symbol"
        capital = f"{fmt_num(self.capital)} in all" if self.capital is not None else "no total"
        return f"step {self.index + 1} (T+{self.after_ms / 3_600_000:g} h): {symbols}; {capital}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.index + 1,
            "after_h": self.after_ms / 3_600_000,
            "symbols": sorted(self.symbols) if self.symbols is not None else None,
            "capital": str(self.capital) if self.capital is not None else None,
        }


def narrow(stage: Stage, step: RampStep | None) -> Stage:
    """The stage as the step allows it: its symbols within the stage's, its capital total."""
    if step is None:
        return stage
    symbols = stage.symbols
    if step.symbols is not None:
        symbols = step.symbols if symbols is None else symbols & step.symbols
    return replace(stage, symbols=symbols, max_total_capital=step.capital)


__all__ = ["RampStep", "narrow"]
