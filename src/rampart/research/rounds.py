"""Running a fold's trials: one trial through the backtest, and the rounds that make a seeded
search the same with any number of worker processes.

Trials run in rounds of :data:`ROUND`. This process asks the sampler for a round's settings and
hands them to ``jobs`` forked worker processes (each inherits the loaded candles, and opens the
study's storage for itself), or trades them here with one job; the results are told back in
trial order. Rounds overlap by one: round ``r`` is asked as soon as round ``r - 2`` is told,
while round ``r - 1`` is still being traded, so the workers always have the next round queued
and never wait on the sampler. A round's settings, and its pruning, see exactly the trials of
rounds up to ``r - 2`` — never a trial whose result depends on which worker finished first — so
with ``--seed`` the trials, their results and the best setting are the same whatever the
number of jobs. (Optuna's own parallel mode, each worker sampling as trials finish, depends on
the order they finish in.)
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

from rampart.agents.registry import make_agent
from rampart.domain.errors import ConfigError, RampartError
from rampart.domain.performance import per_period
from rampart.research import pooled
from rampart.research.folds import Fold
from rampart.research.grid import GridCursor, key
from rampart.research.objectives import figures, partial_score, score
from rampart.research.plan import SearchPlan, sample, sample_back
from rampart.research.storage import StorageSpec, open_storage
from rampart.research.trial import Backtest, BacktestResult

STEPS = 8
"""Times a trial reports its objective to the pruner on the way."""
ROUND = 8
"""Trials asked of the sampler at once and told back together."""
KILL_ENV = "RAMPART_FAULT_KILL_AT_TRIAL"
"""Fault injection for the resume test: SIGKILL this process after that many trials of its own."""

Progress = Callable[[int, int, int], None]
"""(fold index, trials finished, trials wanted)."""


class SearchStopped(RampartError):
    """Ctrl-C or SIGTERM stopped the search; what was done is in the storage."""


# -- one trial ------------------------------------------------------------------------------


def _rounded(values: list[float]) -> list[float]:
    return [float(f"{v:.10g}") for v in values]


_killed_after = [0]
"""Trials this process has run (the fault injection of ``KILL_ENV`` counts them)."""


class _Before:
    """A study as the pruner of a round sees it: only the trials numbered below ``cutoff``
    (the rounds told before the round was asked)."""

    def __init__(self, study: Any, cutoff: int) -> None:
        self._study = study
        self._cutoff = cutoff

    def get_trials(self, deepcopy: bool = True, states: Any = None) -> list[Any]:
        found = self._study.get_trials(deepcopy=deepcopy, states=states)
        return [t for t in found if t.number < self._cutoff]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)


def _prune_check(trial: Any, cutoff: int) -> Callable[[], bool]:
    def stop() -> bool:
        study = trial.study
        # The trial's latest reported values (what Trial.should_prune reads).
        return bool(study.pruner.prune(_Before(study, cutoff), trial._get_latest_trial()))

    return stop


def evaluate(
    plan: SearchPlan,
    fold: Fold,
    backtest: Backtest,
    trial: Any,
    params: dict[str, Any],
    cutoff: int,
) -> tuple[Any, float | None]:
    """Trade ``params`` over the fold's in-sample span; the result and the objective's value
    (None when the pruner stopped it). ``trial`` (an Optuna trial of this process) takes the
    intermediate values the pruner compares with the trials numbered below ``cutoff``."""
    stop = _prune_check(trial, cutoff)
    if isinstance(backtest, pooled.PooledBacktest):
        both = pooled.evaluate(plan, fold, backtest, trial, params, stop)
        _count_for_kill()
        return both

    def report(step: int, curve: Any, drawdown: float, trades: int) -> bool:
        del trades
        trial.report(partial_score(plan.objective, curve, drawdown, plan.period_ms), step)
        return stop()

    result = backtest(
        params, fold.in_sample, report if plan.prune else None, STEPS if plan.prune else 0
    )
    _count_for_kill()
    if result.stopped:
        return result, None
    return result, score(plan.objective, figures(result, plan.period_ms))


def _count_for_kill() -> None:
    _killed_after[0] += 1
    kill_at = int(os.environ.get(KILL_ENV, "0") or 0)
    if kill_at and _killed_after[0] >= kill_at:
        os.kill(os.getpid(), signal.SIGKILL)


def record(trial: Any, result: Any, period_ms: int) -> None:
    if isinstance(result, pooled.PooledResult):
        values = [_rounded(per_period(r.curve, period_ms)) for r in result.results]
        for key, value in pooled.attrs(result, values).items():
            trial.set_user_attr(key, value)
        return
    assert isinstance(result, BacktestResult)  # noqa: S101 - the two kinds a backtest returns
    trial.set_user_attr("values", _rounded(per_period(result.curve, period_ms)))
    trial.set_user_attr("t0", result.curve[0][0])
    trial.set_user_attr("max_drawdown", result.max_drawdown)
    trial.set_user_attr("trades", result.trades)
    trial.set_user_attr("fees", result.fees)
    if result.shaped:
        trial.set_user_attr("shaped", result.shaped)


def _constraints(plan: SearchPlan) -> Callable[[Any], list[float]]:
    def values(trial: Any) -> list[float]:
        attrs = trial.user_attrs
        if "trades" not in attrs:
            return [1.0, 1.0]
        return plan.constraints.values(float(attrs["max_drawdown"]), int(attrs["trades"]))

    return values


def sampler(plan: SearchPlan, finished: int) -> Any:
    from optuna.samplers import TPESampler

    seed = None if plan.seed is None else plan.seed + 1_000 * finished
    return TPESampler(seed=seed, constraints_func=_constraints(plan))


def pruner(plan: SearchPlan) -> Any:
    from optuna.pruners import MedianPruner, NopPruner

    return MedianPruner(n_startup_trials=5, n_warmup_steps=1) if plan.prune else NopPruner()


def quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def finished(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


# -- the rounds -------------------------------------------------------------------------------

NOT_A_NUMBER = (
    "its objective came out as not a number (NaN: a ratio of figures that do not exist), so it "
    "cannot be ranked"
)
_WORK: dict[str, Any] = {}
"""What a forked worker inherits from the parent (the plan, the fold, the backtest with its
loaded candles): handed over by fork, never pickled."""


def _worker_trial(trial_id: int, params: dict[str, Any], cutoff: int) -> tuple[str, Any]:
    """In a worker process: one trial, its intermediate values reported to the shared storage.
    Returns ("ok", (result, value)) or ("error", sentence)."""
    import optuna

    plan, spec, fold, backtest = _WORK["plan"], _WORK["spec"], _WORK["fold"], _WORK["backtest"]
    try:
        study = _WORK.get("study")
        if study is None or _WORK.get("pid") != os.getpid():
            quiet_optuna()
            study = optuna.load_study(
                study_name=plan.fold_study(fold), storage=open_storage(spec), pruner=pruner(plan)
            )
            _WORK.update(study=study, pid=os.getpid())
        trial = optuna.trial.Trial(study, trial_id)
        return "ok", evaluate(plan, fold, backtest, trial, params, cutoff)
    except KeyboardInterrupt:
        return "stopped", None
    except Exception as err:
        return "error", _said(err)


def _said(err: Exception) -> str:
    """An exception a trial raised, in one line: its message for Rampart's own, else its type
    and text."""
    if isinstance(err, RampartError):
        return f"{type(err).__name__}: {err.message}"
    return f"{type(err).__name__}: {err}"


def _here(
    plan: SearchPlan,
    fold: Fold,
    backtest: Backtest,
    trial: Any,
    params: dict[str, Any],
    cutoff: int,
) -> tuple[str, Any]:
    """One trial in this process, its failure caught as a worker's is."""
    try:
        return "ok", evaluate(plan, fold, backtest, trial, params, cutoff)
    except Exception as err:
        return "error", _said(err)


