"""What each venue report does to the order it names, and what the log says of it.

The log lines are part of the contract: `rampart trace` and an operator reading an incident
follow an order through them by its client id and account, so each names both.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from decimal import Decimal
from typing import Any

from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.domain.events import Event, OrderUpdated, ReportUnexplained
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import Order, OrderRole, OrderStatus, Side
from rampart.trading.engine import Engine
from rampart.trading.ports import VenueReport
from tests.log_lines import every_log_line

from .helpers import SYMBOL
from .test_executor_sending import NOW, AnsweringVenue, _engine, _entry

D = Decimal
LATER = NOW + 5_000


def _buy(qty: str, fill_id: str = "f1", client_id: str = "e1") -> Fill:
    return Fill(
        fill_id, client_id, "a1", SYMBOL, Side.BUY, D(qty), D(99), D(0), Liquidity.TAKER, LATER
    )


def _logged(logs: list[MutableMapping[str, Any]], event: str) -> list[MutableMapping[str, Any]]:
    return [
        {k: v for k, v in entry.items() if k not in ("event", "log_level")}
        for entry in logs
        if entry["event"] == event
    ]


def _updates(events: list[Event]) -> list[tuple[OrderStatus, OrderStatus, int]]:
    return [(e.previous, e.order.status, e.ts) for e in events if isinstance(e, OrderUpdated)]


async def _sent(
    *reports: VenueReport, status: OrderStatus | None = None
) -> tuple[Engine, AnsweringVenue, list[Event], Order, list[MutableMapping[str, Any]]]:
    """Entry ``e1`` (1 at 99) sent and working, set to ``status`` if given; then ``reports``
    applied."""
    engine, venue, events = await _engine()
    order = _entry()
    await engine.executor.submit(engine.accounts["a1"], order)
    await engine.executor.drain()  # the venue's "submitted"
    if status is not None:
        order.status = status
    events.clear()
    with every_log_line() as logs:
        for report in reports:
            venue._listener(report)
        await engine.executor.drain()
    return engine, venue, events, order, logs


def test_a_first_fill_on_a_new_order_submits_it_at_the_reports_time_and_names_the_venue_id() -> (
    None
):
    report = VenueReport(
        "a1", "e1", OrderStatus.PARTIALLY_FILLED, LATER, _buy("0.4"), venue_order_id="v-77"
    )
    _engine_, _venue, events, order, _logs = asyncio.run(_sent(report, status=OrderStatus.NEW))
    assert order.venue_order_id == "v-77"
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.filled_qty == D("0.4")
    assert order.updated_at == LATER
    assert order.history[-2:] == [
        (LATER, OrderStatus.SUBMITTED),
        (LATER, OrderStatus.PARTIALLY_FILLED),
    ]
    assert _updates(events) == [(OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, LATER)]


def test_a_whole_execution_settles_the_order_at_what_it_came_to_and_says_so() -> None:
    # A swap sized from a price: 0.98 of the 1 ordered is the whole execution.
    report = VenueReport("a1", "e1", OrderStatus.FILLED, LATER, _buy("0.98"), whole=True)
    engine, _venue, _events, order, logs = asyncio.run(_sent(report))
    assert order.status is OrderStatus.FILLED and order.filled_qty == D("0.98")
    assert order.qty == D("0.98")
    assert engine.accounts["a1"].ledger.positions[SYMBOL].qty == D("0.98")
    assert "e1" not in engine.accounts["a1"].orders
    assert _logged(logs, "order_settled_at_executed") == [
        {"account_id": "a1", "order": "e1", "ordered": "1", "executed": "0.98"}
    ]


def test_a_whole_execution_of_exactly_the_order_needs_no_settling() -> None:
    report = VenueReport("a1", "e1", OrderStatus.FILLED, LATER, _buy("1"), whole=True)
    _engine_, _venue, _events, order, logs = asyncio.run(_sent(report))
    assert order.status is OrderStatus.FILLED and order.qty == D(1)
    assert _logged(logs, "order_settled_at_executed") == []


def test_the_same_fill_twice_is_logged_once_as_already_booked() -> None:
    first = VenueReport("a1", "e1", OrderStatus.PARTIALLY_FILLED, LATER, _buy("0.5", "f7"))
    engine, _venue, _events, order, logs = asyncio.run(_sent(first, first))
    assert order.filled_qty == D("0.5")
    assert _logged(logs, "fill_already_booked") == [{"account_id": "a1", "fill": "f7"}]


def test_a_status_for_an_order_the_books_do_not_hold_is_kept_and_logged_not_an_incident() -> None:
    report = VenueReport("a1", "ghost", OrderStatus.CANCELED, LATER)
    elsewhere = VenueReport("zz", "e1", OrderStatus.FILLED, LATER, _buy("1"))
    engine, _venue, events, order, logs = asyncio.run(_sent(report, elsewhere))
    assert list(engine.executor.unmatched_reports) == [report, elsewhere]
    assert _logged(logs, "report_for_unknown_order") == [
        {"account_id": "a1", "order": "ghost", "status": "canceled"},
        {"account_id": "zz", "order": "e1", "status": "filled"},
    ]
    assert not engine.accounts["a1"].close_only
    assert not [e for e in events if isinstance(e, ReportUnexplained)]
    assert order.filled_qty == 0  # the other account's fill is not this order's


def test_submitted_moves_an_unknown_order_back_to_working_at_the_reports_time() -> None:
    report = VenueReport("a1", "e1", OrderStatus.SUBMITTED, LATER)
    _engine_, _venue, events, order, _logs = asyncio.run(_sent(report, status=OrderStatus.UNKNOWN))
    assert order.status is OrderStatus.SUBMITTED and order.updated_at == LATER
    assert _updates(events) == [(OrderStatus.UNKNOWN, OrderStatus.SUBMITTED, LATER)]


def test_an_end_reported_for_an_order_already_ended_changes_nothing() -> None:
    report = VenueReport("a1", "e1", OrderStatus.EXPIRED, LATER, reason="too late")
    _engine_, _venue, events, order, _logs = asyncio.run(_sent(report, status=OrderStatus.CANCELED))
    assert order.status is OrderStatus.CANCELED and order.reason == ""
    assert _updates(events) == []


def test_an_end_keeps_the_venues_reason_and_time() -> None:
    report = VenueReport("a1", "e1", OrderStatus.EXPIRED, LATER, reason="good for 1 day")
    engine, _venue, events, order, _logs = asyncio.run(_sent(report))
    assert order.status is OrderStatus.EXPIRED
    assert (order.reason, order.updated_at) == ("good for 1 day", LATER)
    assert _updates(events) == [(OrderStatus.SUBMITTED, OrderStatus.EXPIRED, LATER)]
    assert "e1" not in engine.accounts["a1"].orders


def test_a_cancel_refused_or_unconfirmed_is_logged_with_the_account_and_order() -> None:
    async def scenario(error: Exception) -> list[MutableMapping[str, Any]]:
        engine, venue, _events = await _engine()
        acct = engine.accounts["a1"]
        await engine.executor.submit(acct, _entry(OrderRole.TAKE_PROFIT))
        venue.cancel_error = error
        with every_log_line() as logs:
            await engine.executor.cancel(acct, "e1")
        return logs

    gone = asyncio.run(scenario(VenueError("no such order", code="order_not_found")))
    assert _logged(gone, "cancel_refused") == [
        {"account_id": "a1", "order": "e1", "why": "order_not_found"}
    ]
    unsure = asyncio.run(scenario(OutcomeUnknown("on its way")))
    assert _logged(unsure, "cancel_unconfirmed") == [{"account_id": "a1", "order": "e1"}]


def test_an_unexplained_report_is_logged_and_published_at_the_clocks_time() -> None:
    report = VenueReport("a1", "e1", OrderStatus.FILLED, LATER, _buy("3"))
    engine, _venue, events, _order, logs = asyncio.run(_sent(report))
    detail = "a fill of 3 on an order with 1 left"
    assert _logged(logs, "venue_report_unexplained") == [
        {"account_id": "a1", "order": "e1", "symbol": SYMBOL, "detail": detail}
    ]
    published = [
        e
        for e in events
        if type(e).__name__
        in ("ReportUnexplained", "ReconciliationRepaired", "AccountStateChanged")
    ]
    assert [(type(e).__name__, e.ts, e.account_id) for e in published] == [
        ("ReportUnexplained", NOW, "a1"),
        ("ReconciliationRepaired", NOW, "a1"),
        ("AccountStateChanged", NOW, "a1"),
    ]
    repaired = published[1]
    assert (repaired.symbol, repaired.detail) == (SYMBOL, engine.accounts["a1"].close_only)


def test_an_unexplained_report_naming_no_order_says_so() -> None:
    async def scenario() -> Engine:
        engine, _venue, _events = await _engine()
        engine.executor.unexplained("a1", None, SYMBOL, "coins moved")
        engine.executor.unexplained("nobody", "x", SYMBOL, "coins moved")  # no such account
        return engine

    acct = asyncio.run(scenario()).accounts["a1"]
    assert acct.unexplained_order == "?"
    assert acct.close_only.startswith("The venue reported something about order ? that")


def test_a_status_without_a_fill_that_is_not_an_end_leaves_the_order_working() -> None:
    # A poll answering "partially filled" before the fill itself is reported.
    report = VenueReport("a1", "e1", OrderStatus.PARTIALLY_FILLED, LATER)
    engine, _venue, events, order, _logs = asyncio.run(_sent(report))
    assert order.status is OrderStatus.SUBMITTED and order.filled_qty == 0
    assert engine.accounts["a1"].orders["e1"] is order
    assert _updates(events) == []
