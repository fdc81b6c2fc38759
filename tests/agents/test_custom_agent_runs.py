"""An agent file outside the project goes where the built-in ones go: ``replay``,
``optimize``, the checks, and a paper account from the settings, through the same risk engine
and brackets; one that raises while trading pauses its account, and the engine goes on."""

from __future__ import annotations

import asyncio
import csv
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from rampart.agents import plugins
from rampart.agents.plugins import probe_candles
from rampart.cli.main import app
from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.config.checks import check_settings
from rampart.domain.events import (
    Event,
    IntentProposed,
    InvariantViolated,
    KillSwitchChanged,
    OrderUpdated,
)
from rampart.domain.orders import OrderRole
from rampart.observability.metrics import Metrics
from rampart.wiring.session import TradingSession
from tests.research.helpers import SHORT
from tests.trading.helpers import INSTRUMENT, SYMBOL

runner = CliRunner()
SPEC = "mine.py:Mine"

FLAKY = '''
from rampart.agents.space import ParamSpace, int_param

class Flaky:
    """Asked on every bar; raises from bar ``fail_at`` on (never with the default)."""

    name = "flaky"
    warmup = 0
    space = ParamSpace((int_param("fail_at", 0, 0, 100_000), int_param("break_at", 0, 0, 100_000)))

    def __init__(self, *, fail_at=0, break_at=0):
        self.fail_at = fail_at
        self.break_at = break_at
        self.bars = 0

    def update(self, candle):
        self.bars += 1
        if self.break_at and self.bars >= self.break_at:
            raise ValueError("no such indicator")

    def decide(self, view):
        if self.fail_at and self.bars >= self.fail_at:
            raise RuntimeError("the model file is gone")
        return []
'''


