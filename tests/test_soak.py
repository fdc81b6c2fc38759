"""The soak harness: a short soak (2 simulated hours, 10 accounts, every fault kind, the
harness's own included: a fill racing a reconciliation, a position sold by hand while the engine
is stopped, a database outage) through the real command line passes every launch criterion; a
failing criterion exits non-zero."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.domain.errors import ConfigError
from rampart_testkit.simulator import FAULT_KINDS
from rampart_testkit.soak import SoakConfig, SoakStats, parse_duration
from rampart_testkit.soak import report as reports
from rampart_testkit.soak.chaos import (
    DB_OUTAGE,
    HAND_CLOSE,
    RECONCILE_RACE,
    SOAK_KINDS,
    FaultPlan,
    parse_faults,
)
from rampart_testkit.soak.faults import FaultChecks
from rampart_testkit.soak.stats import Latency

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_short_soak_with_every_fault_passes_every_launch_criterion(tmp_path: Path) -> None:
    out = tmp_path / "soak"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rampart.cli.main",
            "soak",
            "--duration",
            "2h",
            "--speed",
            "1000",
            "--accounts",
            "10",
            "--faults",
            "all",
            "--reconcile-every",
            "5m",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "soak-report.json").read_text())
    assert report["passed"]
    names = {c["name"]: c["pass"] for c in report["criteria"]}
    assert all(names.values()) and len(names) == 14
    for name in names:
        assert f"PASS  {name}" in done.stdout
    assert report["lost"]["total"] == 0 and report["duplicated"]["total"] == 0
    assert report["reconciliation"]["accuracy_pct"] == 100.0
    assert report["reconciliation"]["checks"] >= 3
    assert report["orders"] > 50 and report["fills"] > 30
    # Every trade on the exchange is a fill in the books, except coins bought by hand.
    hand_buys = report["harness_faults"]["hand_close"]["buy_trades"]
    assert report["fills"] + hand_buys == report["fills_on_exchange"]
    assert set(report["fault_episodes"]) == set(SOAK_KINDS)  # each kind met at least once
    assert report["run"]["restarts"] >= 1
    assert report["protection"]["unprotected"] == 0
    repairs = report["reconciliation"]["repairs"]
    assert repairs.get("position_adjusted", 0) == 0 and repairs.get("report_unexplained", 0) == 0
    faults = report["harness_faults"]
    race, hand, down = faults["reconcile_race"], faults["hand_close"], faults["db_outage"]
    # A protective fill landed inside a reconciliation's balance read and was booked as a fill.
    assert race["fills_inside_balance_read"] >= 1 and race["failures"] == []
    for kind in ("position_adjusted", "balance_adjusted", "holdings_apart"):
        assert race["repairs"].get(kind, 0) == 0, race
    # Each position sold by hand while the engine was stopped closed as one external trade.
    assert hand["closes"] >= 1 and hand["external_trades"] == hand["closes"]
    assert hand["held_apart"] == hand["buys"] and hand["failures"] == []
    assert repairs["external_fill_booked"] >= hand["closes"]
    # The store refused writes; entries were refused meanwhile and none was sent; afterwards
    # the store held a row for every order transition, fill and trade published.
    assert down["outages"] >= 1 and down["writes_refused"] >= 1
    assert down["entries_sent_while_down"] == 0 and down["failures"] == []
    assert down["store_checks"] >= 2 and down["store_checks_passed"] == down["store_checks"]
    md = (out / "soak-report.md").read_text()
    assert "| 100 % reconciliation accuracy |" in md and "Overall: PASS" in md


def _stats(**changes: object) -> SoakStats:
    stats = SoakStats(checks=3, checks_passed=3, rss_baseline_mb=100.0, rss_end_mb=100.5)
    stats.signal_latency.add(0.002)
    stats.order_latency.add(0.05)
    stats.faults_fired = Counter({"drop": 3, "latency": 2})
    for name, value in changes.items():
        setattr(stats, name, value)
    return stats


def test_each_criterion_fails_on_its_own_figure() -> None:
    config = SoakConfig(duration_s=3600, accounts=2)
    assert reports.build(config, _stats())["passed"]
    failing = {
        "Zero critical failures": _stats(crashes=["engine: boom"]),
        "100 % reconciliation accuracy": _stats(checks_passed=2),
        "Memory growth < 2 %": _stats(rss_end_mb=103.0),
        "Every fill explained by the exchange's trades": _stats(
            repairs=Counter({"position_adjusted": 1})
        ),
        "Fills racing a reconciliation booked as fills": _stats(
            fault_checks=FaultChecks(race_fills=1, race_failures=["repaired as balance_adjusted"])
        ),
        "Positions sold by hand closed as external trades": _stats(
            fault_checks=FaultChecks(hand_closes=2, hand_external_trades=1)
        ),
        "Database outages: nothing lost, no entry sent": _stats(
            fault_checks=FaultChecks(store_checks=2, store_checks_passed=1)
        ),
    }
    for name, stats in failing.items():
        verdict = {c.name: c.passed for c in reports.criteria(config, stats)}
        assert not verdict[name], name
    slow = _stats()
    slow.signal_latency = Latency()
    slow.signal_latency.add(0.2)
    slow.order_latency = Latency()
    slow.order_latency.add(1.5)
    verdict = {c.name: c.passed for c in reports.criteria(config, slow)}
    assert not verdict["Signal latency < 50 ms"]
    assert not verdict["Order execution < 800 ms on average"]


def test_the_soaks_own_record_of_the_run_is_not_charged_to_rampart() -> None:
    """The soak's ledger of orders and fills fills for hours after the baseline and its copy of
    the checkpoint grows with the books: harness data, taken out as the simulator's is."""
    config = SoakConfig(duration_s=3600, accounts=2)
    stats = _stats(rss_end_mb=103.0, harness_baseline_mb=1.0, harness_end_mb=3.0)
    assert round(reports.rampart_growth_pct(stats), 2) == 1.01  # (103 - 3) against (100 - 1)
    (memory,) = [c for c in reports.criteria(config, stats) if c.name == "Memory growth < 2 %"]
    assert memory.passed and "the soak's record's +2.0 MB" in memory.value
    report = reports.build(config, stats)
    assert report["memory"]["harness_record_end_mb"] == 3.0
    assert "the soak's own record of the run from 1.0 to 3.0 MB" in reports.markdown(report)


