"""No sentence flatters noise: where PBO is above 0.3 or the deflated Sharpe below
0.95, the verdict leads with "not distinguishable from luck" and prints no comparison that
reads as a pass — on a seed-42 random walk the report once printed an out-of-sample Sharpe of
+6.05 and "it beats holding by the 0.3 the launch asks" beside a deflated Sharpe of 0.03.
``rampart optimize`` runs the lookahead and warm-up checks on its chosen setting before it
reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.domain.performance import LAUNCH_MARGIN, Comparison, Performance
from rampart.research.analysis import CheckOutcome, _verdict, analyse, with_checks
from rampart.research.objectives import Constraints
from rampart.research.plan import SearchPlan

runner = CliRunner()
FLATTERY = ("beats holding", "the launch asks", "is the result", "It passes these checks")


def _perf(profit: float, sharpe: float) -> Performance:
    return Performance(profit, sharpe, sharpe, None, 0.02, 500, 300_000)


PLAN = SearchPlan(
    study="rw",
    agent="trend",
    objective="sharpe",
    constraints=Constraints(),
    trials=100,
    jobs=1,
    seed=42,
    prune=False,
    folds=(),
    searched=(),
    fixed={},
    period_ms=300_000,
    data="a random walk",
)
# What the random walk printed: a Sharpe that beats holding by far more than the margin.
LUCKY = Comparison(_perf(0.04, 6.05), _perf(-0.01, -1.2), LAUNCH_MARGIN)


@pytest.mark.parametrize(("pbo", "dsr"), [(0.54, 0.03), (0.1, 0.5), (0.54, 0.99), (None, 0.99)])
def test_luck_leads_and_no_comparison_reads_as_a_pass(pbo: float | None, dsr: float) -> None:
    assert LUCKY.beats is True
    lines, launchable = _verdict(PLAN, (), LUCKY, pbo, dsr, 0.3, 0.95)
    assert not launchable
    assert lines[0].startswith("Not distinguishable from luck: ")
    assert not [line for line in lines if any(f in line for f in FLATTERY)], lines
    assert "no comparison with buy-and-hold is drawn" in " ".join(lines)
    assert lines[-1].startswith("Do not launch it:")


def test_a_search_told_apart_from_luck_keeps_its_comparison() -> None:
    lines, launchable = _verdict(PLAN, (), LUCKY, 0.1, 0.97, 0.3, 0.95)
    assert launchable and not any("Not distinguishable" in line for line in lines)
    assert LUCKY.sentence() in lines  # "... it beats holding by the 0.3 the launch asks."
    assert "the out-of-sample figure is the result" in lines[0]


def test_a_failed_check_is_a_reason_not_to_launch() -> None:
    good = analyse(PLAN, (), [], 0.001)
    passed = CheckOutcome("lookahead", True, "No lookahead.")
    failed = CheckOutcome("warm-up", False, "Not settled.")
    checked = with_checks(good, (passed, failed))
    assert not checked.launchable
    assert checked.verdict[-1].endswith("; its warm-up check failed.")
    assert "The chosen setting's warm-up check FAILED: Not settled." in checked.verdict
    assert checked.evidence()["checks"][1] == {
        "check": "warm-up",
        "ok": False,
        "sentence": "Not settled.",
    }


def random_walk(path: Path, n: int = 1_500) -> Path:
    """``n`` 5-minute candles of a seed-42 geometric random walk: no strategy has an edge."""
    rng = np.random.default_rng(42)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0, 0.004, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    wick = np.abs(rng.normal(0.0, 0.002, (2, n)))
    table = pa.table(
        {
            "date": pa.array(
                1_699_999_800_000 + 300_000 * np.arange(n), type=pa.timestamp("ms", tz="UTC")
            ),
            "open": np.round(open_, 4),
            "high": np.round(np.maximum(open_, close) * (1 + wick[0]), 4),
            "low": np.round(np.minimum(open_, close) * (1 - wick[1]), 4),
            "close": np.round(close, 4),
            "volume": rng.uniform(5.0, 50.0, n),
        }
    )
    feather.write_feather(table, path)
    return path


def test_a_random_walk_study_prints_no_passing_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = random_walk(tmp_path / "RW_USDT-5m.feather", 2_000)
    config = tmp_path / "rampart.yaml"
    config.write_text(f"store:\n  url: sqlite:///{tmp_path / 'rampart.db'}\n")
    out = tmp_path / "out"
    args = ["optimize", "--data", str(data), "--trials", "8", "--folds", "2", "--jobs", "1"]
    args += ["--seed", "42", "--out", str(out), "--config", str(config)]
    # Short indicators, so every setting trades the noise and has figures to flatter.
    args += ["--range", "slow=10:40", "--range", "atr_period=5:20"]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    evidence = json.loads((out / "evidence.json").read_text())
    assert evidence["luck"] is True and evidence["launchable"] is False
    assert evidence["oos_sharpe"] is not None and evidence["buy_and_hold_sharpe"] is not None
    report = (out / "report.md").read_text()
    for text in (done.output, report):
        assert not [f for f in FLATTERY if f in text], text
    verdict = report.split("## Verdict\n\n", 1)[1]
    assert verdict.startswith("- Not distinguishable from luck: ")
    assert "Not distinguishable from luck (see the verdict)" in report
    # The checks ran on the chosen setting before the report, and are in its evidence.
    assert [(c["check"], c["ok"]) for c in evidence["checks"]] == [
        ("lookahead", True),
        ("warm-up", True),
    ]
    assert "The chosen setting's lookahead check passed" in report
