"""Ten simulated days on real candles: the internal stage promotes after its 24 hours, a burst
of order errors rolls back (and the affected investors go REDUCING and are told), the stage
climbs again once the window is clean, and every transition carries its evidence."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from rampart.domain.accounts import TradingState
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.risk.codes import RejectCode
from rampart.rollout.enforce import STAGE_BREAKER
from rampart.rollout.state import transitions

from .scenario import HOUR_MS, SYMBOL, build_world, load_bars, stages_config


def test_ten_days_promote_rollback_and_climb_again(shared_data: Path, tmp_path: Path) -> None:
    asyncio.run(_ten_days(shared_data, tmp_path))


async def _ten_days(shared_data: Path, tmp_path: Path) -> None:
    bars = load_bars(shared_data / "ETC_BTC-1m.json")
    assert len(bars) > 900  # ten days of 15-minute bars
    t0 = bars[0].ts
    world = await build_world(f"sqlite:///{tmp_path / 'r.db'}", t0, bars[0].close, stages_config())
    engine, ctl, clock = world.engine, world.controller, world.clock
    await ctl.start()
    assert engine.stage.name == "internal"
    acct = engine.accounts
    # carol is not invited yet, dave brings more capital than any stage allows: closes only.
    assert acct["carol-1"].state is TradingState.REDUCING
    assert acct["dave-1"].breakers.halted_by == STAGE_BREAKER
    assert "at most 0.2 BTC" in acct["dave-1"].breakers.reason
    assert acct["alice-1"].state is TradingState.ACTIVE

    burst = (t0 + 50 * HOUR_MS, t0 + 56 * HOUR_MS)  # day 3, six hours
    outcomes: list[tuple[int, str, str, str]] = []
    next_eval = t0 + HOUR_MS
    for bar in bars:
        clock.set(bar.close_ts)
        world.faults.on = burst[0] <= bar.close_ts < burst[1]
        await engine.on_candle(bar)
        if bar.close_ts >= next_eval:
            world.uptime.beat(bar.close_ts)
            ev = await ctl.evaluate()
            hour = (bar.close_ts - t0) // HOUR_MS
            outcomes.append((hour, ev.stage, ev.decision.outcome.value, ev.decision.reason))
            next_eval += HOUR_MS
    assert engine.violations == 0
    assert world.faults.count > 0

    history = list(reversed(transitions(world.db, 50)))
    moves = [(t.kind, t.from_stage, t.to_stage, (t.ts - t0) // HOUR_MS) for t in history]
    kinds = [m[:3] for m in moves]
    # 1. internal promotes to limited once its 24 hours are served, not before.
    assert kinds[0] == ("start", "", "internal")
    assert kinds[1] == ("promote", "internal", "limited")
    assert 24 <= moves[1][3] <= 25
    # 2. the burst of refused orders rolls limited back to internal, during the burst.
    assert kinds[2] == ("rollback", "limited", "internal")
    assert burst[0] <= history[2].ts <= burst[1] + HOUR_MS
    failing = [g for g in history[2].evidence["gates"] if g["verdict"] == "fail"]
    assert [g["gate"] for g in failing] == ["order success"]
    assert failing[0]["value"] < 0.95 and failing[0]["samples"] >= 20
    # 3. a day after the burst left the window internal promotes again, then limited → open.
    assert kinds[3:] == [("promote", "internal", "limited"), ("promote", "limited", "open")]
    assert moves[3][3] >= moves[2][3] + 24
    assert moves[4][3] - moves[3][3] >= 48
    assert engine.stage.name == "open"
    # The first hour has too few orders for a verdict: inconclusive holds, never passes.
    assert outcomes[0][1:3] == ("internal", "hold")
    assert outcomes[0][3].startswith("inconclusive: order success: ")
    # Between the burst and the rollback the failing gate held the stage once (limit 2).
    assert any(s == "limited" and "1 of 2 before a rollback" in r for _, s, _, r in outcomes)

    # The rollback put carol (invited for limited only) back to closes only, and told her.
    told = [html for who, html in world.messenger.accounts if who == "carol-1"]
    assert any("Only closing positions" in t and "invited users only" in t for t in told)
    assert any("rolled back" in t for t in world.messenger.operators)
    # At open carol trades again; dave's 5 BTC is still above the open stage's 2 BTC.
    assert acct["carol-1"].state is TradingState.ACTIVE
    assert acct["dave-1"].state is TradingState.REDUCING

    # The refusal dave reads when he asks for a new position names the stage and its bound.
    from rampart.risk.rules import check_stage

    now = clock.now_ms()
    price = engine.marks[SYMBOL]
    intent = Intent("dave-1", SYMBOL, Side.BUY, IntentAction.OPEN, price, price * 0, price * 2)
    code, text = check_stage(intent, engine.risk_context(acct["dave-1"], SYMBOL, now)) or ("", "")
    assert code is RejectCode.STAGE_CAPITAL
    assert text == (
        "The 'open' rollout stage allows between 0.01 and 2 BTC of capital per account; this "
        "account has 5 BTC."
    )
    assert Decimal(0) < price
