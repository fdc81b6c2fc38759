"""The executor's side of sending and canceling: what an order becomes when the venue refuses
it or does not answer, when a cancel counts as done, and how a report the books cannot take
puts the account in close-only mode once, with an incident each time.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec, TradingState
from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.domain.events import (
    AccountStateChanged,
    Event,
    OrderUpdated,
    ReconciliationRepaired,
    ReportUnexplained,
)
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.ports import VenueReport

from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent
from .slow_venue import SlowVenue

D = Decimal
NOW = 7_000


class AnsweringVenue(SlowVenue):
    """Raises what the test sets on the next submit or cancel; records the cancels asked."""

    def __init__(self) -> None:
        super().__init__(INSTRUMENT, D(100))
        self.submit_error: Exception | None = None
        self.cancel_error: Exception | None = None
        self.cancels: list[str] = []

    async def submit(self, order: Order) -> None:
        if self.submit_error is not None:
            raise self.submit_error
        await super().submit(order)

    async def cancel(self, account_id: str, client_id: str) -> None:
        self.cancels.append(client_id)
        if self.cancel_error is not None:
            raise self.cancel_error
        await super().cancel(account_id, client_id)


async def _engine() -> tuple[Engine, AnsweringVenue, list[Event]]:
    venue = AnsweringVenue()
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    engine = Engine(
        venue=venue,
        clock=SimClock(NOW),
        bus=bus,
        make_agent=lambda name, params: ScriptedAgent(lambda i, v: []),  # type: ignore[arg-type,return-value]
        profile_for=get_profile,
        taker_fee=D(0),
    )
    await engine.add_account(AccountSpec("a1", "scripted", "moderate", D(10_000), (SYMBOL,)))
    return engine, venue, events


def _entry(role: OrderRole = OrderRole.ENTRY) -> Order:
    return Order(
        client_id="e1",
        account_id="a1",
        symbol=SYMBOL,
        side=Side.BUY if role is OrderRole.ENTRY else Side.SELL,
        type=OrderType.LIMIT,
        qty=D(1),
        role=role,
        price=D(99),
    )


def _updates(events: list[Event]) -> list[tuple[OrderStatus, OrderStatus, int]]:
    return [(e.previous, e.order.status, e.ts) for e in events if isinstance(e, OrderUpdated)]


@pytest.mark.parametrize(
    ("error", "status", "reason", "kept"),
    [
        (
            VenueError("not enough USDT", code="insufficient_funds"),
            OrderStatus.REJECTED,
            "not enough USDT",
            False,
        ),
        (OutcomeUnknown("sent, no answer"), OrderStatus.UNKNOWN, "sent, no answer", True),
        (TimeoutError(), OrderStatus.UNKNOWN, "timed out", True),
        (ConnectionError("reset by peer"), OrderStatus.UNKNOWN, "reset by peer", True),
    ],
)
def test_a_refused_order_ends_and_an_unanswered_one_is_kept_as_unknown(
    error: Exception, status: OrderStatus, reason: str, kept: bool
) -> None:
    async def scenario() -> tuple[Engine, list[Event], Order]:
        engine, venue, events = await _engine()
        venue.submit_error = error
        order = _entry()
        await engine.executor.submit(engine.accounts["a1"], order)
        return engine, events, order

    engine, events, order = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert order.status is status and order.reason == reason
    assert ("e1" in acct.orders) is kept  # an unknown outcome is asked again later
    assert _updates(events) == [
        (OrderStatus.NEW, OrderStatus.NEW, NOW),
        (OrderStatus.NEW, status, NOW),
    ]
    assert order.created_at == NOW and acct.recent_orders[-1] is order


@pytest.mark.parametrize(
    ("error", "done"),
    [
        (None, True),
        (VenueError("no such order", code="order_not_found"), True),  # gone already
        (OutcomeUnknown("on its way"), False),
        (TimeoutError(), False),
        (ConnectionError("reset"), False),
    ],
)
def test_a_cancel_is_done_when_the_venue_confirms_or_says_the_order_is_gone(
    error: Exception | None, done: bool
) -> None:
    async def scenario() -> tuple[bool, bool, AnsweringVenue, Engine]:
        engine, venue, _events = await _engine()
        acct = engine.accounts["a1"]
        # A take-profit: this venue confirms the cancel of anything but an entry.
        await engine.executor.submit(acct, _entry(OrderRole.TAKE_PROFIT))
        venue.cancel_error = error
        first = await engine.executor.cancel(acct, "e1")
        # Asked again while the first cancel is pending: not sent twice, not done.
        second = await engine.executor.cancel(acct, "e1")
        return first, second, venue, engine

    first, second, venue, engine = asyncio.run(scenario())
    assert first is done and second is False
    assert venue.cancels == ["e1"]


def _fill(client_id: str, qty: str, fill_id: str = "f1") -> Fill:
    return Fill(
        fill_id, client_id, "a1", SYMBOL, Side.SELL, D(qty), D(100), D(0), Liquidity.TAKER, NOW
    )


def test_reports_the_books_cannot_take_stop_entries_once_and_each_is_an_incident() -> None:
    async def scenario() -> tuple[Engine, list[Event]]:
        engine, venue, events = await _engine()
        acct = engine.accounts["a1"]
        await engine.executor.submit(acct, _entry())
        listener = venue._listener
        # A fill for an order the books never sent, then a fill larger than an order's rest.
        listener(VenueReport("a1", "ghost", OrderStatus.FILLED, NOW, _fill("ghost", "2")))
        listener(VenueReport("a1", "e1", OrderStatus.FILLED, NOW, _fill("e1", "3", "f2")))
        await engine.executor.drain()
        return engine, events

    engine, events = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    unexplained = [e for e in events if isinstance(e, ReportUnexplained)]
    assert [(e.client_id, e.symbol) for e in unexplained] == [("ghost", SYMBOL), ("e1", SYMBOL)]
    assert unexplained[0].detail == "a fill of 2 at 100 for an order the books do not hold"
    assert unexplained[1].detail == "a fill of 3 on an order with 1 left"
    repairs = [e for e in events if isinstance(e, ReconciliationRepaired)]
    assert [(e.kind, e.client_id) for e in repairs] == [
        ("report_unexplained", "ghost"),
        ("report_unexplained", "e1"),
    ]
    # The first one is the account's reason, until an operator has looked.
    assert acct.unexplained_order == "ghost" and "order ghost" in acct.close_only
    assert acct.state is TradingState.REDUCING
    (change,) = [e for e in events if isinstance(e, AccountStateChanged)]
    assert (change.old, change.new, change.reason) == (
        TradingState.ACTIVE,
        TradingState.REDUCING,
        acct.close_only,
    )
    assert acct.orders["e1"].filled_qty == 0  # nothing booked from either
    assert not acct.ledger.positions
    assert [r.client_id for r in engine.executor.unmatched_reports] == ["ghost"]


def test_the_same_fill_reported_twice_is_booked_once_and_the_exact_rest_completes_the_order() -> (
    None
):
    async def scenario() -> Engine:
        engine, venue, _events = await _engine()
        acct = engine.accounts["a1"]
        await engine.executor.submit(acct, _entry())
        buy = Fill("f9", "e1", "a1", SYMBOL, Side.BUY, D("0.5"), D(99), D(0), Liquidity.MAKER, NOW)
        for _ in range(2):
            venue._listener(VenueReport("a1", "e1", OrderStatus.PARTIALLY_FILLED, NOW, buy))
        await engine.executor.drain()
        assert acct.orders["e1"].filled_qty == D("0.5")
        assert acct.ledger.positions[SYMBOL].qty == D("0.5")
        # Exactly the rest: booked, and the order is done.
        rest = Fill(
            "f10", "e1", "a1", SYMBOL, Side.BUY, D("0.5"), D(99), D(0), Liquidity.MAKER, NOW
        )
        venue._listener(VenueReport("a1", "e1", OrderStatus.FILLED, NOW, rest))
        await engine.executor.drain()
        return engine

    engine = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert "e1" not in acct.orders
    assert acct.ledger.positions[SYMBOL].qty == D(1)
    assert not acct.close_only
