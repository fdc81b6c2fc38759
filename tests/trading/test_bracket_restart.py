"""A restart in the middle of an entry's re-sizes: the steps its bracket took are in
the checkpoint, so the restarted engine grows the pair at the next step, not again at one it
already took. Before, ``Protector._steps`` was not saved: after a restart an entry of 20 whose
pair had grown 1 -> 4 (its first step, reached early by the growth bound) grew again at 5, and
took one re-size more than :data:`MAX_RESIZES` allows."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.protection import MAX_RESIZES

from .held import HeldVenue, held
from .helpers import SYMBOL, ScriptedAgent

D = Decimal


async def _restart(engine: Engine, venue: HeldVenue) -> Engine:
    """A new engine on the same venue, loaded from the old one's checkpoint (through JSON)."""
    snap = json.loads(json.dumps(engine.snapshot()))
    agent = ScriptedAgent(lambda i, view: [])
    fresh = Engine(
        venue=venue,
        clock=SimClock(engine.executor.clock.now_ms()),
        bus=EventBus(),
        make_agent=lambda name, params: agent,  # type: ignore[arg-type,return-value]
        profile_for=get_profile,
        taker_fee=D(0),
    )
    await fresh.add_account(AccountSpec("a1", "scripted", "moderate", D(10_000), (SYMBOL,)))
    fresh.load_snapshot(snap)
    return fresh


async def _fill(engine: Engine, venue: HeldVenue, minute: int, qty: int) -> None:
    engine.executor.clock.set(minute * 60_000)  # type: ignore[attr-defined]  # a SimClock
    (entry,) = venue.entries()
    venue.fill(entry, D(qty))
    await engine.executor.drain()


async def _scenario() -> tuple[list[tuple[Decimal, Decimal]], list[bool]]:
    engine, venue = await held("1")  # an entry of 20: 1 bought, a pair of 1
    (entry,) = venue.entries()
    assert venue.open[entry].qty == 20
    await _fill(engine, venue, 1, 3)  # 4 = 4 x the pair: the first step, the pair grows to 4
    engine = await _restart(engine, venue)
    watched = []
    await _fill(engine, venue, 2, 1)  # 5: the first step again, were it forgotten
    watched.append(SYMBOL in engine.accounts["a1"].guarded)
    await _fill(engine, venue, 3, 5)  # 10: half the entry, the second step
    await _fill(engine, venue, 4, 10)  # 20: the entry ends, the last re-size
    watched.append(SYMBOL in engine.accounts["a1"].guarded)
    return venue.pairs, watched


def test_a_restart_mid_resize_keeps_the_steps_the_entry_took() -> None:
    pairs, watched = asyncio.run(_scenario())
    assert pairs == [(D(1), D(1)), (D(4), D(4)), (D(10), D(10)), (D(20), D(20))]
    assert len(pairs) <= 1 + MAX_RESIZES
    # The coin above the pair of 4 waits under the monitor; the last pair covers all.
    assert watched == [True, False]


def test_the_steps_and_the_refusal_are_in_the_checkpoint() -> None:
    async def scenario() -> tuple[dict[str, object], dict[str, object]]:
        engine, venue = await held("1")
        await _fill(engine, venue, 1, 3)
        acct = engine.accounts["a1"]
        acct.bracket_book.refuse(SYMBOL, D(4), "g9")
        saved = acct.bracket_book.get(SYMBOL)
        assert saved is not None
        back = (await _restart(engine, venue)).accounts["a1"].bracket_book.get(SYMBOL)
        assert back is not None
        return saved.to_dict(), back.to_dict()

    saved, back = asyncio.run(scenario())
    assert saved["steps"] is not None and saved["refusal"] is not None
    # Everything but the placements at one instant (a restore begins an instant of its own).
    assert back == {**saved, "tries": None}


def test_a_checkpoint_from_before_brackets_had_states_restores_from_what_it_holds() -> None:
    """Such a checkpoint saved only ``guarded``: its symbols come back under the monitor, the
    other positions as resting, and nothing else; written again it is what it was (the state
    it derives is not written)."""

    async def scenario() -> tuple[dict[str, object], dict[str, object], list[str]]:
        engine, venue = await held("4")
        snap = json.loads(json.dumps(engine.snapshot()))
        account = snap["accounts"]["a1"]
        assert account["bracket_book"][SYMBOL]["state"] == "placed"
        del account["bracket_book"]  # as written before the bracket book
        account["guarded"] = ["ETH/USDT"]  # a symbol the monitor held
        fresh = await _restart(engine, venue)
        fresh.load_snapshot(snap)
        book = fresh.accounts["a1"].bracket_book
        states = {s: b.state.value for s in book if (b := book.get(s)) is not None}
        again = json.loads(json.dumps(fresh.snapshot()))["accounts"]["a1"]
        return states, again, sorted(fresh.accounts["a1"].guarded)

    states, again, guarded = asyncio.run(scenario())
    assert states == {"ETH/USDT": "monitor", SYMBOL: "resting"}
    assert guarded == ["ETH/USDT"]
    assert again["guarded"] == ["ETH/USDT"] and "bracket_book" not in again
