"""Every trial that fails says why in the trial table: one whose backtest raised, one whose
objective came out as not a number (which Optuna fails without a word; the objective is
made NaN for one loss here) and one whose figures
could not be recorded. The backtest is a stand-in keyed by the planted agent's seed, so each
way of failing is one setting, and the search goes on past them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from rampart.config import load_settings
from rampart.domain.performance import Performance
from rampart.research import rounds
from rampart.research.search import UNKNOWN, run_search
from rampart.research.storage import StorageSpec
from rampart.research.trial import BacktestResult, Report, Span
from tests.research.helpers import SHORT, engine_search, planted  # noqa: F401

DAY = 86_400_000


class Unlucky:
    """A flat result for every seed, but these three."""

    def __call__(
        self, params: Mapping[str, Any], span: Span, report: Report | None = None, steps: int = 0
    ) -> BacktestResult:
        kind = params["seed"] % 4
        if kind == 1:
            raise ValueError("the data ran out")
        curve = ((0, 100.0), (DAY, 101.0), (2 * DAY, 100.5))
        if kind == 2:  # a loss of 3 %, which the objective below makes NaN
            curve = ((0, 100.0), (DAY, 101.0), (2 * DAY, 97.0))
        trades: Any = 2 if kind != 3 else object()  # figures the study cannot store
        return BacktestResult(curve, 0.01, trades, 0.0, 100.0, curve[-1][1], span.traded)


def test_every_failed_trial_says_why(
    shared_data: Path,
    tmp_path: Path,
    planted: None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = rounds.score

    def score(name: str, perf: Performance) -> float:
        # An objective that is not a number (a ratio of figures that do not exist).
        return math.nan if round(perf.profit, 6) == -0.03 else real(name, perf)

    monkeypatch.setattr(rounds, "score", score)
    plan, _, _ = engine_search(
        shared_data / SHORT,
        load_settings(None),
        agent="noise",
        trials=12,
        seed=5,
        objective="profit",
    )
    [fold] = run_search(plan, StorageSpec("journal", str(tmp_path / "j.log")), Unlucky())
    why = {t.params["seed"] % 4: t.why for t in fold.trials if t.state == "fail"}
    assert why.get(1) == "the trial raised ValueError: the data ran out", why
    assert why.get(2, "").startswith("its objective came out as not a number (NaN"), why
    assert why.get(3, "").startswith("its figures could not be recorded: "), why
    assert all(t.why and t.why != UNKNOWN for t in fold.trials if t.state == "fail")
    assert any(t.state == "complete" for t in fold.trials)