@pytest.fixture(autouse=True)
def _own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent written by ``rampart agents new`` in a folder of its own, the working one."""
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)
    done = runner.invoke(app, ["agents", "new", "mine"])
    assert done.exit_code == 0, done.output
    (tmp_path / "flaky.py").write_text(FLAKY, encoding="utf-8")


def test_replay_trades_it_with_brackets(shared_data: Path, tmp_path: Path) -> None:
    done = runner.invoke(
        app, ["replay", "--data", str(shared_data / SHORT), "--agent", SPEC, "--param", "period=14"]
    )
    assert done.exit_code == 0, done.output
    with (tmp_path / "out" / "replay-XRP_ETH-5m-Mine-moderate" / "trades.csv").open() as f:
        trades = list(csv.DictReader(f))
    assert trades and all(t["strategy"] == "mine" for t in trades)


def test_optimize_searches_its_declared_space(shared_data: Path) -> None:
    done = runner.invoke(
        app,
        [
            *("optimize", "--data", str(shared_data / SHORT), "--agent", SPEC),
            *("--trials", "3", "--folds", "2", "--jobs", "1", "--seed", "1"),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "study 'Mine-XRP_ETH-5m-sharpe'" in done.output
    assert "Chosen setting: --param period=" in done.output


def test_the_checks_run_it(shared_data: Path) -> None:
    data = str(shared_data / SHORT)
    look = runner.invoke(app, ["check-lookahead", SPEC, "--data", data, "--signals", "10"])
    assert look.exit_code == 0 and "No lookahead" in look.output, look.output
    warm = runner.invoke(app, ["check-warmup", SPEC, "--data", data, "--targets", "8"])
    assert warm.exit_code == 0, warm.output
    assert "mine.py:Mine's signals" in warm.output and "within the 101 bars" in warm.output


def _settings(tmp_path: Path, accounts: str) -> TradingSession:
    path = tmp_path / "rampart.yaml"
    path.write_text(f"feed:\n  symbols: [{SYMBOL}]\naccounts:\n{accounts}", encoding="utf-8")
    settings = load_settings(path)
    check_settings(settings)
    return TradingSession(
        settings, SimClock(0), {SYMBOL: INSTRUMENT}, db_url=f"sqlite:///{tmp_path / 's.db'}",
        checkpoint_name="run", accounts=settings.accounts, checkpoint_every=10_000,
    )  # fmt: skip


async def _trade(session: TradingSession, bars: int) -> list[Event]:
    events: list[Event] = []
    session.bus.subscribe(events.append)
    await session.open()
    clock = session.clock
    assert isinstance(clock, SimClock)
    try:
        for candle in probe_candles(bars, 60_000, SYMBOL):
            clock.set(max(clock.now_ms(), candle.close_ts))
            await session.process(candle)
    finally:
        session.close()
    return events


def test_a_paper_account_from_the_settings_trades_it_through_risk_and_brackets(
    tmp_path: Path,
) -> None:
    session = _settings(
        tmp_path,
        "  - {id: mine, agent: 'mine.py:Mine', profile: moderate, params: {period: 14}}\n",
    )
    events = asyncio.run(_trade(session, 400))
    proposed = [e.intent for e in events if isinstance(e, IntentProposed)]
    assert proposed and {i.agent for i in proposed} == {"mine"}
    orders = {e.order.client_id: e.order for e in events if isinstance(e, OrderUpdated)}
    entries = [o for o in orders.values() if o.role is OrderRole.ENTRY and o.filled_qty > 0]
    stops = [o for o in orders.values() if o.role is OrderRole.STOP_LOSS]
    assert entries and len(stops) >= len(entries)  # every entry got its stop-loss


def test_an_agent_that_raises_pauses_its_account_not_the_engine(tmp_path: Path) -> None:
    session = _settings(
        tmp_path,
        "  - {id: flaky, agent: 'flaky.py:Flaky', params: {fail_at: 50}}\n"
        "  - {id: steady, agent: 'mine.py:Mine', params: {period: 14}}\n",
    )
    events = asyncio.run(_trade(session, 300))
    engine = session.engine
    assert engine.candles_seen == 300  # it went on to the end
    flaky, steady = engine.accounts["flaky"], engine.accounts["steady"]
    assert flaky.paused and not steady.paused
    assert "agent flaky raised RuntimeError (the model file is gone)" in flaky.pause_reason
    faults = [e for e in events if isinstance(e, InvariantViolated)]
    assert [(e.account_id, e.invariant) for e in faults] == [("flaky", "agent")]  # once
    assert [(e.scope, e.actor) for e in events if isinstance(e, KillSwitchChanged)] == [
        ("flaky", "agent")
    ]
    assert engine.controls.restrictions(flaky)[0].needs_operator
    # The incident: InvestorProblem reads rampart_account_problem{account,cause}.
    metrics = Metrics(CollectorRegistry())
    for event in events:
        metrics.on_event(event)
    assert metrics.problems.count._value.get() == 1
    assert metrics.problems.each.labels(account="flaky", cause="invariant")._value.get() == 1
    assert Decimal(0) < engine.equity("steady")


def test_an_agent_that_raises_reading_a_candle_pauses_its_accounts(tmp_path: Path) -> None:
    session = _settings(
        tmp_path,
        "  - {id: one, agent: 'flaky.py:Flaky', params: {break_at: 20}}\n"
        "  - {id: two, agent: 'flaky.py:Flaky', params: {break_at: 20}}\n"
        "  - {id: three, agent: 'mine.py:Mine'}\n",
    )
    events = asyncio.run(_trade(session, 60))
    engine = session.engine
    assert engine.candles_seen == 60
    paused = {a for a, acct in engine.accounts.items() if acct.paused}
    assert paused == {"one", "two"}  # the two sharing the broken instance, once each
    assert "raised ValueError (no such indicator) while reading a candle" in (
        engine.accounts["one"].pause_reason
    )
    assert sorted(e.account_id for e in events if isinstance(e, InvariantViolated)) == [
        "one",
        "two",
    ]
