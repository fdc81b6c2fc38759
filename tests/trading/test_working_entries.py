"""An entry still working across a candle counts toward the exposure on its symbol.

On the paper venue a market entry fills at most 10 % of a bar's volume, so on bars that
trade almost nothing it stays working, unfilled, into the next candle: the same thing a swap
being re-sent on a chain, or a thin order book, does on a real venue. A second entry on that
symbol then must be refused, or both fill into one position twice the profile's largest.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.events import IntentRejected
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.risk.codes import RejectCode
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue

from .helpers import (
    INSTRUMENT,
    MINUTE,
    SYMBOL,
    ScriptedAgent,
    build,
    candle,
    feed,
    long_intent,
)

D = Decimal

THIN = 0.00005
"""A bar's volume whose 10 % is below one lot (0.00001 BTC): a market entry gets nothing."""
LARGEST = Decimal("20")
"""The moderate profile's largest position on 10,000 USDT at 100: 20 % = 2,000 USDT."""


def entry_on_every_candle() -> ScriptedAgent:
    def script(i: int, view) -> list[Intent]:
        return [long_intent(view, "0.98", "1.05")]

    return ScriptedAgent(script)


def working_entries(engine) -> list:
    acct = engine.accounts["a1"]
    return [o for o in acct.orders.values() if o.role is OrderRole.ENTRY]


def test_a_second_entry_is_refused_while_the_first_is_still_working() -> None:
    async def go() -> None:
        engine, venue, clock, bus = await build(entry_on_every_candle())
        refused: list[IntentRejected] = []
        bus.subscribe(lambda e: refused.append(e) if isinstance(e, IntentRejected) else None)
        acct = engine.accounts["a1"]
        await feed(engine, clock, [candle(0, 100, 100, 100, 100, THIN)])
        [first] = working_entries(engine)
        assert first.qty == LARGEST and first.filled_qty == 0
        await feed(engine, clock, [candle(1, 100, 100, 100, 100, THIN)])
        # The first entry is still working, unfilled: the second is refused in words.
        assert [o.client_id for o in working_entries(engine)] == [first.client_id]
        assert [e.code for e in refused] == ["entry_working"]
        why = acct.rejections[-1]
        assert why.code == "entry_working" and why.symbol == SYMBOL
        assert why.message == (
            "An entry for 20 BTC on BTC/USDT (about 2,000 USDT) is still working; this "
            "account keeps one position per symbol, so a new entry waits until that one "
            "fills, is canceled or expires."
        )
        # A bar with volume fills the working entry: one position, of the profile's size.
        await feed(engine, clock, [candle(2, 100, 100, 100, 100, 1e6)])
        assert acct.ledger.positions[SYMBOL].qty == LARGEST
        assert working_entries(engine) == []
        assert engine.violations == 0

    asyncio.run(go())


def test_a_partly_filled_entry_counts_its_fill_as_position_and_its_rest_as_working() -> None:
    async def go() -> None:
        engine, venue, clock, bus = await build(entry_on_every_candle())
        acct = engine.accounts["a1"]
        # 10 % of 50 BTC: the entry of 20 BTC gets 5 now and waits for the other 15.
        await feed(engine, clock, [candle(0, 100, 100, 100, 100, 50)])
        [first] = working_entries(engine)
        assert first.filled_qty == Decimal("5")
        await feed(engine, clock, [candle(1, 100, 100, 100, 100, THIN)])
        why = acct.rejections[-1]
        assert why.code == "position_exists"
        assert why.message == (
            "This account already holds 5 BTC on BTC/USDT and an entry is still buying 15 BTC "
            "more (about 1,500 USDT); it keeps one position per symbol."
        )
        await feed(engine, clock, [candle(2, 100, 100, 100, 100, 1e6)])
        assert acct.ledger.positions[SYMBOL].qty == LARGEST
        assert engine.violations == 0

    asyncio.run(go())


def entry(client_id: str, qty: str, **kw: Any) -> Order:
    return Order(
        client_id,
        "a1",
        kw.pop("symbol", SYMBOL),
        Side.BUY,
        kw.pop("type", OrderType.MARKET),
        Decimal(qty),
        OrderRole.ENTRY,
        status=OrderStatus.SUBMITTED,
        **kw,
    )


