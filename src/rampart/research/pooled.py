"""One study over several candle files (``rampart optimize --data A --data B`` or a folder).

Each file has its own walk-forward folds (cut from its own candles as for one file). Fold ``k``
of the study searches one setting for all the files at once: a trial trades that setting on
fold ``k``'s in-sample candles of every file, one file after another, and its objective is the
**mean of the per-file objectives** (each file's Sharpe, Sortino, Calmar or profit counts the
same, whatever its length). The constraints hold over the files: the deepest drawdown of any
file, the trades of all of them. The pruner compares the running mean after each file.

The best setting of fold ``k`` is then scored out-of-sample on fold ``k``'s out-of-sample block
of every file. The overfitting figures are computed over the pooled trial returns: a trial's
returns are its per-period returns on the first file followed by those on the second, and so
on (every trial has the same periods), so PBO's combinatorial splits and the deflated Sharpe
ratio see every file's periods and count every setting tried once. Per file, the report shows
the in- and out-of-sample figures and buy-and-hold; the headline out-of-sample comparison is
the weakest file's (the lowest out-of-sample Sharpe), so that one good market cannot carry a
setting that fails on another.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from rampart.research.folds import Fold
from rampart.research.objectives import figures, score
from rampart.research.plan import FoldOutcome, Scored, SearchPlan
from rampart.research.trial import Backtest, BacktestResult, Point

if TYPE_CHECKING:
    from rampart.research.analysis import Analysis, FoldFigures


@dataclass(frozen=True, slots=True)
class PooledBacktest:
    """The files' backtests, in the order of ``SearchPlan.parts``."""

    parts: tuple[Backtest, ...]


@dataclass(frozen=True, slots=True)
class PooledResult:
    results: tuple[BacktestResult, ...]
    """Per file; fewer than the files when the pruner stopped the trial."""
    stopped: bool


def fold_of(plan: SearchPlan, part: int, fold: Fold) -> Fold:
    return plan.parts[part][1][fold.index]


def evaluate(
    plan: SearchPlan,
    fold: Fold,
    pooled: PooledBacktest,
    trial: Any,
    params: dict[str, Any],
    should_stop: Callable[[], bool],
) -> tuple[PooledResult, float | None]:
    """Trade ``params`` on every file's in-sample span of ``fold``; the mean objective, or
    None when the pruner stopped the trial after a file."""
    results: list[BacktestResult] = []
    scores: list[float] = []
    for index, backtest in enumerate(pooled.parts):
        result = backtest(params, fold_of(plan, index, fold).in_sample)
        results.append(result)
        scores.append(score(plan.objective, figures(result, plan.period_ms)))
        if plan.prune and index < len(pooled.parts) - 1:
            trial.report(sum(scores) / len(scores), index + 1)
            if should_stop():
                return PooledResult(tuple(results), True), None
    return PooledResult(tuple(results), False), sum(scores) / len(scores)


def attrs(result: PooledResult, values: Sequence[Sequence[float]]) -> dict[str, Any]:
    """What a pooled trial stores: each file's equity per period and figures, and over the
    files the deepest drawdown and the trades (what the constraints read)."""
    parts = [
        {
            "values": list(v),
            "t0": r.curve[0][0],
            "max_drawdown": r.max_drawdown,
            "trades": r.trades,
            "fees": r.fees,
        }
        for r, v in zip(result.results, values, strict=True)
    ]
    return {
        "parts": parts,
        "max_drawdown": max(r.max_drawdown for r in result.results),
        "trades": sum(r.trades for r in result.results),
        "fees": sum(r.fees for r in result.results),
    }


def _returns(values: Sequence[float]) -> list[float]:
    return [b / a - 1.0 for a, b in itertools.pairwise(values) if a > 0]


def trial_returns(user_attrs: Mapping[str, Any], files: int) -> tuple[list[list[float]], bool]:
    """Each file's per-period returns of a stored trial, and whether it traded every file."""
    parts = user_attrs.get("parts") or []
    return [_returns(p["values"]) for p in parts], len(parts) == files


