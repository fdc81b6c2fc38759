"""One truth on one clock: the default `make run` configuration, run for simulated days,
shows on its reports, gates, GO/NO-GO, incidents and commands exactly what its orders did, on
the orders' own (simulated) time.

The ops clock keeps `make run`'s ratio to the feed (one wall second per 300 simulated
seconds), so alert windows, `for` durations and heartbeats see what an operator's would.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from typer.testing import CliRunner

from rampart.cli.main import app as cli
from rampart.config import Settings, load_settings
from rampart.observability.incidents import list_incidents
from rampart.reports.store import list_reports
from rampart.rollout.gonogo import go_nogo
from rampart.store.db import open_database
from rampart.store.service_clock import load_service_time
from rampart.wiring.service import Service
from tests.fast_wall_clock import FastWallClock

DAY_MS = 86_400_000
FIRST_DAY = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
WALL_START = int(datetime(2026, 11, 22, 9, 0, tzinfo=UTC).timestamp() * 1000)
SPEED = 300.0
FASTER = 10.0
"""The ops clock runs FASTER times real time while the feed plays at SPEED × FASTER: business and
ops time keep `make run`'s ratio (300 simulated seconds per wall second) and a simulated day
passes in half a minute."""


def _settings(tmp_path: Path, **extra: object) -> Settings:
    # `make run`'s defaults: three demo accounts, synthetic BTC and ETH, alerts on; the API
    # stays closed (no port in a test).
    return load_settings(
        store={"url": f"sqlite:///{tmp_path / 'rampart.db'}"},
        feed={"speed": SPEED * FASTER},
        api={"enabled": False},
        **extra,
    )


def _run(settings: Settings, tmp_path: Path, candles: int) -> Service:
    console = Console(file=(tmp_path / "screen.txt").open("a"), width=160)
    service = Service(
        settings,
        console,
        max_candles=candles,
        view=False,
        install_signals=False,
        ops_clock=FastWallClock(WALL_START, FASTER),
    )
    asyncio.run(asyncio.wait_for(service.run(), 600))
    return service


def _candles_for(settings: Settings, days: float) -> int:
    return int(days * 24 * 60) * len(settings.feed.symbols)


def test_a_simulated_day_of_the_demo_is_reported_alarm_free_and_on_its_own_days(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    service = _run(settings, tmp_path, _candles_for(settings, 1.1))
    db = open_database(settings.store.url)
    try:
        # The engine stopped a little after simulated 2024-01-02 00:05: the daily report of
        # 2024-01-01 was made by the scheduler, on the orders' days.
        recorded = load_service_time(db)
        assert recorded is not None and recorded.simulated
        assert FIRST_DAY + DAY_MS + 5 * 60_000 <= recorded.now_ms < FIRST_DAY + 2 * DAY_MS
        reports = list_reports(db, kind="daily")
        assert [r.period_start for r in reports] == [FIRST_DAY]
        figures = reports[0].figures
        with db.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT status, count(*) FROM orders "
                    "WHERE created_at >= :a AND created_at < :b GROUP BY status"
                ),
                {"a": FIRST_DAY, "b": FIRST_DAY + DAY_MS},
            ).all()
        by_status = {status: int(n) for status, n in rows}
        submitted = sum(n for s, n in by_status.items() if s != "new")
        refused = sum(n for s, n in by_status.items() if s in ("rejected", "unknown"))
        assert submitted > 50
        assert figures["orders_submitted"] == submitted
        assert figures["order_success"] == (submitted - refused) / submitted

        # A healthy demo raises no P0 or P1, ever.
        loud = [i for i in list_incidents(db) if i.severity in ("P0", "P1")]
        assert loud == [], [(i.rule, i.severity, i.summary) for i in loud]

        # GO/NO-GO measures the demo's own orders on the demo's own clock.
        verdict = go_nogo(settings, service.rollout)  # type: ignore[arg-type]
        success = next(c for c in verdict.criteria if c.name == "order success")
        assert "(0 samples)" not in success.measured
    finally:
        db.dispose()

    # `report daily` in another process, with no date: yesterday on the service's clock.
    out = tmp_path / "reports"
    result = CliRunner().invoke(
        cli, ["report", "daily", "--out", str(out)], env={"RAMPART_STORE__URL": settings.store.url}
    )
    assert result.exit_code == 0, result.output
    assert (out / "daily-2024-01-01" / "report.md").exists(), sorted(p.name for p in out.iterdir())


def test_with_rollout_on_the_demo_walks_to_the_open_stage_on_its_own_evidence(
    tmp_path: Path,
) -> None:
    """The demo with deploy/examples/rollout-demo.yaml: internal (24 h) → limited (6 days) →
    open, on simulated time, judged by the gates on the demo's own orders; no wall-clock day
    has to pass. The feed plays a simulated day in about 1.5 s and the scheduler polls every
    wall second, so a promotion may come up to a simulated day and a half after its stage's
    minimum: the run lasts 11 simulated days for limited's 6 to fit."""
    config = Path(__file__).parents[1] / "deploy" / "examples" / "rollout-demo.yaml"
    settings = load_settings(
        config,
        store={"url": f"sqlite:///{tmp_path / 'rampart.db'}"},
        feed={"speed": 60_000},
        api={"enabled": False},
        alerts={"enabled": False},
    )
    console = Console(file=(tmp_path / "screen.txt").open("a"), width=160)
    candles = _candles_for(settings, 11)
    service = Service(settings, console, max_candles=candles, view=False, install_signals=False)
    asyncio.run(asyncio.wait_for(service.run(), 600))
    db = open_database(settings.store.url)
    try:
        with db.connect() as conn:
            moves = conn.execute(
                sa.text("SELECT from_stage, to_stage, ts FROM rollout_transitions ORDER BY id")
            ).all()
    finally:
        db.dispose()
    assert [(a, b) for a, b, _ in moves] == [
        ("", "internal"),
        ("internal", "limited"),
        ("limited", "open"),
    ]
    # Each move came after its stage's simulated minimum duration, all within 2024's first days.
    entered_limited, entered_open = moves[1][2], moves[2][2]
    assert FIRST_DAY + DAY_MS <= entered_limited < FIRST_DAY + 3 * DAY_MS
    assert entered_limited + 6 * DAY_MS <= entered_open <= FIRST_DAY + 11 * DAY_MS
