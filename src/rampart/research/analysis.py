"""What a finished search says: the out-of-sample result, the overfitting figures, the
comparison with buy-and-hold, the chosen setting and the verdict in plain sentences.

The result is the out-of-sample one: each fold's best in-sample setting traded on the block
after its search, the blocks laid end to end (each fold's curve scaled to start where the one
before ended). The chosen setting is the last fold's best — the one found on the newest
data — and its evidence is every fold's in/out-of-sample figures, PBO pooled over the folds'
splits and its deflated Sharpe ratio given the trials of its search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from rampart.agents.spans import InputSpan
from rampart.domain.performance import (
    LAUNCH_MARGIN,
    Comparison,
    Performance,
    Point,
    compare_with_buy_and_hold,
    max_drawdown,
)
from rampart.research.overfit import Pbo, deflated_sharpe, pbo, pooled, sharpe_per_period
from rampart.research.plan import FoldOutcome, SearchPlan, sample_back

MAX_PBO = 0.3
"""A search whose best setting is overfit this often or more is not to be launched."""
MIN_DSR = 0.95
"""The deflated Sharpe ratio a setting needs: 95 % that its Sharpe is more than luck."""


@dataclass(frozen=True, slots=True)
class FoldFigures:
    outcome: FoldOutcome
    pbo: Pbo | None
    dsr: float | None
    hold: Performance | None
    """Buy-and-hold over the fold's out-of-sample candles."""


@dataclass(frozen=True, slots=True)
class Analysis:
    plan: SearchPlan
    folds: tuple[FoldFigures, ...]
    oos_curve: tuple[Point, ...]
    comparison: Comparison | None
    """The chained out-of-sample curve against buy-and-hold over the same candles."""
    pbo: float | None
    chosen: dict[str, Any] | None
    chosen_fold: int | None
    dsr: float | None
    verdict: tuple[str, ...]
    launchable: bool
    luck: bool = False
    """PBO or the deflated Sharpe says the best setting cannot be told from luck."""
    checks: tuple[CheckOutcome, ...] = ()
    """The lookahead and warm-up checks run on the chosen setting (``with_checks``)."""
    files: tuple[Analysis, ...] = ()
    """A study over several files: each file's own figures (``rampart.research.pooled``)."""
    headline: int | None = None
    """Over several files: the index of the file whose folds ``folds`` and ``comparison``
    show (the weakest out-of-sample)."""
    oos_from: int | None = None
    """The close time of the first out-of-sample candle (ms): evidence counts only candles after
    the span each declared input was made from."""
    inputs: tuple[InputSpan, ...] = ()
    """The span each declared input states (``with_checks``)."""

    def evidence(self) -> dict[str, Any]:
        """What is saved with a chosen setting, and what the GO/NO-GO evidence gate reads."""
        comp = self.comparison
        return {
            "study": self.plan.study,
            "data": self.plan.data,
            "objective": self.plan.objective,
            "trials_per_fold": self.plan.trials,
            "folds": [
                {
                    "fold": f.outcome.fold.index + 1,
                    "in_sample": f.outcome.in_sample.perf.as_dict()
                    if f.outcome.in_sample
                    else None,
                    "out_of_sample": f.outcome.out_of_sample.perf.as_dict()
                    if f.outcome.out_of_sample
                    else None,
                    "buy_and_hold": f.hold.as_dict() if f.hold else None,
                    "pbo": f.pbo.value if f.pbo else None,
                    "deflated_sharpe": f.dsr,
                    "best": dict(f.outcome.best.params) if f.outcome.best else None,
                }
                for f in self.folds
            ],
            "pbo": self.pbo,
            "deflated_sharpe": self.dsr,
            "oos_sharpe": comp.strategy.sharpe if comp else None,
            "oos_profit": comp.strategy.profit if comp else None,
            "buy_and_hold_sharpe": comp.hold.sharpe if comp else None,
            "launchable": self.launchable,
            "luck": self.luck,
            "checks": [c.as_dict() for c in self.checks],
            "out_of_sample_from": self.oos_from,
            "inputs": [i.as_dict() for i in self.inputs],
            "verdict": list(self.verdict),
            **({"files": [f.file_evidence() for f in self.files]} if self.files else {}),
        }

    def file_evidence(self) -> dict[str, Any]:
        """One file's figures in a study over several (its overfitting figures are the
        study's, over the pooled returns)."""
        whole = self.evidence()
        keep: tuple[str, ...] = ("data", "folds", "oos_sharpe", "oos_profit")
        keep += ("buy_and_hold_sharpe", "out_of_sample_from")
        out = {k: whole[k] for k in keep}
        for fold in out["folds"]:
            fold.pop("pbo", None)
            fold.pop("deflated_sharpe", None)
        out["beats_buy_and_hold"] = self.comparison.beats if self.comparison else None
        return out


