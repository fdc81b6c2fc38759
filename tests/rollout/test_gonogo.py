"""GO/NO-GO on a real store (SQLite and PostgreSQL): GO when every criterion passes, NO-GO
naming the one that fails; ``rampart go-nogo`` exits 0 only on GO."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.agents.registry import agent_space
from rampart.cli.main import app
from rampart.clock import SimClock
from rampart.config import Settings, load_settings
from rampart.rollout.controller import RolloutController
from rampart.rollout.gonogo import go_nogo
from rampart.rollout.rules.gates import Verdict
from rampart.store import ops_records
from rampart.store.agent_configs import save_config
from rampart.store.db import open_database
from rampart.store.models import incidents, order_transitions, orders

from .scenario import stages_config
from .test_evidence_gate import GOOD

HOUR = 3_600_000
T0 = 1_700_000_000_000


def _orders(
    db: sa.Engine, n: int, start: int, *, status: str = "filled", latency: int = 40
) -> None:
    rows, moves = [], []
    for i in range(n):
        ts = start + i * 60_000
        cid = f"{status}-{start}-{i}"
        rows.append(
            dict(
                client_id=cid,
                account_id="a1",
                symbol="BTC/USDT",
                side="buy",
                type="market",
                role="entry",
                qty=Decimal(1),
                price=None,
                stop_price=None,
                status=status,
                filled_qty=Decimal(1),
                avg_fill_price=Decimal(100),
                fees=Decimal(0),
                venue_order_id=None,
                oco_group=None,
                parent_id=None,
                strategy="t",
                reason="",
                created_at=ts,
                updated_at=ts + latency,
            )
        )
        moves.append(dict(client_id=cid, account_id="a1", ts=ts, previous="new", status="new"))
        moves.append(
            dict(client_id=cid, account_id="a1", ts=ts + latency, previous="new", status=status)
        )
    with db.begin() as conn:
        conn.execute(orders.insert(), rows)
        conn.execute(order_transitions.insert(), moves)


def _healthy(db: sa.Engine, now: int) -> None:
    span = ops_records.UptimeRecorder(db)
    span.start(T0)
    span.beat(now)
    _orders(db, 40, now - 20 * HOUR)
    for kind in (ops_records.RESTORE_DRILL, ops_records.ALERT_TEST, ops_records.KILL_DRILL):
        ops_records.record_event(db, kind, now - 2 * 24 * HOUR, "ops")


def _researched(db: sa.Engine, settings: Settings) -> None:
    """Every account's setting saved with evidence that meets the thresholds (GO from the
    internal stage promotes into limited, where research evidence is asked)."""
    for account in settings.accounts:
        params = agent_space(account.agent).canonical(account.agent, account.params)
        save_config(
            db,
            name=account.id,
            agent=account.agent,
            params=params,
            evidence=GOOD,
            created_at=T0,
            created_by="test",
        )


def test_go_when_all_pass_and_no_go_naming_the_failing_criterion(db_url: str) -> None:
    settings = load_settings(rollout=stages_config(approval="operator"))
    db = open_database(db_url)
    clock = SimClock(T0)
    ctl = RolloutController(settings.rollout, db, clock, uptime_grace_ms=HOUR)
    assert ctl.state().stage == "internal"
    clock.set(T0 + 25 * HOUR)
    _healthy(db, clock.now_ms())
    report = go_nogo(settings, ctl)
    assert [c.name for c in report.failing] == ["research evidence"]
    _researched(db, settings)

    report = go_nogo(settings, ctl)
    assert report.go, report.summary()
    by_name = {c.name: c for c in report.criteria}
    assert by_name["order success"].measured == "100.00 % (40 samples)"
    assert by_name["p95 order latency"].measured == "40 ms (40 samples)"
    assert by_name["stage duration met"].measured == "25.0 h in 'internal'"
    assert by_name["research evidence"].measured == "3 of 3 account(s) with evidence"
    assert report.summary() == "GO: all 14 criteria pass on the 'internal' stage."

    # A P0 incident opens: one gate fails, and the verdict names it.
    with db.begin() as conn:
        conn.execute(
            incidents.insert().values(
                key="db",
                rule="DatabaseDown",
                severity="P0",
                status="open",
                summary="down",
                value=0.0,
                threshold=1.0,
                labels={},
                opened_at=clock.now_ms() - HOUR,
                notifications=0,
            )
        )
    report = go_nogo(settings, ctl)
    assert not report.go
    assert [c.name for c in report.failing] == ["no P0 incident in the window"]
    assert report.summary() == "NO-GO: no P0 incident in the window (fail)."
    db.dispose()


def test_too_few_orders_is_inconclusive_and_holds(db_url: str) -> None:
    settings = load_settings(rollout=stages_config())
    db = open_database(db_url)
    clock = SimClock(T0)
    ctl = RolloutController(settings.rollout, db, clock, uptime_grace_ms=HOUR)
    ctl.state()
    clock.set(T0 + 30 * HOUR)
    _healthy(db, clock.now_ms())
    with db.begin() as conn:
        conn.execute(orders.delete())
        conn.execute(order_transitions.delete())
    _orders(db, 5, clock.now_ms() - 10 * HOUR)

    ev = asyncio.run(ctl.evaluate())
    verdicts = {r.gate.name: r.verdict for r in ev.results}
    assert verdicts["order success"] is Verdict.INCONCLUSIVE
    assert ev.decision.outcome.value == "hold" and ev.moved_to is None
    assert ev.decision.reason.startswith("inconclusive: order success: 5 samples, 20 needed")
    assert ctl.state().stage == "internal"  # 30 h served, yet no promotion on too few orders
    db.dispose()


def test_cli_exit_codes(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'r.db'}"
    monkeypatch.setenv("RAMPART_STORE__URL", url)
    runner = CliRunner()
    result = runner.invoke(app, ["go-nogo"])
    assert result.exit_code == 1
    assert "NO-GO" in result.output and "kill-switch drill (fail)" in result.output
    result = runner.invoke(app, ["go-nogo", "--json"])
    assert result.exit_code == 1 and '"verdict": "NO-GO"' in result.output
    monkeypatch.setenv("RAMPART_STORE__URL", "mysql://nope")
    result = runner.invoke(app, ["go-nogo"])
    assert result.exit_code == 2
