"""What :meth:`Protector.ensure` sends once a position changed: the leftover leg of a bracket
canceled when the position is gone, a pair resized when the position grew, nothing sent while
the pair rests or while reconciliation holds protection back.

The venue (:class:`~tests.trading.slow_venue.SlowVenue`) links no orders: a stop that fills
leaves its take-profit working there until someone cancels it. The engine leaves a filled
stop's partner to the venue (one-cancels-the-other); when protection is next asked for the
symbol (the partner's report, reconciliation finding the position gone) whatever still works
on a closed position is canceled.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.events import Event, TradeClosed
from rampart.domain.orders import OrderRole, OrderStatus
from rampart.trading.engine import Engine

from .held import HeldVenue, elsewhere, held
from .helpers import SYMBOL

D = Decimal
PROTECTIVE = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


def test_a_filled_stop_leaves_no_take_profit_working_and_no_monitor() -> None:
    async def scenario() -> tuple[Engine, HeldVenue, str, str]:
        engine, venue = await held("10")
        (entry,) = venue.entries()
        (stop,) = venue.working(OrderRole.STOP_LOSS)
        (take,) = venue.working(OrderRole.TAKE_PROFIT)
        acct = engine.accounts["a1"]
        acct.bracket_book.hold(SYMBOL)  # as after an earlier refusal of a pair
        # Another position's stop, on another symbol: not this position's to cancel.
        elsewhere(acct, OrderRole.STOP_LOSS)
        venue.fill(stop, D(10))
        await engine.executor.drain()
        # The take-profit is left to the venue, as a one-cancels-the-other pair (the entry
        # still buying is stopped: tests/trading/test_stop_out_entry.py).
        assert venue.cancels == [entry]
        await engine.executor.ensure_protection(acct, SYMBOL)  # as reconciliation asks
        return engine, venue, entry, take

    engine, venue, entry, take = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert SYMBOL not in acct.ledger.positions
    assert venue.cancels == [entry, take] and not venue.working(OrderRole.TAKE_PROFIT)
    assert acct.orders["eth-stop_loss"].is_open
    assert not list(acct.open_orders(SYMBOL, roles=PROTECTIVE))
    assert SYMBOL not in acct.guarded and acct.bracket_book.refusal(SYMBOL) is None


def test_a_grown_position_gets_one_new_pair_for_all_of_it_and_a_resting_pair_is_left_alone() -> (
    None
):
    async def scenario() -> tuple[Engine, HeldVenue, list[str]]:
        engine, venue = await held("10")
        acct = engine.accounts["a1"]
        old = venue.working(OrderRole.STOP_LOSS) + venue.working(OrderRole.TAKE_PROFIT)
        (entry,) = venue.entries()
        venue.fill(entry, D(5))
        await engine.executor.drain()
        # 15 of the entry's 20 bought, its last step (half) passed at the first part: the
        # pair keeps its 10 until the entry ends, the monitor holds the stop for the 5 above.
        assert venue.pairs == [(D(10), D(10))] and SYMBOL in acct.guarded
        assert engine.executor.is_protected(acct, acct.ledger.positions[SYMBOL])
        venue.finish(entry, OrderStatus.CANCELED)
        await engine.executor.drain()
        # Asked again with nothing changed: the pair of 15 rests, nothing is sent.
        await engine.executor.protection.ensure(acct, SYMBOL)
        return engine, venue, old

    engine, venue, old = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert acct.ledger.positions[SYMBOL].qty == D(15)
    assert venue.pairs == [(D(10), D(10)), (D(15), D(15))]
    assert sorted(venue.cancels) == sorted(old)
    assert SYMBOL not in acct.guarded
    live = list(acct.open_orders(SYMBOL, roles=PROTECTIVE))
    assert sorted(o.qty for o in live) == [D(15), D(15)]
    assert engine.executor.is_protected(acct, acct.ledger.positions[SYMBOL])


def test_nothing_is_sent_while_reconciliation_holds_protection_back() -> None:
    async def scenario() -> tuple[Engine, HeldVenue]:
        engine, venue = await held("10")
        engine.executor.hold_protection.add("a1")
        (entry,) = venue.entries()
        venue.fill(entry, D(5))
        await engine.executor.drain()
        return engine, venue

    engine, venue = asyncio.run(scenario())
    assert venue.pairs == [(D(10), D(10))] and venue.cancels == []


def test_a_fill_that_races_an_exit_is_sold_too_and_no_pair_is_placed_meanwhile() -> None:
    async def scenario() -> tuple[Engine, HeldVenue]:
        engine, venue = await held("0.5")
        venue.hold_exits = True
        acct = engine.accounts["a1"]
        await engine.executor.exit_position(acct, SYMBOL, "the agent closes")
        elsewhere(acct, OrderRole.EXIT)  # selling another symbol: not this position
        # The entry's cancel is on its way when a last part of it fills.
        (entry,) = venue.entries()
        venue.fill(entry, D("0.25"))
        await engine.executor.drain()
        return engine, venue

    engine, venue = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    exits = [o for o in acct.open_orders(SYMBOL, roles=(OrderRole.EXIT,))]
    assert [(o.qty, o.reason) for o in exits] == [
        (D("0.5"), "the agent closes"),
        (D("0.25"), "closing the rest of the position"),
    ]
    assert venue.pairs == [(D("0.5"), D("0.5"))]  # none while the exits sell it all
    assert not list(acct.open_orders(SYMBOL, roles=PROTECTIVE))


def test_less_than_a_lot_waits_for_its_entry_then_closes_as_dust() -> None:
    async def scenario() -> tuple[Engine, HeldVenue, list[Event], bool, bool]:
        engine, venue = await held("0.000005")
        acct = engine.accounts["a1"]
        events: list[Event] = []
        engine.bus.subscribe(events.append)
        elsewhere(acct, OrderRole.ENTRY)  # buying another symbol: this one's entry is done
        # The entry is still buying: no order can sell half a lot, the monitor watches it.
        holding, watched = SYMBOL in acct.ledger.positions, SYMBOL in acct.guarded
        (entry,) = venue.entries()
        venue.finish(entry, OrderStatus.CANCELED)
        await engine.executor.drain()
        await engine.executor.ensure_protection(acct, SYMBOL)  # the next ask for the symbol
        return engine, venue, events, holding, watched

    engine, venue, events, holding, watched = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert holding and watched
    assert venue.pairs == [] and not venue.open
    assert SYMBOL not in acct.ledger.positions and SYMBOL not in acct.guarded
    (closed,) = [e.trade for e in events if isinstance(e, TradeClosed)]
    assert closed.symbol == SYMBOL and closed.qty == D("0.000005")


def test_a_venue_that_keeps_dropping_the_pair_is_asked_three_times_per_instant() -> None:
    async def scenario() -> tuple[Engine, HeldVenue, list[int], bool]:
        venue = HeldVenue()
        venue.drop_pairs = True
        engine, _ = await held("10", venue)
        acct = engine.accounts["a1"]
        asked, watched = [len(venue.pairs)], SYMBOL in acct.guarded
        clock = engine.clock
        assert isinstance(clock, SimClock)
        # A minute later: three tries again, all dropped.
        clock.set(60_000)
        await engine.executor.ensure_protection(acct, SYMBOL)
        await engine.executor.drain()  # the venue's reports that it dropped them
        asked.append(len(venue.pairs))
        # Another minute: the venue keeps the pair; asked once, and it rests.
        venue.drop_pairs = False
        clock.set(120_000)
        await engine.executor.ensure_protection(acct, SYMBOL)
        await engine.executor.ensure_protection(acct, SYMBOL)
        return engine, venue, asked, watched

    engine, venue, asked, watched = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert asked == [3, 6] and watched  # meanwhile the position monitor holds the stop
    assert venue.pairs == [(D(10), D(10))] * 7
    assert SYMBOL not in acct.guarded
    assert engine.executor.is_protected(acct, acct.ledger.positions[SYMBOL])


def test_reports_arriving_together_are_all_booked_before_one_pair_is_sized() -> None:
    async def scenario() -> HeldVenue:
        engine, venue = await held("10")
        (entry,) = venue.entries()
        # Two fills of the entry reported before the engine reads either.
        venue.fill(entry, D(5))
        venue.fill(entry, D(3))
        venue.finish(entry, OrderStatus.CANCELED)  # the entry ends: the pair's last re-size
        assert engine.executor.has_work()
        await engine.executor.drain()
        assert not engine.executor.has_work()
        return venue

    venue = asyncio.run(scenario())
    # One pair for all 18, not one for 15 replaced at once by one for 18.
    assert venue.pairs == [(D(10), D(10)), (D(18), D(18))]
