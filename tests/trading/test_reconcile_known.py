"""Reconciliation, steps 1 and 2, on an exchange in memory: the books' own orders settled with
the venue (the survivors of ``trading/reconcile/known.py``).

An order the venue never received is declared so once the grace period is over, never
before; one whose request timed out is found by its client id and taken up where it is (filled,
working or ended) with each fill booked once at its own price and fee; what the trade history
cannot explain is reported, and the venue's own follow-up failing is said in words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

from rampart.domain.orders import OrderStatus, Side

from .reconcile_rig import START, SYMBOL, Rig, rig

D = Decimal
T = TypeVar("T")


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


def _cash_after(*fills: tuple[str, str, str]) -> Decimal:
    return D(10_000) - sum((D(q) * D(p) + D(f) for q, p, f in fills), D(0))


# -- an order the venue never received ------------------------------------------------------


def test_an_order_never_received_waits_out_the_grace_then_is_rejected_once() -> None:
    async def go() -> tuple[Rig, str, list, list, list]:
        r = await rig()
        cid = await r.enter("dropped")  # sent; nothing arrived and nothing was said
        assert r.acct.orders[cid].status is OrderStatus.NEW and cid not in r.x.orders
        r.at(START + 20_000)
        first = await r.reconcile()
        r.at(START + 29_999)
        await r.reconcile()
        still = r.acct.orders[cid].status
        r.at(START + 30_000)
        second = await r.reconcile()
        return r, cid, [first, still], second.differences, [second.repairs]

    r, cid, (first, still), differences, (repairs,) = run(go)
    assert (
        f"a1: order {cid} is not on the venue yet, 20 s after it was sent; it is checked "
        "again later." in first.differences
    )
    assert (
        f"a1: 1 order(s) still unconfirmed ({cid}); balances are compared once they are "
        "settled." in first.differences
    )
    assert still is OrderStatus.NEW and first.repairs == {}
    # At the end of the grace period, not a millisecond later: rejected, once.
    assert repairs == {"order_unknown_resolved": 1}, repairs
    assert differences == []
    (repair,) = r.repairs("order_unknown_resolved")
    assert repair.detail == f"Order {cid}: The venue has no such order: the request never arrived."
    r.about(repair, cid)
    assert cid not in r.acct.orders
    last = r.updates(cid)[-1]
    assert (last.status, last.updated_at) == (OrderStatus.REJECTED, START + 30_000)
    assert last.reason == "The venue has no such order: the request never arrived."


def test_an_order_whose_request_timed_out_and_never_arrived_is_left_to_the_venue() -> None:
    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter("lost")  # the request timed out; the exchange never got it
        assert r.acct.orders[cid].status is OrderStatus.UNKNOWN
        r.at(START + 600_000)  # long past the grace period
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    # Handed to the venue, which resolves it by client id once no late request can land.
    assert f"a1: order {cid} is not on the venue (yet); the venue keeps checking it." in (
        differences
    )
    assert r.acct.orders[cid].status is OrderStatus.UNKNOWN
    assert cid in r.venue.following("a1")
    assert r.repairs() == []


def test_an_acknowledged_order_the_venue_no_longer_has_is_closed_as_expired() -> None:
    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter()
        assert r.acct.orders[cid].status is OrderStatus.SUBMITTED
        # The adapter lost track of it and the exchange pruned it (an old, done order).
        del r.x.orders[cid]
        r.venue.followed.pop(cid)
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    (repair,) = r.repairs()
    assert (repair.kind, repair.detail) == (
        "order_closed",
        f"Order {cid}: The venue no longer has this order.",
    )
    r.about(repair, cid)
    assert cid not in r.acct.orders and r.updates(cid)[-1].status is OrderStatus.EXPIRED
    assert differences == []


# -- an order whose request timed out but arrived -------------------------------------------


def test_a_timed_out_order_found_working_is_acknowledged_and_followed() -> None:
    async def go() -> tuple[Rig, str, list[str], list]:
        r = await rig()
        cid = await r.enter("late")
        assert r.acct.orders[cid].status is OrderStatus.UNKNOWN
        r.venue.followed.pop(cid)  # the adapter never heard back
        r.at(START + 3_000)
        report = await r.reconcile()
        order = r.acct.orders[cid]
        assert order.updated_at == START + 3_000
        after = [order.status, order.venue_order_id, dict(r.venue.following("a1"))]
        # Followed now: a fill after the pass reaches the books by itself.
        await r.fill(cid, str(order.qty), "101", "2")
        return r, cid, report.differences, after

    r, cid, differences, (status, venue_id, following) = run(go)
    assert differences == []
    (repair,) = r.repairs()
    assert repair.kind == "order_unknown_resolved"
    r.about(repair, cid)
    qty = r.x.orders[cid].qty
    assert repair.detail == (
        f"Order {cid} was unknown; found on the venue by its client order id, submitted with "
        f"0 of {qty} filled."
    )
    assert status is OrderStatus.SUBMITTED and venue_id == r.x.orders[cid].venue_order_id
    assert cid in following
    pos = r.acct.ledger.positions[SYMBOL]
    assert pos.qty == qty and r.acct.ledger.cash == _cash_after((str(qty), "101", "2"))


def test_an_order_never_acknowledged_but_on_the_venue_is_taken_up() -> None:
    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter("dropped")
        r.x.place(r.acct.orders[cid])  # it did arrive; the acknowledgement was lost
        r.at(START + 7_000)
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    assert differences == []
    (repair,) = r.repairs()
    qty = r.x.orders[cid].qty
    assert repair.detail == (
        f"Order {cid} was new; found on the venue by its client order id, submitted with "
        f"0 of {qty} filled."
    )
    r.about(repair, cid)
    order = r.acct.orders[cid]
    assert (order.status, order.updated_at) == (OrderStatus.SUBMITTED, START + 7_000)
    assert order.venue_order_id == r.x.orders[cid].venue_order_id
    assert cid in r.venue.following("a1")


def test_a_timed_out_order_filled_in_part_books_the_fill_and_follows_the_rest() -> None:
    async def go() -> tuple[Rig, str, list[str], list]:
        r = await rig()
        cid = await r.enter("late")
        r.venue.followed.pop(cid)
        r.at(START + 1_000)
        r.x.fill(cid, D(8), D("100.5"), D("0.8"))  # not reported: nobody follows it
        r.at(START + 9_000)
        report = await r.reconcile()
        order = r.acct.orders[cid]
        mid = [order.status, order.filled_qty, r.acct.ledger.positions[SYMBOL].qty]
        assert order.venue_order_id == r.x.orders[cid].venue_order_id
        assert order.updated_at == START + 1_000  # when it filled, not when it was found
        r.about(r.repairs("fill_booked")[0], cid)
        await r.fill(cid, str(order.qty - 8), "101", "1.2")
        return r, cid, report.differences, mid

    r, cid, differences, (status, filled, held) = run(go)
    assert differences == []
    assert [e.kind for e in r.repairs()] == ["order_unknown_resolved", "fill_booked"]
    assert r.repairs("fill_booked")[0].detail == (
        f"buy 8 at 100.5 (fee 0.8) on entry order {cid} happened on the venue and was not yet "
        "booked."
    )
    assert (status, filled, held) == (OrderStatus.PARTIALLY_FILLED, 8, 8)
    # The fill booked by the pass is not sent again by the venue, only the next one.
    assert r.venue.sent_fills == {r.x.trades[1].fill_id: 1}
    qty = r.x.orders[cid].qty
    # The first fill once, the rest once: the venue knew the first was booked.
    assert r.acct.ledger.positions[SYMBOL].qty == qty
    assert r.acct.ledger.cash == _cash_after(("8", "100.5", "0.8"), (str(qty - 8), "101", "1.2"))
    assert r.acct.ledger.fees_paid == D("2.0")


def test_a_timed_out_order_canceled_by_hand_is_closed_with_the_venues_word() -> None:
    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter("late")
        r.venue.followed.pop(cid)
        r.x.end(cid, OrderStatus.CANCELED)
        r.at(START + 4_000)
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    assert differences == []
    assert [(e.kind, e.detail) for e in r.repairs()][1] == (
        "order_closed",
        f"Order {cid} is canceled on the venue (canceled there by hand).",
    )
    r.about(r.repairs()[1], cid)
    assert cid not in r.acct.orders
    last = r.updates(cid)[-1]
    assert (last.status, last.updated_at) == (OrderStatus.CANCELED, START + 4_000)
    assert last.reason == "The order is canceled on fake."
    assert last.venue_order_id == r.x.orders[cid].venue_order_id
    assert r.acct.ledger.positions == {} and r.acct.ledger.cash == D(10_000)


def test_a_timed_out_order_that_expired_after_a_fill_keeps_the_fill() -> None:
    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter("late")
        r.venue.followed.pop(cid)
        r.x.fill(cid, D(5), D(99), D("0.5"))
        r.x.end(cid, OrderStatus.EXPIRED)
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    assert differences == []
    kinds = [(e.kind, e.detail) for e in r.repairs()]
    assert ("order_closed", f"Order {cid} is expired on the venue.") in kinds
    assert cid not in r.acct.orders and r.updates(cid)[-1].status is OrderStatus.EXPIRED
    assert r.acct.ledger.positions[SYMBOL].qty == 5
    assert r.acct.ledger.cash == _cash_after(("5", "99", "0.5"))


# -- what the trade history says -----------------------------------------------------------


def test_fills_listed_newest_first_are_booked_in_the_order_they_happened() -> None:
    """The books hold the order's first fill (12); the second (8) happened while away. The
    history lists the newest first: taken in that order, the 8 would be passed over as the
    one already booked, and the 12 could not fit."""

    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        cid = await r.enter()
        r.at(START + 1_000)
        await r.fill(cid, "12", "100", "1.2")
        await r.restart()  # the new adapter follows nothing
        r.at(START + 2_000)
        r.x.fill(cid, D(8), D("100.5"), D("0.8"))
        r.x.trades.reverse()
        r.at(START + 5_000)
        report = await r.reconcile()
        (booked,) = r.repairs("fill_booked")
        r.about(booked, cid)
        assert r.updates(cid)[-1].updated_at == START + 2_000
        return r, report.differences

    r, differences = run(go)
    assert differences == []
    pos = r.acct.ledger.positions[SYMBOL]
    assert pos.qty == 20
    assert r.acct.ledger.cash == _cash_after(("12", "100", "1.2"), ("8", "100.5", "0.8"))
    assert len(r.repairs("fill_booked")) == 1


def test_a_swap_that_came_to_less_than_asked_is_booked_whole() -> None:
    """A venue whose orders execute once reports the order filled at what it came to: that
    is its size, and the order ends with its fill."""

    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter("late")
        r.venue.followed.pop(cid)
        r.x.orders[cid].qty = D("19.5")
        r.x.fill(cid, D("19.5"), D(100), D("0.5"))
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    assert differences == []
    assert cid not in r.acct.orders
    last = r.updates(cid)[-1]
    assert (last.status, last.qty, last.filled_qty) == (OrderStatus.FILLED, D("19.5"), D("19.5"))
    assert r.acct.ledger.positions[SYMBOL].qty == D("19.5")


def test_a_fill_missing_from_the_history_is_reported_and_the_rest_booked() -> None:
    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter("late")
        r.venue.followed.pop(cid)
        qty = r.x.orders[cid].qty
        r.x.fill(cid, D(8), D(100), D(0))
        r.x.fill(cid, qty - 8, D(100), D(0))
        del r.x.trades[1]  # the history holds the first fill only
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    qty = r.x.orders[cid].qty
    assert (
        f"a1: order {cid} filled {qty} on the venue but only 8 could be found in its trade "
        "history." in differences
    )
    assert len(r.repairs("fill_booked")) == 1


def test_an_order_with_nothing_filled_needs_no_trade_history() -> None:
    """An unfilled order is settled without the history (which may be unreadable)."""

    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter("late")
        r.venue.followed.pop(cid)
        r.venue.fail_fills = True
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    assert differences == []
    assert r.acct.orders[cid].status is OrderStatus.SUBMITTED


def test_fills_from_before_the_order_are_not_its_own_but_those_of_its_first_minute_are() -> None:
    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter("late")
        r.venue.followed.pop(cid)
        r.x.fill(cid, D(20), D(100), D(0))  # at the instant the order was sent
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    assert differences == []
    assert r.acct.ledger.positions[SYMBOL].qty == 20


def test_the_venue_not_answering_its_follow_up_is_a_difference() -> None:
    async def go() -> list[str]:
        r = await rig()
        r.venue.fail_refresh = True
        report = await r.reconcile()
        return report.differences

    differences = run(go)
    assert "The venue could not be polled: the exchange does not answer" in differences


def test_an_order_filled_in_part_before_a_restart_is_followed_for_the_rest_once() -> None:
    """Nothing was missed: the fill the books hold is the venue's one fill so far. The venue
    is told so; the rest is reported once when it fills, and no fill is booked twice."""

    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter()
        await r.fill(cid, "8", "100", "0.8")
        await r.restart()
        report = await r.reconcile()
        qty = r.x.orders[cid].qty
        await r.fill(cid, str(qty - 8), "101", "1.2")
        return r, cid, report.differences

    r, cid, differences = run(go)
    assert differences == [] and r.repairs() == []
    # The venue was told which fill the books hold: it sends the rest only.
    assert r.venue.sent_fills == {r.x.trades[1].fill_id: 1}
    qty = r.x.orders[cid].qty
    assert r.acct.ledger.positions[SYMBOL].qty == qty
    assert r.acct.ledger.cash == _cash_after(("8", "100", "0.8"), (str(qty - 8), "101", "1.2"))
    assert not r.acct.close_only


def test_fills_past_the_orders_size_are_not_booked() -> None:
    """The history lists one trade more than the order could have (a venue's listing
    error): the order is booked at its size and nothing else is made of it."""

    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter("late")
        r.venue.followed.pop(cid)
        qty = r.x.orders[cid].qty
        fill = r.x.fill(cid, qty, D(100), D(0))
        r.x.trades.append(replace(fill, fill_id="phantom", qty=D(1)))
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    qty = r.x.orders[cid].qty
    assert r.acct.ledger.positions[SYMBOL].qty == qty
    assert len(r.repairs("fill_booked")) == 1 and not r.acct.close_only
    assert cid not in r.acct.orders


def test_the_order_s_fills_are_read_from_a_minute_before_it_not_the_newest_page() -> None:
    """A history served a page at a time: from the time asked for, or the newest page."""

    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter("late")
        r.venue.followed.pop(cid)
        r.x.fill(cid, r.x.orders[cid].qty, D(100), D(0))
        r.at(START + 1_000)  # then a coin bought and sold by hand: nothing held, no cash
        r.x.trade_by_hand("a1", Side.BUY, D(1), D(100))
        r.x.trade_by_hand("a1", Side.SELL, D(1), D(100))
        r.venue.page = 2
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    assert differences == []
    assert r.acct.ledger.positions[SYMBOL].qty == r.x.orders[cid].qty


def test_an_order_the_venue_holds_itself_is_left_to_it() -> None:
    """The adapter follows an order it holds itself (an emulated leg, never on the
    exchange): not looked up, not closed, not a difference."""

    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter()
        del r.x.orders[cid]
        r.venue.held_locally.add(cid)
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    assert differences == [] and r.repairs() == []
    assert r.acct.orders[cid].status is OrderStatus.SUBMITTED
