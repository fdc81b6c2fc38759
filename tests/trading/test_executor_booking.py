"""Booking fills: the position takes its entry's bracket, every fill is published with its role
and a copy of the position, a stop that starts selling stops the entry from buying more, and
the trade closed by the last sell reaches the breakers with its entry, prices and reason.

The venue (:class:`~tests.trading.slow_venue.SlowVenue`) fills when the test says, at the price
the test sets, with no fee.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.events import Event, FillBooked, PositionChanged, TradeClosed
from rampart.domain.orders import OrderRole, OrderStatus
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine

from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent, candle, long_intent
from .slow_venue import SlowVenue

D = Decimal


async def _scenario() -> tuple[Engine, SlowVenue, list[Event], dict[str, object]]:
    venue = SlowVenue(INSTRUMENT, D(100))
    agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.05")] if i == 0 else [])
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    engine = Engine(
        venue=venue,
        clock=SimClock(0),
        bus=bus,
        make_agent=lambda name, params: agent,  # type: ignore[arg-type,return-value]
        profile_for=get_profile,
        taker_fee=D(0),
    )
    await engine.add_account(AccountSpec("a1", "scripted", "moderate", D(10_000), (SYMBOL,)))
    await engine.on_candle(candle(0, 100, 100, 100, 100))
    acct = engine.accounts["a1"]
    seen: dict[str, object] = {}
    (entry,) = venue.entries()
    venue.now = 60_000
    venue.fill(entry, D(10))
    await engine.executor.drain()
    seen["entry"] = entry
    seen["position_after_entry"] = acct.ledger.positions[SYMBOL]
    (stop,) = [c for c, o in venue.open.items() if o.role is OrderRole.STOP_LOSS]
    seen["stop"] = stop
    (take,) = [c for c, o in venue.open.items() if o.role is OrderRole.TAKE_PROFIT]
    # The stop triggers: its take-profit goes (one cancels the other), the venue sells 4 of 10
    # at 98, then the rest.
    venue.price = D(98)
    venue.now = 120_000
    venue.finish(take, OrderStatus.CANCELED)
    venue.fill(stop, D(4))
    await engine.executor.drain()
    seen["pending_after_first_sell"] = set(acct.pending_cancel)
    seen["qty_after_first_sell"] = acct.ledger.positions[SYMBOL].qty
    venue.fill(stop, D(6))
    await engine.executor.drain()
    return engine, venue, events, seen


def test_fills_are_booked_with_the_entrys_bracket_and_published_with_a_copy() -> None:
    engine, _venue, events, seen = asyncio.run(_scenario())
    entry = seen["entry"]
    booked = [e for e in events if isinstance(e, FillBooked)]
    assert [(e.role, e.strategy, e.fill.qty, e.fill.price) for e in booked] == [
        ("entry", "scripted", D(10), D(100)),
        ("stop_loss", "scripted", D(4), D(98)),
        ("stop_loss", "scripted", D(6), D(98)),
    ]
    assert [e.ts for e in booked] == [60_000, 120_000, 120_000]
    changes = [e for e in events if isinstance(e, PositionChanged)]
    assert [(e.account_id, e.symbol) for e in changes] == [("a1", SYMBOL)] * 3
    first = changes[0].position
    assert first is not None and first is not seen["position_after_entry"]  # a copy
    assert (first.qty, first.avg_price, first.stop_loss, first.take_profit) == (
        D(10),
        D(100),
        D(98),
        D(105),
    )
    assert first.entry_client_id == entry
    assert changes[1].position is not None and changes[1].position.qty == D(6)
    assert changes[2].position is None  # closed


def test_a_stop_that_starts_selling_stops_the_entry_from_buying_more() -> None:
    _engine, _venue, _events, seen = asyncio.run(_scenario())
    assert seen["qty_after_first_sell"] == D(6)
    assert seen["entry"] in seen["pending_after_first_sell"]  # its cancel is on its way


def test_the_closed_trade_carries_its_entry_prices_and_reason_to_the_breakers() -> None:
    engine, _venue, events, seen = asyncio.run(_scenario())
    (closed,) = [e.trade for e in events if isinstance(e, TradeClosed)]
    assert (closed.account_id, closed.symbol, closed.strategy) == ("a1", SYMBOL, "scripted")
    assert closed.entry_client_id == seen["entry"]
    assert (closed.qty, closed.entry_price, closed.exit_price) == (D(10), D(100), D(98))
    assert closed.pnl == D(-20) and closed.exit_reason == "stop_loss"
    assert (closed.stop_loss, closed.take_profit) == (D(98), D(105))
    assert (closed.opened_at, closed.closed_at) == (60_000, 120_000)
    acct = engine.accounts["a1"]
    assert acct.breakers.consecutive_losses == 1  # the breakers heard of the loss
    # The entry's cancel is not confirmed: it may still fill, and a position it opens then
    # needs its bracket, kept until the entry ends (tests/trading/test_stop_out_entry.py).
    assert seen["entry"] in acct.orders and seen["entry"] in acct.brackets
