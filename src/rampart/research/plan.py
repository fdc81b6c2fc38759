"""What a search is asked to do and what each fold of it found: the plan, its trials'
lines, the scored settings, and how a setting is drawn from an agent's declarations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rampart.agents.space import Param
from rampart.domain.performance import Performance
from rampart.research.folds import Fold
from rampart.research.objectives import Constraints
from rampart.research.trial import Point


@dataclass(frozen=True, slots=True)
class SearchPlan:
    study: str
    agent: str
    objective: str
    constraints: Constraints
    trials: int
    """Per fold."""
    jobs: int
    seed: int | None
    prune: bool
    folds: tuple[Fold, ...]
    searched: tuple[Param, ...]
    fixed: Mapping[str, Any]
    period_ms: int
    data: str
    """What was searched, for the report and the evidence (file name, symbol, timeframe)."""
    parts: tuple[tuple[str, tuple[Fold, ...]], ...] = ()
    """A study over several files: each file's name and its own folds (``folds`` are the
    first file's); empty for one file. See :mod:`rampart.research.pooled`."""
    grid: tuple[dict[str, Any], ...] = ()
    """``--grid``: every setting to trade in each fold, in order (``trials`` is their number);
    empty for the sampler. See :mod:`rampart.research.grid`."""
    inputs_cut: str = ""
    """Why the folds start where they do, in words, when a declared input's span cut them:
    its candles are in no fold; empty when none did."""

    def identity(self) -> dict[str, Any]:
        """What a resumed study must have been made with."""
        return {
            "agent": self.agent,
            "objective": self.objective,
            "max_drawdown": self.constraints.max_drawdown,
            "min_trades": self.constraints.min_trades,
            "searched": [[p.name, p.kind, p.low, p.high, list(p.choices)] for p in self.searched],
            "fixed": {k: str(v) for k, v in sorted(self.fixed.items())},
            "folds": [
                [f.in_sample.warm_from, f.in_sample.start, f.in_sample.end, f.out_of_sample.end]
                for f in self.folds
            ],
            "data": self.data,
            **(
                {
                    "parts": [
                        [name, [[f.in_sample.start, f.out_of_sample.end] for f in folds]]
                        for name, folds in self.parts
                    ]
                }
                if self.parts
                else {}
            ),
            **({"grid": len(self.grid)} if self.grid else {}),
        }

    @property
    def searcher(self) -> str:
        """How the settings are chosen, in words (the report's setup)."""
        if self.grid:
            return f"grid: every one of {len(self.grid):,} settings"
        return "TPE"

    def fold_study(self, fold: Fold) -> str:
        return f"{self.study}/fold-{fold.index + 1}"


@dataclass(frozen=True, slots=True)
class TrialLine:
    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    feasible: bool
    why: str = ""
    """Why a trial did not count (failed, refused, stopped early, or breaking a constraint),
    in words; empty for one that counts."""
    trades: int | None = None
    max_drawdown: float | None = None
    shaped: str = ""
    """What shaped the trial's figures besides the agent's trades: halts with their candle time,
    entries refused by reason and count (rampart.trading.shaping); empty when nothing did."""


@dataclass(frozen=True, slots=True)
class Scored:
    """A setting's result on a span: its figures and its equity curve."""

    perf: Performance
    curve: tuple[Point, ...]
    trades: int
    fees: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "perf": self.perf.as_dict(),
            "curve": [list(p) for p in self.curve],
            "trades": self.trades,
            "fees": self.fees,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scored:
        perf = data["perf"]
        return cls(
            perf=Performance(**perf),
            curve=tuple((int(t), float(v)) for t, v in data["curve"]),
            trades=int(data["trades"]),
            fees=float(data["fees"]),
        )


@dataclass(frozen=True, slots=True)
class FoldOutcome:
    fold: Fold
    trials: tuple[TrialLine, ...]
    best: TrialLine | None
    in_sample: Scored | None
    out_of_sample: Scored | None
    returns: dict[int, list[float]] = field(default_factory=dict)
    """Trial number → its per-period in-sample returns (complete trials)."""
    importances: dict[str, float] = field(default_factory=dict)
    per_file: tuple[tuple[str, Scored | None, Scored | None], ...] = ()
    """A study over several files: each file's name, in-sample and out-of-sample figures of
    the fold's best setting (``in_sample`` and ``out_of_sample`` are then empty)."""
    file_returns: tuple[dict[int, list[float]], ...] = ()
    """A study over several files: each file's trial returns (``returns`` is all of them,
    file after file)."""

    def count(self, state: str) -> int:
        return sum(1 for t in self.trials if t.state == state)


# -- drawing a setting -----------------------------------------------------------------------


def sample(
    trial: Any, searched: tuple[Param, ...], fixed: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One setting drawn by ``trial``. A parameter declared ``above`` another is drawn above
    that one's value (Optuna's search spaces may change from trial to trial)."""
    out: dict[str, Any] = {}
    known = dict(fixed or {})
    for p in searched:
        if p.kind == "int":
            low = int(p.low)
            if p.above is not None and p.above in {**known, **out}:
                low = max(low, int({**known, **out}[p.above]) + 1)
            out[p.name] = trial.suggest_int(p.name, min(low, int(p.high)), int(p.high), log=p.log)
        elif p.kind == "float":
            value = trial.suggest_float(p.name, p.low, p.high, step=p.step)
            out[p.name] = round(value, 10) if p.step is not None else value
        elif p.kind == "decimal":
            raw = trial.suggest_float(p.name, p.low, p.high, step=p.step)
            out[p.name] = Decimal(repr(round(raw, 10))).normalize()
        else:
            out[p.name] = trial.suggest_categorical(p.name, list(p.choices))
    return out


def sample_back(params: Mapping[str, Any], searched: tuple[Param, ...]) -> dict[str, Any]:
    """A stored trial's parameters in the agent's types (Optuna keeps decimals as floats)."""
    out: dict[str, Any] = {}
    for p in searched:
        if p.name not in params:
            continue
        value = params[p.name]
        if p.kind == "decimal":
            value = Decimal(repr(round(float(value), 10))).normalize()
        elif p.kind == "float" and p.step is not None:
            value = round(float(value), 10)
        out[p.name] = value
    return out