def in_sample(user_attrs: Mapping[str, Any], period: int) -> list[Scored]:
    """Each file's in-sample figures of a stored trial."""
    from rampart.domain.performance import performance

    out = []
    for p in user_attrs["parts"]:
        t0 = int(p["t0"])
        curve = tuple(
            ((t0 // period + i) * period + period - 1, float(v)) for i, v in enumerate(p["values"])
        )
        out.append(
            Scored(
                perf=performance(curve, period, drawdown=float(p["max_drawdown"])),
                curve=curve,
                trades=int(p["trades"]),
                fees=float(p["fees"]),
            )
        )
    return out


def out_of_sample(
    plan: SearchPlan, fold: Fold, pooled: PooledBacktest, params: Mapping[str, Any]
) -> list[Scored]:
    """The setting traded on every file's out-of-sample block of ``fold``."""
    out = []
    for index, backtest in enumerate(pooled.parts):
        result = backtest(params, fold_of(plan, index, fold).out_of_sample)
        out.append(
            Scored(
                perf=figures(result, plan.period_ms),
                curve=result.curve,
                trades=result.trades,
                fees=result.fees,
            )
        )
    return out


def analyse_files(
    plan: SearchPlan,
    outcomes: Sequence[FoldOutcome],
    closes: Sequence[Sequence[Point]],
    fee: float,
) -> Analysis:
    """The analysis of a study over several files: each file's own (its folds' in- and
    out-of-sample figures against its buy-and-hold), the overfitting figures over the pooled
    returns, and the verdict on the weakest file's out-of-sample comparison."""
    from rampart.research.analysis import MAX_PBO, MIN_DSR, _luck, _verdict, analyse

    files = []
    for index, (name, file_folds) in enumerate(plan.parts):
        one = replace(plan, folds=file_folds, parts=(), data=name)
        mine = [
            replace(
                o,
                fold=file_folds[o.fold.index],
                in_sample=o.per_file[index][1] if o.per_file else None,
                out_of_sample=o.per_file[index][2] if o.per_file else None,
                returns=o.file_returns[index] if o.file_returns else {},
                per_file=(),
                file_returns=(),
            )
            for o in outcomes
        ]
        files.append(analyse(one, mine, closes[index], fee))
    whole = analyse(plan, outcomes, [], fee)  # the pooled returns: PBO and deflated Sharpe
    weakest = min(
        files,
        key=lambda a: (
            a.comparison is not None,
            a.comparison.strategy.sharpe or 0.0 if a.comparison is not None else 0.0,
        ),
    )
    folds: tuple[FoldFigures, ...] = tuple(
        replace(own, pbo=pooled_fold.pbo, dsr=pooled_fold.dsr)
        for own, pooled_fold in zip(weakest.folds, whole.folds, strict=True)
    )
    verdict, launchable = _verdict(
        plan, folds, weakest.comparison, whole.pbo, whole.dsr, MAX_PBO, MIN_DSR
    )
    final = verdict.pop()
    verdict.append(
        f"Searched over {len(files)} files, each trial's objective the mean of theirs; the "
        f"out-of-sample comparison above is the weakest file's ({weakest.plan.data})."
    )
    luck = _luck(plan, whole.pbo, whole.dsr, MAX_PBO, MIN_DSR)
    for each in files:
        comp = each.comparison
        if comp is None:
            verdict.append(f"{each.plan.data}: not every fold has an out-of-sample result.")
            continue
        sharpe = "n/a" if comp.strategy.sharpe is None else f"{comp.strategy.sharpe:.2f}"
        hold = "n/a" if comp.hold.sharpe is None else f"{comp.hold.sharpe:.2f}"
        line = (
            f"{each.plan.data}: out-of-sample Sharpe {sharpe}, profit {comp.strategy.profit:+.2%}"
        )
        # Beside luck, no figure set against buy-and-hold (it would read as a pass).
        verdict.append(f"{line}." if luck else f"{line}; buy-and-hold Sharpe {hold}.")
    verdict.append(final)
    return replace(
        weakest,
        plan=plan,
        folds=folds,
        pbo=whole.pbo,
        dsr=whole.dsr,
        chosen=whole.chosen,
        chosen_fold=whole.chosen_fold,
        verdict=tuple(verdict),
        launchable=launchable,
        luck=bool(luck),
        files=tuple(files),
        headline=files.index(weakest),
    )
