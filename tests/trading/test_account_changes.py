"""Changing a running account (its profile, removing it, an account the venue refuses) and a
bracket the venue refuses: the account stays protected and consistent."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.domain.accounts import AccountSpec
from rampart.domain.errors import ConfigError, VenueError

from .helpers import SYMBOL, ScriptedAgent, build, candle, feed, long_intent


def long_at_first() -> ScriptedAgent:
    return ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.04")] if i == 0 else [])


def test_a_new_profile_applies_to_the_next_decision() -> None:
    async def go() -> None:
        engine, _, _, _ = await build(ScriptedAgent(lambda i, view: []), profile="moderate")
        acct = engine.accounts["a1"]
        before = engine.breakers["a1"]
        engine.change_profile("a1", "conservative")
        assert acct.profile.name == "conservative" and acct.spec.profile == "conservative"
        assert engine.breakers["a1"] is not before
        subs = [s for subs in engine._subs.values() for s in subs if s.account is acct]
        assert subs and all(s.constraints.max_stop == acct.profile.max_stop for s in subs)

    asyncio.run(go())


def test_remove_account_refuses_while_a_position_is_open_then_forgets_it() -> None:
    async def go() -> None:
        engine, _, clock, _ = await build(long_at_first())
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        assert SYMBOL in engine.accounts["a1"].ledger.positions
        with pytest.raises(ConfigError, match="still has positions or orders"):
            engine.remove_account("a1")
        assert "a1" in engine.accounts

        flat, _, _, _ = await build(ScriptedAgent(lambda i, view: []), accounts=("a1", "a2"))
        flat.remove_account("a1")
        assert set(flat.accounts) == {"a2"} and "a1" not in flat.breakers
        assert all(s.account.account_id == "a2" for subs in flat._subs.values() for s in subs)

    asyncio.run(go())


def test_an_account_the_venue_refuses_is_not_left_half_added() -> None:
    async def go() -> None:
        engine, venue, _, _ = await build(ScriptedAgent(lambda i, view: []))

        async def refuse(account_id: str, balances: dict[str, Decimal]) -> None:
            raise VenueError("The exchange refused this API key.")

        venue.open_account = refuse  # type: ignore[method-assign]
        spec = AccountSpec("a2", "scripted", "moderate", Decimal("1000"), (SYMBOL,))
        with pytest.raises(VenueError):
            await engine.add_account(spec)
        assert "a2" not in engine.accounts and "a2" not in engine.breakers
        assert "a2" not in engine.executor.accounts

    asyncio.run(go())


def test_a_bracket_the_venue_refuses_leaves_the_position_monitor_holding_the_stop() -> None:
    async def go() -> None:
        engine, venue, clock, _ = await build(long_at_first())
        real_submit_oco = venue.submit_oco
        refusals = [VenueError("The exchange is busy; try again.")]

        async def flaky_oco(stop, take) -> None:  # type: ignore[no-untyped-def]
            if refusals:
                raise refusals.pop()
            await real_submit_oco(stop, take)

        venue.submit_oco = flaky_oco  # type: ignore[method-assign]
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        acct = engine.accounts["a1"]
        assert SYMBOL in acct.ledger.positions
        assert SYMBOL in acct.guarded, "no stop on the venue: the monitor must hold it"
        assert engine.executor.is_protected(acct, acct.ledger.positions[SYMBOL])
        # The next quiet price update retries the bracket; once it rests, the monitor lets go.
        await feed(engine, clock, [candle(1, 100, 100.5, 99.5, 100)])
        roles = sorted(o.role.value for o in acct.orders.values())
        assert roles == ["stop_loss", "take_profit"]
        await feed(engine, clock, [candle(2, 100, 100.5, 99.5, 100)])
        assert SYMBOL not in acct.guarded

    asyncio.run(go())
