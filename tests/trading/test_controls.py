"""The kill switch and pauses, state by state: what each engage and release leaves on the
account, what it publishes (who, why, when, flatten), what every front is shown as the reason,
and what a checkpoint keeps. Written against the survivors of ``make mutate AREA=trading``:
a resume that left the account paused, a release that kept the kill switch's
actor, a published event with the wrong scope or flag, all passed before."""

from __future__ import annotations

import asyncio

import pytest

from rampart.domain.accounts import TradingState
from rampart.domain.errors import RampartError
from rampart.domain.events import AccountStateChanged, Event, KillSwitchChanged
from rampart.domain.intents import Intent
from rampart.risk.restrictions import KILL_SWITCH, PAUSE, VENUE_REPORT
from rampart.trading.engine import Engine

from .helpers import SYMBOL, ScriptedAgent, build, candle, feed, long_intent


def _always_long() -> ScriptedAgent:
    def script(i: int, view) -> list[Intent]:  # type: ignore[no-untyped-def]
        return [long_intent(view, "0.98", "1.05")]

    return ScriptedAgent(script)


def _collect(engine: Engine) -> list[Event]:
    events: list[Event] = []
    engine.bus.subscribe(events.append)
    return events


def _kills(events: list[Event]) -> list[tuple[int, str, bool, str, str, bool]]:
    return [
        (e.ts, e.scope, e.engaged, e.reason, e.actor, e.flatten)
        for e in events
        if isinstance(e, KillSwitchChanged)
    ]


def test_pause_then_resume_restores_trading_and_says_who_and_why() -> None:
    async def go() -> None:
        engine, _venue, clock, _bus = await build(_always_long(), accounts=("a1", "a2"))
        events = _collect(engine)
        acct = engine.accounts["a1"]
        clock.set(5_000)
        await engine.controls.pause_account("a1", "ops", "checking the feed")
        assert (acct.paused, acct.pause_reason, engine.controls.paused_by) == (
            True,
            "checking the feed",
            {"a1": "ops"},
        )
        [pause] = engine.controls.restrictions(acct)
        assert (pause.cause, pause.by, pause.measured, pause.needs_operator) == (
            PAUSE,
            "ops",
            "checking the feed",
            True,
        )
        assert engine.controls.restrictions(engine.accounts["a2"]) == []

        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        assert acct.ledger.positions == {}  # paused: no entry
        assert SYMBOL in engine.accounts["a2"].ledger.positions

        clock.set(70_000)
        await engine.controls.resume_account("a1", "ops", "feed is fine")
        assert (acct.paused, acct.pause_reason, acct.pause_restriction) == (False, "", None)
        assert engine.controls.paused_by == {}
        assert engine.controls.restrictions(acct) == []
        await feed(engine, clock, [candle(1, 100, 101, 99, 100)])
        assert SYMBOL in acct.ledger.positions  # resumed: it trades again

        assert _kills(events) == [
            (5_000, "a1", True, "checking the feed", "ops", False),
            (70_000, "a1", False, "feed is fine", "ops", False),
        ]

    asyncio.run(go())


def test_a_pause_with_flatten_closes_the_accounts_positions_only() -> None:
    async def go() -> None:
        engine, _venue, clock, _bus = await build(_always_long(), accounts=("a1", "a2"))
        events = _collect(engine)
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        await engine.controls.pause_account("a1", "ops", "risk review", flatten=True)
        assert engine.accounts["a1"].ledger.positions == {}
        assert engine.accounts["a1"].orders == {}
        assert SYMBOL in engine.accounts["a2"].ledger.positions
        assert _kills(events)[-1][1:] == ("a1", True, "risk review", "ops", True)

    asyncio.run(go())