def test_the_command_exits_non_zero_when_a_criterion_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rampart.cli.main import app
    from rampart_testkit import soak as soak_pkg

    async def fake(config: SoakConfig, progress: object = None) -> SoakStats:
        return _stats(crashes=["engine: boom"])

    monkeypatch.setattr(soak_pkg, "run_soak", fake)
    monkeypatch.setattr("rampart.observability.logging.configure_logging", lambda *a, **k: None)
    result = CliRunner().invoke(
        app, ["soak", "--duration", "10m", "--accounts", "1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1, result.output
    assert "FAIL  Zero critical failures" in result.output
    assert json.loads((tmp_path / "soak-report.json").read_text())["passed"] is False
    bad = CliRunner().invoke(app, ["soak", "--duration", "soon", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "duration" in bad.output


def test_the_harness_faults_take_their_turn_in_the_plan() -> None:
    from random import Random

    from rampart_testkit.simulator import FaultSet

    faults = FaultSet(seed=0)
    plan = FaultPlan(faults, (RECONCILE_RACE, HAND_CLOSE, DB_OUTAGE), Random(3), outage=(12, 12))
    due: list[tuple[int, str]] = []
    for step in range(80):
        plan.tick(step)
        kind = plan.take_due()
        if kind is not None:
            due.append((step, kind))
        if plan.active_kind() == DB_OUTAGE:
            assert plan.active is not None and plan.active.end - plan.active.start == 12
        assert faults.list() == []  # none of them is switched on in the simulator
    assert {k for _, k in due} == {RECONCILE_RACE, HAND_CLOSE, DB_OUTAGE}
    assert plan.take_due() is None  # each is handed to the harness once


def test_durations_faults_and_latency_figures() -> None:
    assert parse_duration("24h") == 86_400 and parse_duration("90m") == 5_400
    assert parse_duration("1.5d") == 129_600 and parse_duration("30") == 30
    with pytest.raises(ConfigError):
        parse_duration("-1h")
    assert parse_faults("all") == SOAK_KINDS and parse_faults("none") == ()
    clean = set(FAULT_KINDS) - {"bad_candles", "flap"}  # only --faults dirty or by name
    assert clean < set(SOAK_KINDS) and parse_faults("restart") == ("restart",)
    assert parse_faults("drop, skew,drop") == ("drop", "skew")
    with pytest.raises(ConfigError, match="Unknown fault"):
        parse_faults("drop,meteor")
    lat = Latency()
    for ms in range(1, 101):
        lat.add(ms / 1000)
    assert lat.n == 100 and abs(lat.mean - 0.0505) < 1e-9 and lat.max == 0.1
    assert 0.048 <= lat.percentile(50) <= 0.0525
    assert 0.094 <= lat.percentile(95) <= 0.1
