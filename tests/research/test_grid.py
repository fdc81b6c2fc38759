"""``rampart optimize --grid``: every setting of a whole-number, listed or stepped space traded
once per fold, in a fixed order, with the same folds and overfitting figures as the sampler's
search; a resumed grid trades only what it had not; every trial that did not count says why."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rampart.agents.registry import agent_space
from rampart.agents.space import choice_param, decimal_param, float_param, int_param
from rampart.cli.main import app
from rampart.config import load_settings
from rampart.domain.errors import ConfigError
from rampart.research.analysis import analyse
from rampart.research.folds import walk_forward
from rampart.research.grid import GRID_LIMIT, grid_points, key, values_of
from rampart.research.plan import sample_back
from rampart.research.search import run_search
from rampart.research.storage import StorageSpec, open_storage
from rampart.research.trial_table import not_counted, to_csv
from tests.research.helpers import SHORT, engine_search

runner = CliRunner()
HELD = {"atr_period": 14, "atr_k": 2.0, "target_rr": Decimal("2.0")}
"""Trend's parameters held while its EMA pair is searched."""
HOLD = ("--fix", "atr_period=14", "--fix", "atr_k=2", "--fix", "target_rr=2")


def _trend_pair(fast: tuple[int, int], slow: tuple[int, int]) -> tuple[Any, ...]:
    space = {p.name: p for p in agent_space("trend")}
    return (
        replace(space["fast"], low=fast[0], high=fast[1]),
        replace(space["slow"], low=slow[0], high=slow[1]),
    )


def test_trends_ema_pair_is_every_slow_above_every_fast() -> None:
    pair = _trend_pair((2, 50), (3, 200))
    points = grid_points(pair, HELD)
    assert len(points) == 8_526  # sum over fast 2..50 of the slows above it up to 200
    assert all(p["slow"] > p["fast"] for p in points)
    assert len({(p["fast"], p["slow"]) for p in points}) == 8_526
    assert points[0] == {"fast": 2, "slow": 3} and points[-1] == {"fast": 50, "slow": 200}
    # A held fast counts as well: slow above it only.
    assert {p["slow"] for p in grid_points(pair[1:], {"fast": 190})} == set(range(191, 201))


