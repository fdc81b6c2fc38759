"""The walk-forward parameter search: one Optuna study per fold, searched in-sample, its best
setting scored out-of-sample.

Each fold's study (``<study>/fold-<k>``) uses Optuna's TPE sampler (constrained by
``--max-drawdown`` and ``--min-trades``) and its median pruner (a trial reports its objective
eight times on the way and stops early when it trails the median of the trials before). Trials
run in ``jobs`` worker processes, each opening the storage for itself and taking its share of
the trials still to run; with one job they run in this process. Every trial trades through
the :class:`~rampart.research.trial.Backtest` it is handed.

Resuming is running the same command again: a fold whose study holds its trials is not
searched again, a fold part-way continues where it stopped (trials that were running when the
search was killed are marked failed and run again), and an out-of-sample score already made
is read back.

Determinism: a trial's result depends only on its parameters and the candles (the engine runs
on simulated time, the paper venue has no randomness). With ``--seed`` and one job the whole
search is repeated exactly; with several jobs which parameters are tried depends on the order
trials finish in, but each trial's result for its parameters is the same.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import signal
import warnings
from collections.abc import Callable
from typing import Any

from rampart.agents.registry import make_agent
from rampart.domain.errors import ConfigError, RampartError
from rampart.domain.performance import per_period, performance
from rampart.extras import require
from rampart.research.folds import Fold
from rampart.research.objectives import figures, partial_score, score
from rampart.research.plan import (
    FoldOutcome,
    Scored,
    SearchPlan,
    TrialLine,
    sample,
    sample_back,
)
from rampart.research.storage import StorageSpec, open_storage
from rampart.research.trial import Backtest, BacktestResult

STEPS = 8
"""Times a trial reports its objective to the pruner on the way."""
KILL_ENV = "RAMPART_FAULT_KILL_AT_TRIAL"
"""Fault injection for the resume test: SIGKILL this process after that many trials of its own."""

Progress = Callable[[int, int, int], None]
"""(fold index, trials finished, trials wanted)."""


class SearchStopped(RampartError):
    """Ctrl-C or SIGTERM stopped the search; what was done is in the storage."""


# -- one trial ------------------------------------------------------------------------------


def _rounded(values: list[float]) -> list[float]:
    return [float(f"{v:.10g}") for v in values]


class _Objective:
    def __init__(self, plan: SearchPlan, fold: Fold, backtest: Backtest) -> None:
        self.plan = plan
        self.fold = fold
        self.backtest = backtest
        self.done = 0
        self.kill_at = int(os.environ.get(KILL_ENV, "0") or 0)

    def __call__(self, trial: Any) -> float:
        from optuna import TrialPruned

        plan = self.plan
        params = {**plan.fixed, **sample(trial, plan.searched, plan.fixed)}
        try:
            make_agent(plan.agent, params)
        except ConfigError as err:
            trial.set_user_attr("refused", err.message)
            raise TrialPruned(err.message) from None

        def report(step: int, curve: Any, drawdown: float, trades: int) -> bool:
            del trades
            trial.report(partial_score(plan.objective, curve, drawdown, plan.period_ms), step)
            return bool(trial.should_prune())

        result = self.backtest(
            params, self.fold.in_sample, report if plan.prune else None, STEPS if plan.prune else 0
        )
        self._record(trial, result)
        if result.stopped:
            raise TrialPruned(f"stopped after {result.candles:,} candles")
        return score(plan.objective, figures(result, plan.period_ms))

    def _record(self, trial: Any, result: BacktestResult) -> None:
        values = per_period(result.curve, self.plan.period_ms)
        trial.set_user_attr("values", _rounded(values))
        trial.set_user_attr("t0", result.curve[0][0])
        trial.set_user_attr("max_drawdown", result.max_drawdown)
        trial.set_user_attr("trades", result.trades)
        trial.set_user_attr("fees", result.fees)
        self.done += 1
        if self.kill_at and self.done >= self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


def _constraints(plan: SearchPlan) -> Callable[[Any], list[float]]:
    def values(trial: Any) -> list[float]:
        attrs = trial.user_attrs
        if "trades" not in attrs:
            return [1.0, 1.0]
        return plan.constraints.values(float(attrs["max_drawdown"]), int(attrs["trades"]))

    return values


def _sampler(plan: SearchPlan, worker: int, finished: int) -> Any:
    from optuna.samplers import TPESampler

    seed = None if plan.seed is None else plan.seed + 1_000 * finished + worker
    return TPESampler(seed=seed, constraints_func=_constraints(plan))


def _pruner(plan: SearchPlan) -> Any:
    from optuna.pruners import MedianPruner, NopPruner

    return MedianPruner(n_startup_trials=5, n_warmup_steps=1) if plan.prune else NopPruner()


# -- running a fold ---------------------------------------------------------------------------


def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def _finished(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def _fail_stale(study: Any) -> int:
    """Trials left RUNNING by a killed search: marked failed so that they run again."""
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        with contextlib.suppress(Exception):  # another process finished it meanwhile
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    return len(stale)


def _open_study(plan: SearchPlan, spec: StorageSpec, fold: Fold, storage: Any) -> Any:
    import optuna

    name = plan.fold_study(fold)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="maximize",
        load_if_exists=True,
        sampler=_sampler(plan, 0, 0),
        pruner=_pruner(plan),
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


def _work(
    plan: SearchPlan, spec: StorageSpec, fold: Fold, backtest: Backtest, n: int, worker: int
) -> None:
    import optuna

    _quiet_optuna()
    storage = open_storage(spec)
    name = plan.fold_study(fold)
    probe = optuna.load_study(study_name=name, storage=storage)
    study = optuna.load_study(
        study_name=name,
        storage=storage,
        sampler=_sampler(plan, worker, _finished(probe)),
        pruner=_pruner(plan),
    )
    study.optimize(_Objective(plan, fold, backtest), n_trials=n, gc_after_trial=False)


def _child(
    plan: SearchPlan,
    spec: StorageSpec,
    fold: Fold,
    backtest: Backtest,
    n: int,
    worker: int,
    errors: Any,
) -> None:
    # The parent says what stopped the search; a child only stops.
    try:
        _work(plan, spec, fold, backtest, n, worker)
    except KeyboardInterrupt:
        os._exit(130)
    except RampartError as err:
        errors.put(err.message)
        os._exit(1)
    except Exception as err:
        errors.put(f"{type(err).__name__}: {err}")
        os._exit(1)
    os._exit(0)


def _shares(remaining: int, jobs: int) -> list[int]:
    return [remaining // jobs + (1 if w < remaining % jobs else 0) for w in range(jobs)]


def _run_workers(
    plan: SearchPlan,
    spec: StorageSpec,
    fold: Fold,
    backtest: Backtest,
    remaining: int,
    study: Any,
    progress: Progress | None,
) -> None:
    ctx = multiprocessing.get_context("fork")
    errors = ctx.SimpleQueue()
    procs = [
        ctx.Process(
            target=_child,
            args=(plan, spec, fold, backtest, n, w, errors),
            name=f"rampart-optimize-{w}",
        )
        for w, n in enumerate(_shares(remaining, plan.jobs))
        if n > 0
    ]
    for proc in procs:
        proc.start()
    try:
        while any(p.is_alive() for p in procs):
            for proc in procs:
                proc.join(timeout=0.5)
            if progress is not None:
                progress(fold.index, _finished(study), plan.trials)
    except KeyboardInterrupt:
        for proc in procs:
            proc.join(timeout=30)
        raise
    for proc in procs:
        proc.join()
    failed = [p for p in procs if p.exitcode not in (0, None)]
    if failed:
        message = errors.get() if not errors.empty() else None
        if message is not None:
            raise RampartError(f"A trial of {plan.fold_study(fold)} failed: {message}")
        raise SearchStopped(f"{len(failed)} worker(s) stopped before their trials were done.")


def _lines(study: Any, plan: SearchPlan) -> list[TrialLine]:
    out = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        feasible = "trades" in attrs and plan.constraints.holds(
            float(attrs["max_drawdown"]), int(attrs["trades"])
        )
        out.append(
            TrialLine(
                number=t.number,
                state=t.state.name.lower(),
                value=t.value,
                params=sample_back(t.params, plan.searched),
                feasible=feasible,
            )
        )
    return out


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

    _quiet_optuna()
    storage = open_storage(spec)
    study = _open_study(plan, spec, fold, storage)
    _fail_stale(study)
    remaining = plan.trials - _finished(study)
    if progress is not None:
        progress(fold.index, plan.trials - max(remaining, 0), plan.trials)
    if remaining > 0:
        if plan.jobs == 1 or remaining == 1:
            _quiet_optuna()
            in_process = _Objective(plan, fold, backtest)
            resumed = _sampler(plan, 0, _finished(study))
            study.sampler = resumed

            def tick(s: Any, _t: Any) -> None:
                if progress is not None:
                    progress(fold.index, _finished(s), plan.trials)

            study.optimize(in_process, n_trials=remaining, callbacks=[tick], gc_after_trial=False)
        else:
            _run_workers(plan, spec, fold, backtest, remaining, study, progress)
    lines = _lines(study, plan)
    best = _best(lines)
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