def test_the_global_kill_switch_keeps_who_engaged_it_first_until_released() -> None:
    async def go() -> None:
        engine, _venue, clock, _bus = await build(_always_long())
        events = _collect(engine)
        controls = engine.controls
        acct = engine.accounts["a1"]
        clock.set(1_000)
        await controls.engage_kill_switch("alice", "exchange outage")
        clock.set(2_000)
        await controls.engage_kill_switch("bob", "still out")  # a second engage: reason only
        assert (controls.global_kill, controls.global_reason) == (True, "still out")
        assert (controls.global_actor, controls.global_since_ms) == ("alice", 1_000)
        [kill] = controls.restrictions(acct)
        assert (kill.cause, kill.by, kill.measured, kill.since) == (
            KILL_SWITCH,
            "alice",
            "still out",
            1_000,
        )

        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        assert acct.ledger.positions == {}

        clock.set(61_000)
        await controls.release_kill_switch("bob", "back")
        assert (controls.global_kill, controls.global_reason) == (False, "")
        assert (controls.global_actor, controls.global_since_ms) == ("", 0)
        assert controls.restrictions(acct) == []
        assert _kills(events) == [
            (1_000, "global", True, "exchange outage", "alice", False),
            (2_000, "global", True, "still out", "bob", False),
            (61_000, "global", False, "back", "bob", False),
        ]
        await feed(engine, clock, [candle(1, 100, 101, 99, 100)])
        assert SYMBOL in acct.ledger.positions

        # The next engagement is a new one: its actor and time, not the last one's.
        clock.set(200_000)
        await controls.engage_kill_switch("carol", "again")
        assert (controls.global_actor, controls.global_since_ms) == ("carol", 200_000)

    asyncio.run(go())


def test_every_restriction_is_listed_most_sweeping_first() -> None:
    async def go() -> None:
        engine, _venue, clock, _bus = await build(_always_long())
        acct = engine.accounts["a1"]
        controls = engine.controls
        acct.close_only = "an order the venue reported that Rampart did not send"
        await controls.pause_account("a1", acct.spec.owner, "holiday")
        await controls.engage_kill_switch("ops", "drill")
        causes = [r.cause for r in controls.restrictions(acct)]
        assert causes == [KILL_SWITCH, PAUSE, VENUE_REPORT]
        # The investor's own pause: the investor may lift it, no operator needed.
        own = controls.restrictions(acct)[1]
        assert (own.by, own.needs_operator) == (acct.spec.owner, False)

    asyncio.run(go())


def test_an_operators_lift_clears_a_venue_report_and_publishes_the_state_change() -> None:
    async def go() -> None:
        engine, _venue, clock, _bus = await build(_always_long())
        events = _collect(engine)
        acct = engine.accounts["a1"]
        acct.close_only = "an order the venue reported that Rampart did not send"
        acct.unexplained_order = "x-123"
        assert acct.state is TradingState.REDUCING
        clock.set(4_000)
        await engine.controls.resume_account("a1", "investor", "not mine to lift")
        assert acct.close_only and acct.state is TradingState.REDUCING  # no lift: unchanged
        await engine.controls.resume_account("a1", "ops", "looked at it", lift_breakers=True)
        assert (acct.close_only, acct.unexplained_order) == ("", "")
        assert acct.state is TradingState.ACTIVE
        changes = [
            (e.ts, e.account_id, e.old, e.new, e.reason)
            for e in events
            if isinstance(e, AccountStateChanged)
        ]
        assert changes == [
            (4_000, "a1", TradingState.REDUCING, TradingState.ACTIVE, "looked at it")
        ]

    asyncio.run(go())


def test_a_checkpoint_keeps_the_kill_switch_and_who_paused_what() -> None:
    async def go() -> None:
        engine, _venue, clock, _bus = await build(_always_long(), accounts=("a1", "a2"))
        clock.set(7_000)
        await engine.controls.engage_kill_switch("alice", "drill")
        await engine.controls.pause_account("a2", "bob", "review")
        saved = engine.controls.to_dict()
        assert saved == {
            "global_kill": True,
            "global_reason": "drill",
            "global_actor": "alice",
            "global_since_ms": 7_000,
            "paused_by": {"a2": "bob"},
        }
        other, _v, _c, _b = await build(_always_long(), accounts=("a1", "a2"))
        other.controls.load_dict(saved)
        assert other.controls.to_dict() == saved
        # A checkpoint written before the actor was kept still loads.
        other.controls.load_dict({"global_kill": False, "global_reason": ""})
        assert other.controls.to_dict() == {
            "global_kill": False,
            "global_reason": "",
            "global_actor": "",
            "global_since_ms": 0,
            "paused_by": {},
        }

    asyncio.run(go())


def test_an_unknown_account_is_one_sentence_and_changes_nothing() -> None:
    async def go() -> None:
        engine, _venue, _clock, _bus = await build(_always_long())
        events = _collect(engine)
        with pytest.raises(RampartError, match="There is no account called 'nope'"):
            await engine.controls.pause_account("nope", "ops", "typo")
        with pytest.raises(RampartError, match="There is no account called 'nope'"):
            await engine.controls.resume_account("nope", "ops", "typo")
        assert events == [] and engine.controls.paused_by == {}
        assert engine.accounts["a1"].paused is False

    asyncio.run(go())