def test_listed_and_stepped_values_in_their_own_types() -> None:
    assert values_of(choice_param("mode", "a", ("a", "b", "c"))) == ["a", "b", "c"]
    assert values_of(int_param("n", 3, 2, 5)) == [2, 3, 4, 5]
    assert values_of(float_param("k", 1.0, 0.5, 1.0, step=0.1)) == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    rr = values_of(decimal_param("rr", "2", 1.0, 1.5, 0.25))
    assert rr == [Decimal("1"), Decimal("1.25"), Decimal("1.5")]
    assert all(isinstance(v, Decimal) for v in rr)


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ((float_param("k", 1.0, 0.5, 2.0),), "'k' (a number from 0.5 to 2) has no step"),
        (
            (int_param("a", 1, 1, 1000), int_param("b", 1, 1, 1000, above="a")),
            f"up to 1,000,000 settings in each fold, more than the {GRID_LIMIT:,} a grid may",
        ),
        (
            (int_param("a", 1, 1, 400), int_param("b", 1, 1, 400)),
            f"160,000 settings in each fold, more than the {GRID_LIMIT:,}",
        ),
        (
            (int_param("a", 1, 1, 460), int_param("b", 1, 1, 460, above="a")),
            f"105,570 settings in each fold, more than the {GRID_LIMIT:,}",
        ),
        (
            (int_param("fast", 1, 10, 20), int_param("slow", 2, 3, 9, above="fast")),
            "no setting to trade",
        ),
    ],
)
def test_a_grid_it_cannot_trade_is_refused_in_a_sentence(
    params: tuple[Any, ...], said: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        grid_points(params, {})
    assert said in refused.value.message


def test_a_stored_trials_setting_is_known_as_the_grids() -> None:
    """Optuna keeps a decimal as a float: read back, the setting is the same grid point."""
    rr = decimal_param("target_rr", "2", 1.0, 3.0, 0.1)
    point = {"target_rr": Decimal("1.3")}
    stored = sample_back({"target_rr": 1.3000000000000003}, (rr,))
    assert key(stored, (rr,)) == key(point, (rr,))


def _grid_plan(short: Path, fast: tuple[int, int] = (5, 6)) -> tuple[Any, Any, Any]:
    """Trend's EMA pair on a grid of fast × slow 8..9, one fold over the file's first 240
    candles (180 in-sample): few and short trials."""
    settings = load_settings(None)
    plan, backtest, closes = engine_search(short, settings, fixed=dict(HELD), trials=1)
    pair = _trend_pair(fast, (8, 9))
    points = grid_points(pair, HELD)
    plan = replace(
        plan,
        searched=pair,
        grid=points,
        trials=len(points),
        prune=False,
        seed=None,
        folds=tuple(walk_forward(240, 1)),
    )
    return plan, backtest, closes[:240]


def test_a_grid_trades_every_setting_once_and_picks_the_best_of_all(
    shared_data: Path, tmp_path: Path
) -> None:
    plan, backtest, _ = _grid_plan(shared_data / SHORT)
    assert plan.trials == 4
    spec = StorageSpec("journal", str(tmp_path / "j.log"))
    [outcome] = run_search(plan, spec, backtest)
    traded = [(t.params["fast"], t.params["slow"]) for t in outcome.trials]
    assert traded == [(5, 8), (5, 9), (6, 8), (6, 9)]  # each once, in order
    assert all(t.state == "complete" for t in outcome.trials)
    best = max((t for t in outcome.trials if t.feasible), key=lambda t: (t.value, -t.number))
    assert outcome.best == best
    # The returns PBO is measured over: every setting's, none left out by a pruner.
    assert sorted(outcome.returns) == [t.number for t in outcome.trials]
    assert "every one of 4 settings" in plan.searcher
    # Run again: the study holds every setting, so nothing is traded twice.
    calls: list[dict[str, Any]] = []

    def counting(params: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(params)
        return backtest(params, *args, **kwargs)

    [again] = run_search(plan, spec, counting)  # type: ignore[arg-type]
    assert calls == [] and [t.params for t in again.trials] == [t.params for t in outcome.trials]


def test_a_resumed_grid_trades_only_what_it_had_not(shared_data: Path, tmp_path: Path) -> None:
    plan, backtest, _ = _grid_plan(shared_data / SHORT, fast=(5, 7))
    spec = StorageSpec("journal", str(tmp_path / "j.log"))
    first = replace(plan, trials=3)  # a search stopped after three settings
    run_search(first, spec, backtest)
    searched: list[tuple[int, int]] = []

    def counting(params: dict[str, Any], span: Any, *args: Any, **kwargs: Any) -> Any:
        if span == plan.folds[0].in_sample:
            searched.append((params["fast"], params["slow"]))
        return backtest(params, span, *args, **kwargs)

    [outcome] = run_search(plan, spec, counting)  # type: ignore[arg-type]
    assert searched == [(6, 9), (7, 8), (7, 9)]
    assert len(outcome.trials) == 6


def test_a_trial_that_raises_fails_alone_and_says_why(shared_data: Path, tmp_path: Path) -> None:
    plan, backtest, closes = _grid_plan(shared_data / SHORT)

    def breaking(params: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if params["slow"] == 9:
            raise ZeroDivisionError("a period of 9 divides by zero")
        return backtest(params, *args, **kwargs)

    spec = StorageSpec("journal", str(tmp_path / "j.log"))
    [outcome] = run_search(plan, spec, breaking)  # type: ignore[arg-type]
    failed = [t for t in outcome.trials if t.state == "fail"]
    assert [t.params["slow"] for t in failed] == [9, 9]
    assert {t.why for t in failed} == {
        "the trial raised ZeroDivisionError: a period of 9 divides by zero"
    }
    assert sum(t.state == "complete" for t in outcome.trials) == 2 and outcome.best is not None
    found = analyse(plan, [outcome], closes, 0.001)
    table = to_csv(found).splitlines()
    assert table[0] == "fold,trial,state,value,trades,max_drawdown,fast,slow,shaped_by,why"
    assert sum(",fail,,,,6,9,,the trial raised ZeroDivisionError" in r for r in table) == 1
    section = "\n".join(not_counted(found))
    assert "| 1 | 1 | fail | fast=5, slow=9 | the trial raised ZeroDivisionError" in section


def test_a_killed_searchs_trials_say_so(shared_data: Path, tmp_path: Path) -> None:
    """A trial left running by a search that was killed is failed on resume, with the reason."""
    import optuna

    from rampart.research.search import STALE, _fail_stale

    storage = open_storage(StorageSpec("journal", str(tmp_path / "j.log")))
    study = optuna.create_study(storage=storage, study_name="s")
    study.ask()  # running when the process died
    assert _fail_stale(study) == 1
    [trial] = study.get_trials()
    assert trial.state.name == "FAIL" and trial.user_attrs["failed"] == STALE


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--grid", "--trials", "5"], "--grid trades every setting: leave out --trials."),
        (["--grid", "--prune"], "leave out --prune"),
        (["--grid"], "more than the 100,000 a grid may"),
        (
            [*("--grid", "--range", "fast=30:40", "--range", "slow=3:20"), *HOLD],
            "no setting to trade",
        ),
    ],
)
def test_grid_bad_input_is_one_sentence(
    shared_data: Path, tmp_path: Path, extra: list[str], said: str
) -> None:
    config = tmp_path / "r.yaml"
    config.write_text(f"store:\n  url: sqlite:///{tmp_path / 'r.db'}\n")
    done = runner.invoke(
        app, ["optimize", "--data", str(shared_data / SHORT), "--config", str(config), *extra]
    )
    assert done.exit_code == 2, done.output
    assert said in " ".join(done.output.split()), done.output
    assert not (tmp_path / "r.optuna.log").exists()


def test_the_command_plans_a_grid_with_every_setting_and_no_pruning(shared_data: Path) -> None:
    from rampart.cli.optimize import _prepare

    plan, *_ = _prepare(
        load_settings(None),
        [shared_data / SHORT],
        "trend",
        "sharpe",
        (None, True),
        1,
        3,
        1,
        None,
        None,
        None,
        0,
        list(HOLD[1::2]),
        ["fast=5:6", "slow=8:9"],
        "moderate",
        Decimal(10_000),
        None,
        [],
    )
    assert plan.trials == 4 and not plan.prune
    assert [(p["fast"], p["slow"]) for p in plan.grid] == [(5, 8), (5, 9), (6, 8), (6, 9)]
    assert plan.identity()["grid"] == 4  # a grid's study is not resumed as a sampler's
    assert plan.study == "trend-XRP_ETH-5m-sharpe-grid"
    sampled, *_ = _prepare(
        load_settings(None), [shared_data / SHORT], "trend", "sharpe", (None, False), 1, 3, 1,
        None, None, None, 0, [], [], "moderate", Decimal(10_000), None, [],
    )  # fmt: skip
    assert (sampled.trials, sampled.prune, sampled.grid) == (100, True, ())
    assert "grid" not in sampled.identity() and sampled.study == "trend-XRP_ETH-5m-sharpe"


def test_each_trial_that_does_not_count_says_why() -> None:
    from rampart.research.objectives import Constraints
    from rampart.research.search import PRUNED, UNKNOWN, _why

    limits = Constraints(max_drawdown=0.15, min_trades=5)
    assert _why("complete", {}, limits.broken(0.1, 5)) == ""
    assert _why("complete", {}, limits.broken(0.2, 5)) == (
        "breaks a constraint: a max drawdown of 20.0%, above 15%"
    )
    assert _why("complete", {}, limits.broken(0.15, 4)) == (
        "breaks a constraint: 4 closed trades, fewer than 5"
    )
    assert (
        limits.broken(0.3, 1)
        == "a max drawdown of 30.0%, above 15% and 1 closed trades, fewer than 5"
    )
    assert _why("pruned", {"refused": "fast must be below slow."}, "") == (
        "refused by the agent: fast must be below slow."
    )
    assert _why("pruned", {}, "") == PRUNED
    assert _why("fail", {"failed": "the trial raised ValueError: x"}, "") == (
        "the trial raised ValueError: x"
    )
    assert _why("fail", {}, "") == UNKNOWN
    assert _why("running", {}, "").startswith("still running")