def _tell(study: Any, trial: Any, kind: str, answer: Any, period_ms: int) -> None:
    """A trial's outcome into its study: its value, pruned, or failed saying why. A failure
    fails that setting alone and the search goes on (a resumed search tries it again); a
    stop (Ctrl-C in a worker) stops the search."""
    from optuna.trial import TrialState

    if kind == "stopped":
        raise KeyboardInterrupt
    if kind == "error":
        trial.set_user_attr("failed", f"the trial raised {answer}")
        study.tell(trial, state=TrialState.FAIL)
        return
    result, value = answer
    try:
        record(trial, result, period_ms)
    except Exception as err:  # figures the study cannot store: that trial fails, saying why
        trial.set_user_attr("failed", f"its figures could not be recorded: {_said(err)}")
        study.tell(trial, state=TrialState.FAIL)
        return
    if value is None:
        study.tell(trial, state=TrialState.PRUNED)
    elif math.isnan(value):
        # Optuna fails a NaN value without a word; the trial table says why.
        trial.set_user_attr("failed", NOT_A_NUMBER)
        study.tell(trial, state=TrialState.FAIL)
    else:
        study.tell(trial, value)


def _grid_cursor(plan: SearchPlan, study: Any) -> GridCursor | None:
    """For ``--grid``, the settings the study has not finished yet (None for the sampler)."""
    if not plan.grid:
        return None
    from optuna.trial import TrialState

    done = {
        key(sample_back(t.params, plan.searched), plan.searched)
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    }
    return GridCursor(plan.grid, plan.searched, done)


