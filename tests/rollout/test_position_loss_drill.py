"""The stage's position-loss kill (plan 004: "Position Loss > $50 → Activate kill switch"):
50 during internal and limited, service-wide whatever the profile; and its drill, walked on the
simulated clock: the loss crosses 50 → every account stopped → PositionLossKill → released."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.config import load_settings
from rampart.domain.errors import RampartError
from rampart.domain.stages import Stage
from rampart.rollout.drill_position_loss import ACCOUNTS, position_loss_drill
from tests.trading.helpers import SYMBOL, ScriptedAgent, build, candle, feed, guard_at, long_intent

T0 = 1_767_225_600_000


def test_internal_and_limited_kill_at_50_and_open_does_not() -> None:
    rollout = load_settings(rollout={"enabled": True}).rollout
    kills = {s.name: s.to_stage().kill_on_position_loss for s in rollout.stages}
    assert kills == {"internal": Decimal(50), "limited": Decimal(50), "open": None}


def test_the_stage_amount_stops_the_whole_service_whatever_the_profile() -> None:
    async def scenario() -> None:
        agent = ScriptedAgent(lambda i, v: [long_intent(v, "0.98", "1.04")] if i == 0 else [])
        engine, _venue, clock, _bus = await build(agent, accounts=("a1", "a2"))
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        assert engine.accounts["a1"].profile.kill_on_position_loss == 0  # moderate: off
        engine.stage = Stage(name="internal", kill_on_position_loss=Decimal(50))
        assert await guard_at(engine, "99") < 50 and not engine.controls.global_kill
        lost = await guard_at(engine, "96")
        assert lost > 50
        assert engine.controls.global_kill and engine.controls.global_actor == "risk"
        assert "50 USDT kill limit" in engine.controls.global_reason
        assert SYMBOL not in engine.accounts["a1"].ledger.positions  # flattened

    asyncio.run(scenario())


def test_the_drill_walks_loss_kill_alert_and_release() -> None:
    drill = asyncio.run(position_loss_drill(Decimal(50), T0))
    assert drill.loss > 50
    assert sorted(drill.stopped) == sorted(ACCOUNTS)
    assert drill.alert is not None and drill.alert.severity == "P1"
    assert drill.alert.ts < T0 + 24 * 3_600_000
    assert drill.released
    assert len(drill.steps) == 5 and drill.steps[-1].startswith("Released by operator")


def test_no_amount_no_drill() -> None:
    with pytest.raises(RampartError, match="no position-loss kill"):
        asyncio.run(position_loss_drill(Decimal(0), T0))


def test_the_command_walks_it_and_refuses_a_stage_without_one() -> None:
    from typer.testing import CliRunner

    from rampart.cli.main import app

    runner = CliRunner()
    done = runner.invoke(app, ["ops", "position-loss-drill"])
    assert done.exit_code == 0, done.output
    assert "kill switch engaged" in done.output and "Released by operator" in done.output
    refused = runner.invoke(app, ["ops", "position-loss-drill", "--stage", "open"])
    assert refused.exit_code != 0
    assert "The 'open' stage has no position-loss kill to drill." in refused.output
    assert "Traceback" not in refused.output