def _chain(curves: Sequence[Sequence[Point]]) -> list[Point]:
    """Out-of-sample curves end to end, each scaled to start where the one before ended."""
    out: list[Point] = []
    level = 1.0
    for curve in curves:
        if not curve or curve[0][1] <= 0:
            continue
        base = curve[0][1]
        scaled = [(ts, level * v / base) for ts, v in curve]
        out.extend(scaled if not out else scaled[1:])
        level = scaled[-1][1]
    return out


def _fold_figures(
    plan: SearchPlan, outcome: FoldOutcome, closes: Sequence[Point], fee: float
) -> FoldFigures:
    numbers = sorted(outcome.returns)
    lengths = {len(outcome.returns[n]) for n in numbers}
    matrix_pbo = None
    if numbers and len(lengths) == 1:
        matrix = np.array([outcome.returns[n] for n in numbers]).T
        matrix_pbo = pbo(matrix)
    dsr = None
    if outcome.best is not None and outcome.best.number in outcome.returns:
        sharpes = [s for n in numbers if (s := sharpe_per_period(outcome.returns[n])) is not None]
        # Every setting tried counts as a try, the ones the pruner stopped early too.
        tried = outcome.count("complete") + outcome.count("pruned")
        dsr = deflated_sharpe(outcome.returns[outcome.best.number], sharpes, tried)
    hold = None
    oos = outcome.fold.out_of_sample
    if outcome.out_of_sample is not None:
        comp = compare_with_buy_and_hold(
            outcome.out_of_sample.curve, closes[oos.start : oos.end], plan.period_ms, fee=fee
        )
        hold = comp.hold
    return FoldFigures(outcome, matrix_pbo, dsr, hold)


def analyse(
    plan: SearchPlan,
    outcomes: Sequence[FoldOutcome],
    closes: Sequence[Point],
    fee: float,
    *,
    max_pbo: float = MAX_PBO,
    min_dsr: float = MIN_DSR,
) -> Analysis:
    """``closes`` are every candle's (close time, close), indexed like the folds' spans."""
    folds = tuple(_fold_figures(plan, o, closes, fee) for o in outcomes)
    scored = [f.outcome.out_of_sample.curve for f in folds if f.outcome.out_of_sample is not None]
    chained = _chain(scored)
    comparison = None
    oos_from = None
    if folds and closes:
        oos_from = int(closes[folds[0].outcome.fold.out_of_sample.start][0])
    if chained and len(scored) == len(folds):
        first = folds[0].outcome.fold.out_of_sample.start
        last = folds[-1].outcome.fold.out_of_sample.end
        fine_dd = max(
            (f.outcome.out_of_sample.perf.max_drawdown for f in folds if f.outcome.out_of_sample),
            default=0.0,
        )
        comparison = compare_with_buy_and_hold(
            chained,
            closes[first:last],
            plan.period_ms,
            fee=fee,
            drawdown=max(fine_dd, max_drawdown(v for _, v in chained)),
        )
    chosen_fold = next((f for f in reversed(folds) if f.outcome.best is not None), None)
    chosen = None
    if chosen_fold is not None and chosen_fold.outcome.best is not None:
        chosen = {
            **{k: v for k, v in plan.fixed.items()},
            **sample_back(chosen_fold.outcome.best.params, plan.searched),
        }
    total_pbo = pooled([f.pbo for f in folds])
    dsr = chosen_fold.dsr if chosen_fold is not None else None
    verdict, launchable = _verdict(plan, folds, comparison, total_pbo, dsr, max_pbo, min_dsr)
    return Analysis(
        plan=plan,
        folds=folds,
        oos_curve=tuple(chained),
        comparison=comparison,
        pbo=total_pbo,
        chosen=chosen,
        chosen_fold=chosen_fold.outcome.fold.index if chosen_fold is not None else None,
        dsr=dsr,
        verdict=tuple(verdict),
        launchable=launchable,
        luck=bool(_luck(plan, total_pbo, dsr, max_pbo, min_dsr)),
        oos_from=oos_from,
    )


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    check: str
    """``lookahead`` or ``warm-up``."""
    ok: bool
    sentence: str
    code: str = ""
    """The hash of the agent's code the check ran (``rampart.agents.fingerprint``)."""

    def as_dict(self) -> dict[str, Any]:
        out = {"check": self.check, "ok": self.ok, "sentence": self.sentence}
        return {**out, "code": self.code} if self.code else out


def with_checks(
    analysis: Analysis, checks: Sequence[CheckOutcome], inputs: Sequence[InputSpan] = ()
) -> Analysis:
    """The analysis with the chosen setting's checks in its verdict (before the last line,
    which says whether to launch) and its evidence; a failed check is a reason not to. So is
    an ``inputs`` span: one stated by none (unverified), or one the out-of-sample reaches into."""
    lines = list(analysis.verdict)
    final = lines.pop() if lines else ""
    for c in checks:
        word = "passed" if c.ok else "FAILED"
        lines.append(f"The chosen setting's {c.check} check {word}: {c.sentence}")
    failed = [c.check for c in checks if not c.ok]
    reasons = [f"its {' and '.join(failed)} check failed"] if failed else []
    for span in inputs:
        if not span.stated:
            lines.append(f"Input {span.describe()}: the setting cannot be promoted.")
            reasons.append(f"its input {span.name} is unverified")
        elif analysis.oos_from is None or analysis.oos_from <= (span.end_ms or 0):
            lines.append(
                f"Input {span.describe()}, and the out-of-sample candles start inside it: only "
                "candles after it count, so search on later candles."
            )
            reasons.append(f"its out-of-sample candles start inside {span.name}'s span")
    if reasons:
        why = "; ".join(reasons)
        final = f"{final[:-1]}; {why}." if not analysis.launchable else f"Do not launch it: {why}."
    lines.append(final)
    return replace(
        analysis,
        verdict=tuple(lines),
        launchable=analysis.launchable and not reasons,
        checks=tuple(checks),
        inputs=tuple(inputs),
    )


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "n/a" if x is None else format(x, fmt)