def run_rounds(
    plan: SearchPlan,
    spec: StorageSpec,
    fold: Fold,
    backtest: Backtest,
    remaining: int,
    study: Any,
    progress: Progress | None,
) -> None:
    """The ``remaining`` trials of ``fold``'s study, in overlapping rounds (module doc)."""
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from optuna.trial import TrialState

    study.sampler = sampler(plan, finished(study))
    cursor = _grid_cursor(plan, study)
    pool = None
    if plan.jobs > 1 and remaining > 1:
        _WORK.clear()
        _WORK.update(plan=plan, spec=spec, fold=fold, backtest=backtest)
        pool = ProcessPoolExecutor(
            max_workers=min(plan.jobs, remaining), mp_context=multiprocessing.get_context("fork")
        )
    to_ask = remaining
    starts: list[int] = []
    """The number of each round's first trial."""
    waiting: deque[list[tuple[Any, dict[str, Any], int, Future[Any] | None]]] = deque()

    def ask_round() -> None:
        nonlocal to_ask, remaining
        asked = []
        first = None
        for _ in range(min(ROUND, to_ask)):
            to_ask -= 1
            if cursor is not None:
                point = cursor.next()
                if point is None:  # every setting traded (the study held more than counted)
                    remaining -= 1
                    continue
                study.enqueue_trial(point, skip_if_exists=False)
            trial = study.ask()
            first = trial.number if first is None else first
            params = {**plan.fixed, **sample(trial, plan.searched, plan.fixed)}
            try:
                make_agent(plan.agent, params)
            except ConfigError as err:
                trial.set_user_attr("refused", err.message)
                study.tell(trial, state=TrialState.PRUNED)
                remaining -= 1
                continue
            asked.append((trial, params))
        starts.append(first if first is not None else len(study.trials))
        # Pruned against the rounds told before this one was asked: up to round r - 2.
        cutoff = starts[max(len(starts) - 2, 0)]
        waiting.append(
            [
                (
                    t,
                    p,
                    cutoff,
                    None if pool is None else pool.submit(_worker_trial, t._trial_id, p, cutoff),
                )
                for t, p in asked
            ]
        )

    try:
        ask_round()
        if to_ask > 0:
            ask_round()
        while waiting:
            for trial, params, cutoff, future in waiting.popleft():
                if future is None:
                    kind, answer = _here(plan, fold, backtest, trial, params, cutoff)
                else:
                    try:
                        kind, answer = future.result()
                    except BrokenProcessPool:
                        raise SearchStopped(
                            "A worker stopped before its trials were done."
                        ) from None
                _tell(study, trial, kind, answer, plan.period_ms)
                remaining -= 1
                if progress is not None:
                    progress(fold.index, plan.trials - remaining, plan.trials)
            if to_ask > 0:
                ask_round()
    except KeyboardInterrupt:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            pool = None
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        _WORK.clear()
