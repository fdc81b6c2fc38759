"""The timed ramp inside a stage (plan 004), walked on the simulated clock: one symbol and a
small capital total first; the T+8 h step waits while a gate fails and says why, is taken
once the gates pass, and releases the investor the total held back; the T+48 h step lifts
the total. Every step is a transition and an audit entry, and the status shows the ramp."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from rampart.config import load_settings
from rampart.domain.accounts import TradingState
from rampart.domain.errors import ConfigError
from rampart.rollout.settings import RolloutConfig
from rampart.rollout.state import transitions
from rampart.store.audit import AuditLog

from .scenario import HOUR_MS, SYMBOL, build_world, stages_config
from .test_launch_gates import _incident

T0 = 1_767_225_600_000  # 2026-01-01
OTHER = "ETH/BTC"


def _config() -> RolloutConfig:
    cfg = stages_config(approval="operator", window_h=2)
    internal = cfg.stages[0].model_dump()
    internal.update(
        symbols=[SYMBOL, OTHER],
        min_duration_h=72,
        ramp=[
            {"after_h": 0, "symbols": [SYMBOL], "capital": "0.1"},
            {"after_h": 8, "symbols": [SYMBOL, OTHER], "capital": "0.3"},
            {"after_h": 48},
        ],
    )
    data = cfg.model_dump()
    data["stages"][0] = internal
    return RolloutConfig.model_validate(data)


def test_the_default_internal_stage_ramps_as_plan_004() -> None:
    internal = load_settings(rollout={"enabled": True}).rollout.stage("internal")
    assert internal is not None
    steps = internal.ramp_steps()
    assert [s.after_ms // HOUR_MS for s in steps] == [0, 8, 20]
    assert [len(s.symbols or ()) for s in steps] == [1, 3, 0]
    assert [s.capital for s in steps] == [Decimal(100), Decimal(300), Decimal(1000)]


def test_a_ramp_must_start_at_the_stage_start_and_increase() -> None:
    with pytest.raises(ConfigError, match="first step must start at after_h 0"):
        load_settings(rollout={"stages": [{"name": "a", "ramp": [{"after_h": 2}]}]})
    with pytest.raises(ConfigError, match="after_h must increase"):
        load_settings(rollout={"stages": [{"name": "a", "ramp": [{"after_h": 0}, {"after_h": 0}]}]})


def test_the_ramp_waits_for_its_time_and_its_gates(tmp_path: Path) -> None:
    asyncio.run(_walk(tmp_path))


async def _walk(tmp_path: Path) -> None:
    world = await build_world(f"sqlite:///{tmp_path / 'r.db'}", T0, 0.0005, _config())
    engine, ctl, clock = world.engine, world.controller, world.clock
    await ctl.start()
    accts = engine.accounts
    # Step 1: one symbol, 0.1 BTC in all: alice (0.1, started first) trades, bob (0.15) waits.
    assert engine.stage.symbols == frozenset({SYMBOL})
    assert accts["alice-1"].state is TradingState.ACTIVE
    assert accts["bob-1"].state is TradingState.REDUCING
    assert "ramp allows 0.1 BTC across the service" in accts["bob-1"].breakers.reason
    # A P0 opened and resolved just before T+8 h: the step waits while it is in the window.
    _incident(world.db, "db-down", "P0", T0 + 7 * HOUR_MS, T0 + 7 * HOUR_MS + HOUR_MS // 2)
    waits: dict[int, str] = {}
    for hour in range(1, 51):
        clock.set(T0 + hour * HOUR_MS)
        world.uptime.beat(clock.now_ms())
        ev = await ctl.evaluate()
        assert ev.stage == "internal"
        if hour == 9:
            status = ctl.status().ramp
            assert status is not None and status["step"]["step"] == 1
            waits[hour] = status["waiting"]
            assert engine.stage.symbols == frozenset({SYMBOL})
    assert "step 2 (T+8 h)" in waits[9] and "is due and waits" in waits[9]
    assert "P0" in waits[9] or "incident" in waits[9]
    steps = [t for t in reversed(transitions(world.db, 50)) if t.kind == "ramp"]
    # Taken when the P0 left the 2 h window (T+10 h), not at T+8 h; the last one at T+48 h.
    assert [(t.ts - T0) // HOUR_MS for t in steps] == [10, 48]
    assert steps[0].from_stage == steps[0].to_stage == "internal"
    assert steps[0].evidence["ramp"]["taken"]["capital"] == "0.3"
    assert engine.stage.symbols == frozenset({SYMBOL, OTHER})
    assert engine.stage.max_total_capital is None
    assert accts["bob-1"].state is TradingState.ACTIVE
    assert any(
        a == "bob-1" and "allows this account again" in m for a, m in world.messenger.accounts
    )
    assert any("ramp step" in m for m in world.messenger.operators)
    audited = AuditLog(world.db).tail(50, action="rollout.ramp")
    assert len(audited) == 2
    final = ctl.status().ramp
    assert final is not None and final["next"] is None and final["step"]["step"] == 3


def test_the_status_command_shows_the_ramp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from rampart.cli.main import app

    monkeypatch.chdir(tmp_path)
    env = {"RAMPART_ROLLOUT__ENABLED": "true"}
    shown = CliRunner().invoke(app, ["rollout", "status"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "Ramp: step 1 (T+0 h): BTC/USDT; 100 in all." in shown.output
    assert "Next: step 2 (T+8 h): BTC/USDT, ETH/USDT, SOL/USDT; 300 in all at " in shown.output
    assert "is due in 8.0 h" in shown.output


def test_past_one_machine_the_total_counts_the_fleets_accounts(tmp_path: Path) -> None:
    """A worker's engine holds some accounts; the total is the service's: an account traded
    elsewhere (first by id) takes the room, so this engine's first account waits."""
    from rampart.domain.accounts import AccountSpec

    async def go() -> None:
        world = await build_world(f"sqlite:///{tmp_path / 'f.db'}", T0, 0.0005, _config())
        engine, ctl = world.engine, world.controller
        await ctl.start()
        assert engine.accounts["alice-1"].state is TradingState.ACTIVE
        elsewhere = AccountSpec("aaron-1", "steady", "aggressive", Decimal("0.1"), (SYMBOL,),
                                "alice", "BTC")  # fmt: skip
        ctl._everyone = lambda: [elsewhere]  # what a worker's controller reads from the store
        await ctl.apply()
        assert engine.accounts["alice-1"].state is TradingState.REDUCING
        reason = engine.accounts["alice-1"].breakers.reason
        assert "the accounts before this one use 0.1" in reason

    asyncio.run(go())