def _luck(
    plan: SearchPlan, total_pbo: float | None, dsr: float | None, max_pbo: float, min_dsr: float
) -> str:
    """Why the search's best cannot be told from luck, or "" when it can."""
    why: list[str] = []
    if total_pbo is None:
        why.append("its chance of being overfit could not be measured")
    elif total_pbo > max_pbo:
        why.append(f"PBO {total_pbo:.0%} (at most {max_pbo:.0%} wanted)")
    if dsr is None:
        why.append("the chosen setting has no deflated Sharpe ratio")
    elif dsr < min_dsr:
        why.append(
            f"a deflated Sharpe ratio of {dsr:.2f} after {plan.trials} trials (at least "
            f"{min_dsr:g} wanted)"
        )
    return " and ".join(why)


def _verdict(
    plan: SearchPlan,
    folds: Sequence[FoldFigures],
    comparison: Comparison | None,
    total_pbo: float | None,
    dsr: float | None,
    max_pbo: float,
    min_dsr: float,
) -> tuple[list[str], bool]:
    lines: list[str] = []
    reasons: list[str] = []
    unscored = [f for f in folds if f.outcome.out_of_sample is None]
    if unscored:
        names = ", ".join(str(f.outcome.fold.index + 1) for f in unscored)
        lines.append(
            f"No setting met the constraints ({plan.constraints.describe()}) in fold(s) {names}: "
            "those folds have no out-of-sample result."
        )
        reasons.append("not every fold found a setting within the constraints")
    luck = _luck(plan, total_pbo, dsr, max_pbo, min_dsr)
    if luck:
        # First, before any figure: what follows must not read as a result.
        lines.insert(
            0,
            f"Not distinguishable from luck: {luck}. The out-of-sample figures below are what "
            "a search over noise produces; they show no edge, over buy-and-hold or at all.",
        )
    if comparison is not None:
        oos = comparison.strategy
        ins = [f.outcome.in_sample.perf.sharpe for f in folds if f.outcome.in_sample]
        in_text = _num(sum(s for s in ins if s is not None) / len(ins)) if ins else "n/a"
        if luck:
            lines.append(
                f"Out-of-sample the best settings' Sharpe came to {_num(oos.sharpe)} and profit "
                f"to {oos.profit:+.2%} over {len(folds)} fold(s) (in-sample {in_text}): with "
                "the search not distinguishable from luck these are not a result, and no "
                "comparison with buy-and-hold is drawn from them."
            )
        else:
            lines.append(
                f"The best settings' out-of-sample Sharpe is {_num(oos.sharpe)} and profit "
                f"{oos.profit:+.2%} over {len(folds)} fold(s) (in-sample their Sharpe averaged "
                f"{in_text}): the out-of-sample figure is the result."
            )
            lines.append(comparison.sentence())
        if oos.profit <= 0:
            reasons.append("it lost money out-of-sample")
        if comparison.beats is not True:
            reasons.append(f"it does not beat buy-and-hold by {LAUNCH_MARGIN:g} Sharpe")
    if total_pbo is None:
        lines.append("PBO could not be measured (too few trials or periods).")
        reasons.append("its chance of being overfit is unknown")
    else:
        lines.append(
            f"{total_pbo:.0%} chance that the search's best setting is overfit (PBO; at most "
            f"{max_pbo:.0%} wanted)."
        )
        if total_pbo > max_pbo:
            reasons.append("it is likely overfit")
    if dsr is None:
        lines.append("The chosen setting has no deflated Sharpe ratio (its returns did not vary).")
        reasons.append("its Sharpe ratio does not exist")
    else:
        trials = plan.trials
        lines.append(
            f"The chosen setting's deflated Sharpe ratio is {dsr:.2f} after {trials} trials "
            f"(at least {min_dsr:g} wanted: near 0 means its in-sample result is what that many "
            "tries give by luck)."
        )
        if dsr < min_dsr:
            reasons.append("its Sharpe ratio does not survive the number of trials")
    launchable = not reasons
    if launchable:
        lines.append(
            "It passes these checks: paper-trade it before any capital, and save it with "
            "--save to carry this evidence into GO/NO-GO."
        )
    else:
        lines.append(f"Do not launch it: {'; '.join(reasons)}.")
    return lines, launchable
