"""The walk-forward parameter search: one Optuna study per fold, searched in-sample, its best
setting scored out-of-sample.

Each fold's study (``<study>/fold-<k>``) uses Optuna's TPE sampler (constrained by
``--max-drawdown`` and ``--min-trades``) and its median pruner (a trial reports its objective
eight times on the way and stops early when it trails the median of the trials before). Trials
run in overlapping rounds of eight, asked here and traded by ``jobs`` forked worker processes
that inherit the loaded candles (:mod:`rampart.research.rounds`). Every trial trades through
the :class:`~rampart.research.trial.Backtest` it is handed.

Resuming is running the same command again: a fold whose study holds its trials is not
searched again, a fold part-way continues where it stopped (trials that were running when the
search was killed, at most a round, are marked failed and run again), and an out-of-sample
score already made is read back.

Determinism: a trial's result depends only on its parameters and the candles (the engine runs
on simulated time, the paper venue has no randomness), and a round's settings and pruning see
only the rounds told before it was asked. So with ``--seed`` a search is repeated exactly —
the same trials, results and best setting — with any number of jobs.
"""

from __future__ import annotations

import contextlib
import itertools
import warnings
from typing import Any, cast

from rampart.domain.errors import ConfigError
from rampart.domain.performance import performance
from rampart.extras import require
from rampart.research import pooled
from rampart.research.folds import Fold
from rampart.research.objectives import figures
from rampart.research.plan import (
    FoldOutcome,
    Scored,
    SearchPlan,
    TrialLine,
    sample_back,
)
from rampart.research.rounds import (  # noqa: F401 - KILL_ENV, SearchStopped: the search's API
    KILL_ENV,
    ROUND,
    STEPS,
    Progress,
    SearchStopped,
    finished,
    pruner,
    quiet_optuna,
    run_rounds,
    sampler,
)
from rampart.research.storage import StorageSpec, open_storage
from rampart.research.trial import Backtest, BacktestResult

# -- running a fold ---------------------------------------------------------------------------


STALE = (
    "the search stopped (killed, or its worker died) while this trial ran; its setting runs "
    "again as a new trial"
)
UNKNOWN = "it failed without a reason recorded"
PRUNED = "stopped early: it trailed the median of the trials before it at a checkpoint"


def _fail_stale(study: Any) -> int:
    """Trials left RUNNING by a killed search: marked failed, saying why, so that they run
    again."""
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    storage = study._storage
    for trial in stale:
        with contextlib.suppress(Exception):  # another process finished it meanwhile
            storage.set_trial_user_attr(trial._trial_id, "failed", STALE)
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    return len(stale)


def _open_study(plan: SearchPlan, spec: StorageSpec, fold: Fold, storage: Any) -> Any:
    import optuna

    name = plan.fold_study(fold)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="maximize",
        load_if_exists=True,
        sampler=sampler(plan, 0),
        pruner=pruner(plan),
    )
    made = study.user_attrs.get("plan")
    if made is None:
        study.set_user_attr("plan", plan.identity())
    elif made != plan.identity():
        raise ConfigError(
            f"Study '{plan.study}' in {spec.describe()} was made with other settings (agent, "
            "objective, constraints, ranges or data); give a new --study name to search "
            "these, or the same settings to continue it."
        )
    return study


def _lines(study: Any, plan: SearchPlan) -> list[TrialLine]:
    out = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        state = t.state.name.lower()
        trades = int(attrs["trades"]) if "trades" in attrs else None
        drawdown = float(attrs["max_drawdown"]) if "max_drawdown" in attrs else None
        broken = "" if trades is None else plan.constraints.broken(drawdown or 0.0, trades)
        out.append(
            TrialLine(
                number=t.number,
                state=state,
                value=t.value,
                params=sample_back(t.params, plan.searched),
                feasible=trades is not None and not broken,
                why=_why(state, attrs, broken),
                trades=trades,
                max_drawdown=drawdown,
                shaped=str(attrs.get("shaped", "")),
            )
        )
    return out


def _why(state: str, attrs: dict[str, Any], broken: str) -> str:
    """Why a trial does not count, in words (empty for one that does)."""
    if state == "fail":
        return str(attrs.get("failed") or UNKNOWN)
    if state == "pruned":
        refused = attrs.get("refused")
        return f"refused by the agent: {refused}" if refused else PRUNED
    if state == "running":
        return "still running, or left running by a search that stopped"
    return f"breaks a constraint: {broken}" if broken else ""


def _best(lines: list[TrialLine]) -> TrialLine | None:
    done = [t for t in lines if t.state == "complete" and t.feasible and t.value is not None]
    if not done:
        return None
    return max(done, key=lambda t: (t.value, -t.number))


def _importances(study: Any) -> dict[str, float]:
    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "quantiles select the same trials": few trials
            found = optuna.importance.get_param_importances(
                study, evaluator=PedAnovaImportanceEvaluator()
            )
    except (RuntimeError, ValueError):
        return {}  # too few complete trials, or a single value searched
    return {k: float(v) for k, v in found.items()}


