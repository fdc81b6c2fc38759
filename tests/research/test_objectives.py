"""Each objective and constraint, and the search choosing only settings that keep to the
constraints (a quick stand-in backtest: the engine runs in test_search_engine.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from rampart.agents.registry import agent_space
from rampart.domain.errors import ConfigError
from rampart.domain.performance import HOUR_MS, YEAR_MS, performance
from rampart.research.folds import walk_forward
from rampart.research.objectives import OBJECTIVES, Constraints, check_objective, figures, score
from rampart.research.plan import SearchPlan
from rampart.research.search import run_search
from rampart.research.storage import StorageSpec
from rampart.research.trial import BacktestResult, Report, Span

CURVE = tuple((i * HOUR_MS, v) for i, v in enumerate([100.0, 103.0, 101.0, 106.0, 104.0, 110.0]))


def result(
    curve: tuple[tuple[int, float], ...] = CURVE, dd: float = 0.05, trades: int = 4
) -> BacktestResult:
    return BacktestResult(curve, dd, trades, 0.1, curve[0][1], curve[-1][1], len(curve))


@pytest.mark.parametrize("name", OBJECTIVES)
def test_each_objective_reads_its_figure(name: str) -> None:
    perf = figures(result(), HOUR_MS)
    expected = {
        "profit": 0.10,
        "sharpe": perf.sharpe,
        "sortino": perf.sortino,
        "calmar": perf.calmar,
    }[name]
    assert score(name, perf) == pytest.approx(expected)
    assert perf.max_drawdown == 0.05  # the finer, per-candle drawdown is the one used
    years = 5 * HOUR_MS / YEAR_MS
    assert perf.calmar == pytest.approx((1.1 ** (1 / years) - 1) / 0.05)


def test_a_ratio_that_does_not_exist_scores_zero() -> None:
    flat = ((0, 1.0), (HOUR_MS, 1.0), (2 * HOUR_MS, 1.0))
    perf = performance(flat, HOUR_MS)
    for name in ("sharpe", "sortino", "calmar"):
        assert score(name, perf) == 0.0
    with pytest.raises(ConfigError, match="--objective must be one of sharpe, sortino"):
        check_objective("winrate")


def test_constraints_are_at_most_zero_when_they_hold() -> None:
    c = Constraints(max_drawdown=0.2, min_trades=5)
    assert c.values(0.1, 7) == pytest.approx([-0.1, -2.0]) and c.holds(0.1, 7)
    assert not c.holds(0.25, 7)  # too deep a drawdown
    assert not c.holds(0.1, 4)  # too few trades
    assert Constraints().holds(0.99, 0)
    assert c.describe() == "max drawdown at most 20%, at least 5 trades"
    with pytest.raises(ConfigError, match="--max-drawdown"):
        Constraints(max_drawdown=0.0)


class Stand:
    """Equity grows with ``fast``; the drawdown is fast/100, trades ``slow``."""

    def __call__(
        self, params: Mapping[str, Any], span: Span, report: Report | None = None, steps: int = 0
    ) -> BacktestResult:
        fast, slow = int(params["fast"]), int(params["slow"])
        n = max(4, span.traded // 12)
        curve = tuple(
            (
                span.start * 300_000 + i * HOUR_MS,
                1.0 + i * fast * 1e-4 * (1 + 0.3 * math.sin(i + slow)),
            )
            for i in range(n)
        )
        return BacktestResult(curve, fast / 100, slow, 0.0, 1.0, curve[-1][1], span.traded)


def plan(constraints: Constraints, objective: str = "profit") -> SearchPlan:
    space = agent_space("trend")
    return SearchPlan(
        study=f"stand-{objective}",
        agent="trend",
        objective=objective,
        constraints=constraints,
        trials=15,
        jobs=1,
        seed=5,
        prune=False,
        folds=tuple(walk_forward(1400, 2)),
        searched=(space.get("fast"), space.get("slow")),  # type: ignore[arg-type]
        fixed={},
        period_ms=HOUR_MS,
        data="stand-in",
    )


def test_the_best_setting_keeps_to_the_constraints(tmp_path: Path) -> None:
    spec = StorageSpec("journal", str(tmp_path / "s.log"))
    free = run_search(plan(Constraints()), spec, Stand())
    bound = run_search(
        plan(Constraints(max_drawdown=0.2, min_trades=40)),
        StorageSpec("journal", str(tmp_path / "b.log")),
        Stand(),
    )
    for fold in free:
        assert fold.best is not None
        # unconstrained, the highest fast wins (profit grows with it)
        done = [t for t in fold.trials if t.state == "complete"]
        assert fold.best.value == max(t.value for t in done)  # type: ignore[type-var]
    for fold in bound:
        assert fold.best is not None
        assert fold.best.params["fast"] <= 20 and fold.best.params["slow"] >= 40
        infeasible = [t for t in fold.trials if t.state == "complete" and not t.feasible]
        assert infeasible, "the sampler tried settings outside the constraints"
        assert all(
            t.value <= fold.best.value or not t.feasible for t in fold.trials if t.value is not None
        )  # type: ignore[operator]
        assert fold.out_of_sample is not None  # the chosen one was scored on the next block