def test_the_risk_view_counts_each_working_entry_of_the_symbol_once() -> None:
    async def go() -> None:
        engine, venue, clock, bus = await build(ScriptedAgent(lambda i, view: []))
        await feed(engine, clock, [candle(0, 100, 100, 100, 100)])  # the last price: 100
        acct = engine.accounts["a1"]
        stop = Order(
            "o4",
            "a1",
            SYMBOL,
            Side.SELL,
            OrderType.STOP_MARKET,
            Decimal("5"),
            OrderRole.STOP_LOSS,
            stop_price=Decimal("98"),
        )
        orders = [
            # A market entry with 5 of 20 bought: its 15 left count, at the last price.
            entry("o1", "20", filled_qty=Decimal("5")),
            # A limit entry asked to cancel, unconfirmed: its 4 may still fill, at 90.
            entry("o2", "4", type=OrderType.LIMIT, price=Decimal("90")),
            # Another symbol's entry and this symbol's stop-loss buy nothing here.
            entry("o3", "3", symbol="ETH/USDT"),
            stop,
        ]
        acct.orders = {o.client_id: o for o in orders}
        acct.pending_cancel = {"o2"}
        ctx = engine.risk_context(acct, SYMBOL, clock.now_ms())
        assert ctx.working_qty == Decimal("19")
        assert ctx.working_value == Decimal("1860")  # 15 × 100 + 4 × 90
        assert ctx.position_qty == 0
        intent = Intent(
            "a1",
            SYMBOL,
            Side.BUY,
            IntentAction.OPEN,
            Decimal("100"),
            Decimal("98"),
            Decimal("105"),
            agent="scripted",
            ts=clock.now_ms(),
        )
        refused = engine.risk.check(intent, ctx)
        assert refused.code is RejectCode.ENTRY_WORKING

    asyncio.run(go())


def test_a_partly_filled_entry_is_one_open_position_not_two() -> None:
    async def go() -> None:
        eth = Instrument("ETH/USDT", "ETH", "USDT", D("0.01"), D("0.0001"), D("0.0001"), D("5"))
        clock = SimClock(0)
        venue = PaperVenue({SYMBOL: INSTRUMENT, eth.symbol: eth}, clock=clock)
        venue.core.market_at_once = True  # an exchange's fill, as helpers.build explains

        def script(i: int, view) -> list[Intent]:
            if view.symbol == SYMBOL:
                return [long_intent(view, "0.98", "1.05")]
            if i == 0:
                return []
            entry = D(str(view.candle.close))
            return [
                Intent(
                    "a1",
                    eth.symbol,
                    Side.BUY,
                    IntentAction.OPEN,
                    entry,
                    entry * D("0.98"),
                    entry * D("1.05"),
                    agent="scripted",
                    ts=view.ts,
                )
            ]

        engine = Engine(
            venue=venue,
            clock=clock,
            bus=EventBus(),
            make_agent=lambda name, params: ScriptedAgent(script),  # type: ignore[arg-type,return-value]
            profile_for=get_profile,
            taker_fee=D("0.001"),
        )
        # Conservative: at most 2 open positions.
        spec = AccountSpec("a1", "scripted", "conservative", D(10_000), (SYMBOL, eth.symbol))
        await engine.add_account(spec)
        acct = engine.accounts["a1"]
        # 10 % of 50 BTC: the BTC entry of 10 gets 5 and waits for the rest.
        clock.set(MINUTE)
        await engine.on_candle(candle(0, 100, 100, 100, 100, 50))
        assert acct.ledger.positions[SYMBOL].qty == D("5")
        assert engine.risk_context(acct, SYMBOL, clock.now_ms()).open_positions == 1
        await engine.on_candle(Candle(eth.symbol, 0, 50, 50, 50, 50, 1e6, MINUTE))
        clock.set(2 * MINUTE)
        await engine.on_candle(Candle(eth.symbol, MINUTE, 50, 50, 50, 50, 1e6, MINUTE))
        # One BTC position being bought, so ETH is the second of two allowed.
        assert [(r.symbol, r.message) for r in acct.rejections] == []
        assert eth.symbol in acct.ledger.positions

    asyncio.run(go())
