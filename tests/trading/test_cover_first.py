"""A fresh holder (a start, a shard taken over) covers the coins an account holds before any
new entry of that account goes out.

The last holder died between an entry's fill and its pair: the checkpoint holds 1 BTC with
no stop anywhere. The fresh holder's agent buys on its first candle."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from rampart.domain.accounts import AccountSpec
from rampart.domain.events import IntentRejected
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import OrderRole, Side
from rampart.domain.positions import Position
from rampart.risk.breakers import BreakerState
from rampart.risk.codes import RejectCode
from rampart.risk.profiles import get_profile
from rampart.trading.account import AccountRuntime
from rampart.trading.bus import EventBus
from rampart.trading.cover_first import refusal
from tests.log_lines import every_log_line

from .exchange_fake import FakeVenue, add_account, make_engine
from .held import held
from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent, candle
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


async def _taken_with_a_bare_coin(
    script: Callable[[int, object], list[Intent]] = _adds, bare: bool = True
) -> tuple[Rig, set[str]]:
    """The last holder books a fill of 1 BTC and dies before its pair goes out; a fresh
    holder (a new engine and adapter over the same exchange) loads its checkpoint. Returns
    the rig and the client ids on the exchange before the fresh holder's first candle."""
    r = await rig()
    if bare:
        r.engine.executor.hold_protection.add("a1")  # no pair is placed for the fill
    entry = await r.enter()
    r.x.fill(entry, Decimal(1))
    r.x.end(entry)
    await r.engine.executor.drain()
    assert r.acct.ledger.positions[SYMBOL].qty == 1
    assert bool(r.x.open_orders("a1")) is not bare, "a stop rests for the coin unless bare"
    snapshot = r.checkpoint()
    r.venue = FakeVenue(r.x)
    bus = EventBus()
    bus.subscribe(r.events.append)
    r.engine = make_engine(r.venue, ScriptedAgent(script), r.clock, bus)
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
        with every_log_line() as logs:
            await _first_candle(r)
        (line,) = [e for e in logs if e["event"] == "entry_waits_for_cover"]
        assert line["account_id"] == "a1" and line["bare"] == [SYMBOL]
        assert [cid for cid in r.x.orders if cid not in before] == [], "nothing went out"
        (said,) = [e for e in r.events if isinstance(e, IntentRejected)]
        assert said.code == "cover_first"
        assert said.message == (
            f"The buy of {SYMBOL} waits: 1 BTC/USDT held since this start has no stop on the "
            "exchange and no monitor holding it yet. New entries go out once every coin the "
            "account holds is covered."
        )
        r.engine.executor.hold_protection.discard("a1")
        await _first_candle(r)
        sent = [o.role for cid, o in r.x.orders.items() if cid not in before]
        assert set(sent[:2]) == PROTECTIVE and sent[2:] == [OrderRole.ENTRY], sent
        assert "a1" not in r.engine.executor.cover_first, "asked once: covered, it trades on"

    asyncio.run(go())


def _closes(i: int, view: object) -> list[Intent]:
    return [
        Intent(
            view.account_id,  # type: ignore[attr-defined]
            SYMBOL,
            Side.SELL,
            IntentAction.CLOSE,
            Decimal(100),
            agent="scripted",
            ts=view.ts,  # type: ignore[attr-defined]
        )
    ]


def test_a_fresh_holders_sale_of_a_bare_coin_never_waits_for_its_cover() -> None:
    """Selling the coin is the quickest cover of all: only buys wait."""

    async def go() -> None:
        r, before = await _taken_with_a_bare_coin(_closes)
        r.engine.executor.hold_protection.add("a1")  # no pair can be placed meanwhile
        await _first_candle(r)
        sent = [o.role for cid, o in r.x.orders.items() if cid not in before]
        assert sent == [OrderRole.EXIT], sent
        assert not [e for e in r.events if isinstance(e, IntentRejected)]

    asyncio.run(go())


def test_a_fresh_holder_whose_coins_are_covered_buys_at_once_and_is_not_asked_again() -> None:
    async def go() -> None:
        r, before = await _taken_with_a_bare_coin(bare=False)
        r.engine.executor.hold_protection.add("a1")  # no pair could be placed now
        await _first_candle(r)
        sent = [o.role for cid, o in r.x.orders.items() if cid not in before]
        assert sent[:1] == [OrderRole.ENTRY], sent
        assert "a1" not in r.engine.executor.cover_first

    asyncio.run(go())


def test_on_a_venue_that_rests_no_stop_the_monitor_covers_and_nothing_waits() -> None:
    """``monitor`` bracket mode (a DEX): the position monitor holds every stop all along."""
    engine, _ = asyncio.run(held("1"))
    assert engine.accounts["a1"].ledger.positions[SYMBOL].qty == 1  # the buy went out
    assert "a1" not in engine.executor.cover_first, "asked once, and let go at once"


def test_a_buy_waiting_names_every_bare_coin_the_account_holds() -> None:
    """Two positions no stop covers and none can be placed yet: the buy's words name both,
    and a pair was asked for each."""
    spec = AccountSpec("a1", "scripted", "moderate", Decimal(10_000), (SYMBOL, "ETH/USDT"))
    acct = AccountRuntime(spec, get_profile("moderate"), BreakerState())
    for symbol, qty in ((SYMBOL, "0.5"), ("ETH/USDT", "3")):
        acct.ledger.positions[symbol] = Position(
            symbol, "scripted", "e1", 0, Decimal(90), Decimal(120), qty=Decimal(qty)
        )
    asked: list[str] = []

    async def ensure_protection(account: AccountRuntime, symbol: str) -> None:
        asked.append(symbol)  # its books are being compared: no pair goes out yet

    engine: Any = SimpleNamespace(
        venue=SimpleNamespace(instrument=lambda symbol: INSTRUMENT),
        capabilities=SimpleNamespace(native_brackets=True),
        executor=SimpleNamespace(cover_first={"a1"}, ensure_protection=ensure_protection),
    )
    buy = Intent("a1", SYMBOL, Side.BUY, IntentAction.ADD, Decimal(100), agent="scripted")
    said = asyncio.run(refusal(engine, acct, buy, 0))
    assert said is not None and said[0] is RejectCode.COVER_FIRST
    assert said[1].startswith(
        f"The buy of {SYMBOL} waits: 0.5 {SYMBOL}, 3 ETH/USDT held since this start has no stop"
    ), said[1]
    assert sorted(asked) == sorted([SYMBOL, "ETH/USDT"])
    assert engine.executor.cover_first == {"a1"}, "asked again at its next buy"