def _scored(plan: SearchPlan, result: BacktestResult) -> Scored:
    return Scored(
        perf=figures(result, plan.period_ms),
        curve=result.curve,
        trades=result.trades,
        fees=result.fees,
    )


def run_fold(
    plan: SearchPlan,
    spec: StorageSpec,
    fold: Fold,
    backtest: Backtest,
    progress: Progress | None = None,
) -> FoldOutcome:
    """Search one fold (or continue its search), then score its best setting out-of-sample."""
    from optuna.trial import TrialState

    quiet_optuna()
    storage = open_storage(spec)
    study = _open_study(plan, spec, fold, storage)
    _fail_stale(study)
    remaining = plan.trials - finished(study)
    if progress is not None:
        progress(fold.index, plan.trials - max(remaining, 0), plan.trials)
    if remaining > 0:
        run_rounds(plan, spec, fold, backtest, remaining, study, progress)
    lines = _lines(study, plan)
    best = _best(lines)
    if plan.parts:
        return _pooled_outcome(plan, fold, backtest, study, lines, best)
    returns: dict[int, list[float]] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        values = t.user_attrs.get("values") or []
        returns[t.number] = [b / a - 1.0 for a, b in itertools.pairwise(values) if a > 0]
    in_sample = out_sample = None
    if best is not None:
        frozen = study.trials[best.number]
        values = frozen.user_attrs["values"]
        t0 = int(frozen.user_attrs["t0"])
        period = plan.period_ms
        curve = tuple(((t0 // period + i) * period + period - 1, v) for i, v in enumerate(values))
        in_sample = Scored(
            perf=performance(curve, period, drawdown=float(frozen.user_attrs["max_drawdown"])),
            curve=curve,
            trades=int(frozen.user_attrs["trades"]),
            fees=float(frozen.user_attrs["fees"]),
        )
        saved = study.user_attrs.get("oos")
        if saved is not None and saved.get("trial") == best.number:
            out_sample = Scored.from_dict(saved)
        else:
            params = {**plan.fixed, **sample_back(frozen.params, plan.searched)}
            out_sample = _scored(plan, backtest(params, fold.out_of_sample))
            study.set_user_attr("oos", {"trial": best.number, **out_sample.to_dict()})
    return FoldOutcome(
        fold=fold,
        trials=tuple(lines),
        best=best,
        in_sample=in_sample,
        out_of_sample=out_sample,
        returns=returns,
        importances=_importances(study),
    )


def _pooled_outcome(
    plan: SearchPlan,
    fold: Fold,
    backtest: Backtest,
    study: Any,
    lines: list[TrialLine],
    best: TrialLine | None,
) -> FoldOutcome:
    """A fold of a study over several files (:mod:`rampart.research.pooled`)."""
    from optuna.trial import TrialState

    files = len(plan.parts)
    returns: dict[int, list[float]] = {}
    by_file: list[dict[int, list[float]]] = [{} for _ in range(files)]
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        each, whole = pooled.trial_returns(t.user_attrs, files)
        if not whole:
            continue
        returns[t.number] = [r for part in each for r in part]
        for index, part in enumerate(each):
            by_file[index][t.number] = part
    per_file: list[tuple[str, Scored | None, Scored | None]] = [
        (name, None, None) for name, _ in plan.parts
    ]
    if best is not None:
        frozen = study.trials[best.number]
        ins = pooled.in_sample(frozen.user_attrs, plan.period_ms)
        saved = study.user_attrs.get("oos")
        if saved is not None and saved.get("trial") == best.number:
            outs = [Scored.from_dict(p) for p in saved["parts"]]
        else:
            params = {**plan.fixed, **sample_back(frozen.params, plan.searched)}
            outs = pooled.out_of_sample(plan, fold, cast(pooled.PooledBacktest, backtest), params)
            study.set_user_attr("oos", {"trial": best.number, "parts": [o.to_dict() for o in outs]})
        per_file = [(name, i, o) for (name, _), i, o in zip(plan.parts, ins, outs, strict=True)]
    return FoldOutcome(
        fold=fold,
        trials=tuple(lines),
        best=best,
        in_sample=None,
        out_of_sample=None,
        returns=returns,
        importances=_importances(study),
        per_file=tuple(per_file),
        file_returns=tuple(by_file),
    )


def run_search(
    plan: SearchPlan,
    spec: StorageSpec,
    backtest: Backtest,
    progress: Progress | None = None,
) -> list[FoldOutcome]:
    """Every fold, oldest first."""
    require("research", "optuna")
    if plan.trials < 1:
        raise ConfigError(f"--trials must be at least 1; got {plan.trials}.")
    if plan.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1; got {plan.jobs}.")
    return [run_fold(plan, spec, fold, backtest, progress) for fold in plan.folds]
