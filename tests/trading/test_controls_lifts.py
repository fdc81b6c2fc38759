"""The controls' remaining edges: what a fresh service holds, what the log says of every
engage and release, the reason a flattening exit carries, a breaker halt listed and lifted by
an operator at the clock's time, and a pause whose actor a checkpoint did not keep."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.accounts import TradingState
from rampart.domain.events import AccountStateChanged, Event
from rampart.domain.orders import OrderRole
from rampart.risk.restrictions import PAUSE, VENUE_REPORT
from rampart.trading.engine import Engine
from tests.log_lines import every_log_line

from .helpers import build, open_long
from .test_controls import _always_long, _collect
from .test_executor_reports import _logged

D = Decimal


def _exit_reasons(engine: Engine) -> list[str]:
    acct = engine.accounts["a1"]
    return [o.reason for o in acct.recent_orders if o.role is OrderRole.EXIT]


def test_a_fresh_service_has_no_kill_switch_and_no_pause() -> None:
    engine, _venue, _clock, _bus = asyncio.run(build(_always_long()))
    assert engine.controls.to_dict() == {
        "global_kill": False,
        "global_reason": "",
        "global_actor": "",
        "global_since_ms": 0,
        "paused_by": {},
    }
    assert engine.controls.restrictions(engine.accounts["a1"]) == []


def test_every_engage_and_release_is_logged_with_who_and_why() -> None:
    async def go() -> list[dict[str, object]]:
        engine, _venue, _clock, _bus = await build(_always_long())
        with every_log_line() as logs:
            await engine.controls.engage_kill_switch("ops", "drill")
            await engine.controls.release_kill_switch("ops", "drill over")
            await engine.controls.pause_account("a1", "bob", "holiday")
        return logs

    assert _logged(asyncio.run(go()), "kill_switch") == [
        {"scope": "global", "engaged": True, "actor": "ops", "reason": "drill"},
        {"scope": "global", "engaged": False, "actor": "ops", "reason": "drill over"},
        {"scope": "a1", "engaged": True, "actor": "bob", "reason": "holiday"},
    ]


def test_a_flattening_kill_switch_and_the_replays_last_flatten_say_why_they_sold() -> None:
    async def go() -> tuple[list[str], list[str]]:
        engine, _events = await open_long("moderate")
        await engine.controls.engage_kill_switch("ops", "exchange incident", flatten=True)
        killed = _exit_reasons(engine)
        other, _events = await open_long("moderate")
        await other.controls.flatten_all("end of replay")
        return killed, _exit_reasons(other)

    killed, flattened = asyncio.run(go())
    assert killed == ["kill switch: exchange incident"]
    assert flattened == ["end of replay"]


def test_a_breaker_halt_is_listed_and_an_operators_lift_ends_it_at_the_clocks_time() -> None:
    async def go() -> tuple[list[str], list[str], list[Event], TradingState]:
        engine, _venue, clock, _bus = await build(_always_long())
        events = _collect(engine)
        acct = engine.accounts["a1"]
        clock.set(5_000)
        trips = engine.breakers["a1"].on_equity(acct.breakers, D(5_000), 5_000)
        await engine.apply_trips(acct, trips, 5_000)
        halted = [r.cause for r in engine.controls.restrictions(acct)]
        events.clear()
        clock.set(9_000)
        await engine.controls.resume_account("a1", "ops", "checked", lift_breakers=True)
        lifted = [r.cause for r in engine.controls.restrictions(acct)]
        return halted, lifted, events, acct.state

    halted, lifted, events, state = asyncio.run(go())
    assert halted == ["max_drawdown"]
    assert lifted == [] and state is TradingState.ACTIVE
    changes = [(e.ts, e.old, e.new) for e in events if isinstance(e, AccountStateChanged)]
    assert changes == [(9_000, TradingState.HALTED, TradingState.ACTIVE)]


def test_a_pause_whose_actor_was_not_kept_names_nobody() -> None:
    async def go() -> Engine:
        engine, _venue, _clock, _bus = await build(_always_long())
        acct = engine.accounts["a1"]
        # A checkpoint from before the actor was kept: paused, nobody named.
        acct.paused, acct.pause_reason = True, "review"
        acct.close_only = "order x-1 reported twice"
        return engine

    engine = asyncio.run(go())
    pause, report = engine.controls.restrictions(engine.accounts["a1"])
    assert (pause.cause, pause.by, pause.measured) == (PAUSE, "", "review")
    assert (report.cause, report.measured) == (VENUE_REPORT, "order x-1 reported twice")
