"""Limits relaxed inside a stage by measured stability (plan 000 phase C), on the simulated
clock: the open stage starts at half of each profile's position-size and daily-loss limits,
widens a step after a day without a P0 or P1 with every gate green (a P1 holds it back and
the status says so), and goes back to the tight limits on a P0."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from rampart.config import load_settings
from rampart.domain.errors import ConfigError
from rampart.risk.profiles import get_profile
from rampart.rollout.settings import RolloutConfig
from rampart.rollout.state import RolloutState, save_state, transitions

from .scenario import HOUR_MS, build_world, safety_gates, stages_config
from .test_launch_gates import _incident

T0 = 1_767_225_600_000


def _config() -> RolloutConfig:
    gates = [g for g in safety_gates() if g["metric"] != "open_p0_incidents"]
    cfg = stages_config(gates=gates, window_h=24)
    data = cfg.model_dump()
    data["stages"][-1]["relax"] = {"scales": ["0.5", "0.75", "1"], "stable_days": 1}
    return RolloutConfig.model_validate(data)


def test_open_relaxes_by_default_and_scales_must_widen() -> None:
    relax = load_settings(rollout={"enabled": True}).rollout.stage("open").relax  # type: ignore[union-attr]
    assert relax is not None and relax.scales == [Decimal("0.5"), Decimal("0.75"), Decimal(1)]
    assert relax.stable_days == 7
    with pytest.raises(ConfigError, match=r"relax\.scales must increase"):
        load_settings(rollout={"stages": [{"name": "a", "relax": {"scales": ["1", "0.5"]}}]})


def test_limits_widen_with_stability_and_tighten_on_a_p0(tmp_path: Path) -> None:
    asyncio.run(_walk(tmp_path))


async def _walk(tmp_path: Path) -> None:
    world = await build_world(f"sqlite:///{tmp_path / 'r.db'}", T0, 0.0005, _config())
    with world.db.begin() as conn:
        save_state(conn, RolloutState(stage="open", entered_at=T0), T0)
    engine, ctl, clock = world.engine, world.controller, world.clock
    await ctl.start()
    base = get_profile("aggressive")
    alice = engine.accounts["alice-1"]

    def share() -> Decimal:
        assert alice.profile.daily_loss / base.daily_loss == alice.profile.max_position / (
            base.max_position
        )
        assert engine.breakers["alice-1"].profile is alice.profile
        return alice.profile.max_position / base.max_position

    assert share() == Decimal("0.5")
    _incident(world.db, "worker", "P1", T0 + 10 * HOUR_MS, T0 + 11 * HOUR_MS)
    _incident(world.db, "db", "P0", T0 + 70 * HOUR_MS, T0 + 70 * HOUR_MS + HOUR_MS // 2)
    seen: dict[int, Decimal] = {}
    for hour in range(1, 81):
        clock.set(T0 + hour * HOUR_MS)
        world.uptime.beat(clock.now_ms())
        await ctl.evaluate()
        seen[hour] = share()
        if hour == 30:
            relax = ctl.status().relax
            assert relax is not None and relax["level"] == 1
            assert "1 P1 incident(s) in the last 1 days" in relax["waiting"]
    moves = [
        (t.kind, (t.ts - T0) // HOUR_MS)
        for t in reversed(transitions(world.db, 50))
        if t.kind in ("relax", "tighten")
    ]
    # The P1 (resolved at 11 h) kept the first widening back until it left the day (36 h).
    assert moves == [("relax", 36), ("relax", 60), ("tighten", 70)]
    assert seen[35] == Decimal("0.5") and seen[36] == Decimal("0.75")
    assert seen[60] == seen[69] == 1
    assert seen[70] == seen[80] == Decimal("0.5")
    assert any("limits tightened" in m for m in world.messenger.operators)
