"""A fresh holder (a start, a shard taken over) covers the coins an account holds before any
new entry of that account goes out.

The last holder died between an entry's fill and its pair: the checkpoint holds 1 BTC with
no stop anywhere. The fresh holder's agent buys on its first candle."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.events import IntentRejected
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import OrderRole, Side
from rampart.trading.bus import EventBus

from .exchange_fake import FakeVenue, add_account, make_engine
from .helpers import SYMBOL, ScriptedAgent, candle
from .reconcile_rig import Rig, rig

PROTECTIVE = {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}


def _adds(i: int, view: object) -> list[Intent]:
    """Buys more of the position held on every candle (half the usual stake)."""
    return [
        Intent(
            view.account_id,  # type: ignore[attr-defined]
            SYMBOL,
            Side.BUY,
            IntentAction.ADD,
            Decimal(100),
            size_hint=Decimal("0.2"),
            agent="scripted",
            ts=view.ts,  # type: ignore[attr-defined]
        )
    ]


async def _taken_with_a_bare_coin() -> tuple[Rig, set[str]]:
    """The last holder books a fill of 1 BTC and dies before its pair goes out; a fresh
    holder (a new engine and adapter over the same exchange) loads its checkpoint. Returns
    the rig and the client ids on the exchange before the fresh holder's first candle."""
    r = await rig()
    r.engine.executor.hold_protection.add("a1")  # no pair is placed for the fill
    entry = await r.enter()
    r.x.fill(entry, Decimal(1))
    r.x.end(entry)
    await r.engine.executor.drain()
    assert r.acct.ledger.positions[SYMBOL].qty == 1
    assert not r.x.open_orders("a1"), "no stop rests for the coin"
    snapshot = r.checkpoint()
    r.venue = FakeVenue(r.x)
    bus = EventBus()
    bus.subscribe(r.events.append)
    r.engine = make_engine(r.venue, ScriptedAgent(_adds), r.clock, bus)
    await add_account(r.engine)
    r.engine.load_snapshot(snapshot)
    r.events.clear()
    return r, set(r.x.orders)


async def _first_candle(r: Rig) -> None:
    r.at(r.clock.now_ms() + 60_000)
    await r.engine.on_candle(candle(r.clock.now_ms() // 60_000, 100, 100, 100, 100))


def test_a_taken_accounts_first_buy_goes_out_only_after_its_bare_coin_is_under_a_stop() -> None:
    async def go() -> list[OrderRole]:
        r, before = await _taken_with_a_bare_coin()
        await _first_candle(r)
        return [o.role for cid, o in r.x.orders.items() if cid not in before]

    sent = asyncio.run(go())
    assert OrderRole.ENTRY in sent, sent
    first_entry = sent.index(OrderRole.ENTRY)
    assert set(sent[:first_entry]) == PROTECTIVE, f"the pair rests before any entry: {sent}"


def test_an_entry_waits_in_words_while_the_coin_cannot_be_covered_then_goes() -> None:
    async def go() -> None:
        r, before = await _taken_with_a_bare_coin()
        r.engine.executor.hold_protection.add("a1")  # its books are being compared: no pair
        await _first_candle(r)
        assert [cid for cid in r.x.orders if cid not in before] == [], "nothing went out"
        (said,) = [e for e in r.events if isinstance(e, IntentRejected)]
        assert said.code == "cover_first"
        assert "1 BTC/USDT held since this start has no stop on the exchange" in said.message
        r.engine.executor.hold_protection.discard("a1")
        await _first_candle(r)
        sent = [o.role for cid, o in r.x.orders.items() if cid not in before]
        assert set(sent[:2]) == PROTECTIVE and sent[2:] == [OrderRole.ENTRY], sent
        assert "a1" not in r.engine.executor.cover_first, "asked once: covered, it trades on"

    asyncio.run(go())
