"""Brackets fit what was filled: under the paper venue's volume cap an entry, its
stop and its exit fill a part per candle. The bracket follows the quantity held, is sent again
only when that quantity changes, and a venue that refuses it is asked again after a growing
number of candles while the position monitor holds the stop."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

from rampart.domain.errors import VenueError
from rampart.domain.events import Event, FillBooked, OrderUpdated, TradeClosed
from rampart.domain.orders import OrderRole, OrderStatus

from .helpers import SYMBOL, ScriptedAgent, build, candle, feed, long_intent

THIN = 10.0
"""Candle volume: the venue fills at most 10 % of it per candle, 1 BTC, while the moderate
profile sizes the entry at 20 BTC (20 % of 10,000 USDT at 100)."""


def long_at_first() -> ScriptedAgent:
    return ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.04")] if i == 0 else [])


def collect(bus) -> list[Event]:  # type: ignore[no-untyped-def]
    events: list[Event] = []
    bus.subscribe(events.append)
    return events


def created(events: list[Event], roles: tuple[OrderRole, ...]) -> list[OrderUpdated]:
    return [
        e
        for e in events
        if isinstance(e, OrderUpdated)
        and e.order.status is OrderStatus.NEW
        and e.order.role in roles
    ]


def test_a_partly_filled_entry_and_a_stop_filling_over_candles_get_at_most_two_orders_a_fill() -> (
    None
):
    async def go() -> None:
        engine, _, clock, bus = await build(long_at_first())
        events = collect(bus)
        quiet = [candle(i, 100, 100.5, 99.5, 100, THIN) for i in range(6)]
        # Below the stop (98) for long enough that the stop sells the position a part a candle.
        falling = [candle(i, 97, 97.5, 96.5, 97, THIN) for i in range(6, 60)]
        await feed(engine, clock, quiet + falling)
        acct = engine.accounts["a1"]
        fills = Counter(e.role for e in events if isinstance(e, FillBooked))
        brackets = created(events, (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT))
        refused = [
            e
            for e in events
            if isinstance(e, OrderUpdated)
            and e.order.role.protective
            and e.order.status is OrderStatus.REJECTED
        ]
        assert fills["entry"] >= 6, "the volume cap must split the entry"
        assert fills["stop_loss"] >= 2, "the volume cap must split the stop too"
        assert refused == [], [e.order.reason for e in refused[:2]]
        # One stop and one take-profit for each fill that changed the quantity held.
        assert len(brackets) <= 2 * fills["entry"], (len(brackets), fills)
        # A stop that has begun to sell is not replaced, and the entry stops buying into it.
        assert SYMBOL not in acct.ledger.positions
        trades = [e.trade for e in events if isinstance(e, TradeClosed)]
        assert len(trades) == 1 and trades[0].exit_reason == "stop_loss"
        assert trades[0].qty < Decimal(20), "the entry's rest was canceled once the stop sold"
        assert acct.orders == {}
        assert engine.violations == 0

    asyncio.run(go())


def test_a_bracket_the_venue_keeps_refusing_backs_off_and_the_monitor_still_exits() -> None:
    async def go() -> None:
        engine, venue, clock, bus = await build(long_at_first())
        events = collect(bus)
        tries: list[int] = []

        async def refuse(stop, take) -> None:  # type: ignore[no-untyped-def]
            tries.append(clock.now_ms())
            raise VenueError("Stop orders are not accepted on this market right now.")

        venue.submit_oco = refuse  # type: ignore[method-assign]
        quiet = [candle(i, 100, 100.5, 99.5, 100) for i in range(200)]
        await feed(engine, clock, quiet)
        acct = engine.accounts["a1"]
        assert SYMBOL in acct.ledger.positions and SYMBOL in acct.guarded
        assert engine.executor.is_protected(acct, acct.ledger.positions[SYMBOL])
        # Tries at candles 0, 1, 3, 7, 15, 31, 63, 127 and then every 64 candles: not 200.
        assert len(tries) <= 10, len(tries)
        assert len(set(tries)) == len(tries), "never twice on one candle"
        # The monitor still holds the stop: a candle below it closes the position at market.
        await feed(engine, clock, [candle(200, 99, 99, 97, 97.5)])
        assert SYMBOL not in acct.ledger.positions
        trades = [e.trade for e in events if isinstance(e, TradeClosed)]
        exits = created(events, (OrderRole.EXIT,))
        assert len(trades) == 1 and trades[0].exit_reason == "exit"
        assert [e.order.reason for e in exits] == ["position monitor"]
        assert engine.violations == 0

    asyncio.run(go())


def test_a_refused_bracket_is_tried_again_at_once_when_the_quantity_changes() -> None:
    async def go() -> None:
        engine, venue, clock, bus = await build(long_at_first())
        sizes: list[Decimal] = []
        real = venue.submit_oco

        async def refuse_first(stop, take) -> None:  # type: ignore[no-untyped-def]
            sizes.append(stop.qty)
            if len(sizes) == 1:
                raise VenueError("The exchange is busy; try again.")
            await real(stop, take)

        venue.submit_oco = refuse_first  # type: ignore[method-assign]
        # The entry fills 1 BTC a candle: the second fill changes the quantity, so the bracket
        # is sent again on that candle, for the new quantity, without waiting out a back-off.
        await feed(engine, clock, [candle(i, 100, 100.5, 99.5, 100, THIN) for i in range(2)])
        acct = engine.accounts["a1"]
        pos = acct.ledger.positions[SYMBOL]
        assert sizes == [Decimal(1), Decimal(2)] and pos.qty == Decimal(2)
        stops = list(acct.open_orders(SYMBOL, roles=(OrderRole.STOP_LOSS,)))
        assert [o.qty for o in stops] == [pos.qty]
        assert SYMBOL not in acct.guarded

    asyncio.run(go())
