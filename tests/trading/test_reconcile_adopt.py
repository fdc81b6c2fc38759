"""Reconciliation, step 3, on an exchange in memory: orders on the venue that the books do not
know (issue 33, the survivors of ``trading/reconcile/adopt.py`` and the linking in
``books.py``).

Rampart's own orders sent after the checkpoint a restart loads are adopted, each fill booked
once at its price and fee, the pair linked to its entry and its levels; orders already closed
before the checkpoint are never taken up again; new orders never reuse an id the venue has
seen. Anyone else's orders are reported once and left alone, or canceled when configured to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

from rampart.domain.events import TradeClosed
from rampart.domain.orders import OrderRole, OrderStatus, OrderType, Side, client_order_id
from rampart.trading.reconcile.adopt import ID_GAP
from rampart.trading.reconcile.reconciler import Reconciler

from .reconcile_rig import START, SYMBOL, Rig, rig

D = Decimal
T = TypeVar("T")
DAY = 86_400_000


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


def test_orders_sent_after_the_checkpoint_are_adopted_with_their_fill_and_links() -> None:
    async def go() -> tuple[Rig, tuple[str, str, str], list[str]]:
        r = await rig()
        old = r.checkpoint()  # flat; every order below is sent after it
        ids = await r.protected(fee="2")
        await r.restart(old)
        r.at(START + 60_000)
        report = await r.reconcile("start")
        return r, ids, report.differences

    r, (entry, stop, take), differences = run(go)
    now = START + 60_000
    for cid in (entry, stop, take):
        first = r.update_events(cid)[0]  # put back in the books, as when it was sent
        assert (first.ts, first.previous, first.order.status) == (now, OrderStatus.NEW, "new")
        assert (first.order.created_at, first.order.updated_at) == (START, now)
        assert first.order.venue_order_id == r.x.orders[cid].venue_order_id
    assert differences == []
    adopted = [(e.client_id, e.detail) for e in r.repairs("order_adopted")]
    lost = "was on the venue but not in the books."
    assert adopted == [
        (entry, f"entry order {entry} (filled, filled 20.0 of 20.0) {lost}"),
        (stop, f"stop_loss order {stop} (submitted, filled 0 of 20.0) {lost}"),
        (take, f"take_profit order {take} (submitted, filled 0 of 20.0) {lost}"),
    ]
    for repair in r.repairs():
        assert (repair.account_id, repair.symbol, repair.ts) == ("a1", SYMBOL, now)
    (booked,) = r.repairs("fill_booked")
    assert booked.detail == f"buy 20.0 at 100 (fee 2) on adopted order {entry}."
    acct = r.acct
    r.about(booked, entry)
    pos = acct.ledger.positions[SYMBOL]
    assert (pos.qty, pos.stop_loss, pos.take_profit) == (20, D("98.00"), D("105.00"))
    assert (pos.strategy, pos.entry_client_id, pos.opened_at) == ("scripted", entry, START)
    assert acct.ledger.cash == D(10_000) - 2000 - 2 and acct.ledger.fees_paid == 2
    legs = acct.orders
    assert set(legs) == {stop, take}
    assert (legs[stop].updated_at, legs[take].updated_at) == (now, now)
    assert (legs[stop].parent_id, legs[take].parent_id) == (entry, entry)
    assert legs[stop].oco_group == legs[take].oco_group == stop
    assert len(r.x.orders) == 3  # nothing sent again: the pair on the venue is the pair
    # New ids start past every id the venue has seen.
    assert acct.seq == 3


def test_a_start_with_the_orders_unreadable_leaves_a_wide_gap_in_the_ids() -> None:
    async def go() -> tuple[Rig, int, list[str]]:
        r = await rig()
        await r.protected()
        await r.restart()
        before = r.acct.seq
        r.venue.fail_orders = True
        report = await r.reconcile("start")
        return r, before, report.differences

    r, before, differences = run(go)
    assert "a1: its orders could not be read: the order list is unavailable" in differences
    assert "a1: could not be reconciled: the order list is unavailable" in differences
    assert r.acct.seq == before + ID_GAP


def test_orders_closed_before_the_checkpoint_are_not_taken_up_again() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        entry, stop, take = await r.protected()
        r.at(START + 60_000)
        await r.fill(stop, "20", "98", "1")  # the trade closes; its take-profit goes with it
        assert r.acct.orders == {} and r.acct.ledger.positions == {}
        await r.restart()
        report = await r.reconcile("start")
        return r, report.differences

    r, differences = run(go)
    assert differences == [] and r.repairs() == []
    assert r.acct.ledger.cash == D(10_000) - 2000 - 2 + 1960 - 1
    assert r.acct.seq == 3  # the next order's id is one the venue has not seen


def test_a_pass_while_running_adopts_an_order_refused_in_words_but_working() -> None:
    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        entry = await r.enter("misrefused")  # the answer was an error; the order is there
        assert entry not in r.acct.orders
        r.at(START + 60_000)
        report = await r.reconcile("interval")
        return r, entry, report.differences

    r, entry, differences = run(go)
    assert differences == []
    assert [e.client_id for e in r.repairs("order_adopted")] == [entry]
    assert r.acct.orders[entry].status is OrderStatus.SUBMITTED
    assert entry in r.venue.following("a1")
    assert r.acct.seq == 1


def test_at_start_orders_older_than_a_day_are_left_and_those_a_day_old_adopted() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        old = r.checkpoint()
        first = await r.enter()
        r.x.end(first)  # canceled by hand, never filled
        r.at(START + 1)
        second = await r.enter()
        r.x.end(second)
        await r.restart(old)
        r.at(START + 1 + DAY)  # the first is a day and a millisecond old
        await r.reconcile("start")
        return r, [first, second]

    r, (first, second) = run(go)
    assert [e.client_id for e in r.repairs("order_adopted")] == [second]
    assert r.updates(second)[-1].status is OrderStatus.CANCELED
    assert r.updates(first) == []


def test_orders_listed_without_a_time_are_looked_at_whatever_the_lookback() -> None:
    async def go() -> tuple[Rig, str]:
        r = await rig()
        old = r.checkpoint()
        entry, _, _ = await r.protected()
        await r.restart(old)
        r.venue.no_ts = True
        r.at(START + 30_000)
        r.reconciler = Reconciler(lookback_s=10)
        await r.reconcile("start")
        return r, entry

    r, entry = run(go)
    adopted = [e.client_id for e in r.repairs("order_adopted")]
    assert len(adopted) == 3 and adopted[0] == entry
    assert r.acct.ledger.positions[SYMBOL].qty == 20


def test_an_adopted_entry_filled_in_part_is_followed_for_the_rest() -> None:
    async def go() -> tuple[Rig, str, list[str], Decimal]:
        r = await rig()
        old = r.checkpoint()
        entry = await r.enter()
        await r.fill(entry, "8", "100", "0.8")
        await r.restart(old)
        report = await r.reconcile("start")
        mid = r.acct.ledger.positions[SYMBOL].qty
        await r.fill(entry, "12", "101", "1.2")
        return r, entry, report.differences, mid

    r, entry, differences, mid = run(go)
    assert differences == [] and mid == 8
    # The adopted fill is not sent again by the venue, only the next one.
    assert r.venue.sent_fills == {r.x.trades[1].fill_id: 1}
    assert r.acct.ledger.positions[SYMBOL].qty == 20
    assert r.acct.ledger.cash == D(10_000) - 800 - D("0.8") - 1212 - D("1.2")
    assert entry not in r.acct.orders  # filled, and forgotten


def test_an_adopted_entry_canceled_after_a_fill_closes_with_the_venues_word() -> None:
    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        old = r.checkpoint()
        entry = await r.enter()
        r.engine.executor.hold_protection.add("a1")
        await r.fill(entry, "5", "100", "0.5")
        r.x.end(entry)
        await r.restart(old)
        report = await r.reconcile("start")
        return r, entry, report.differences

    r, entry, differences = run(go)
    assert differences == []
    last = r.updates(entry)[-1]
    assert (last.status, last.filled_qty) == (OrderStatus.CANCELED, 5)
    assert last.reason == "The order is canceled on fake."
    assert r.acct.ledger.positions[SYMBOL].qty == 5
    assert entry not in r.acct.orders


def test_an_adopted_entry_without_its_pair_gets_the_profiles_default_levels() -> None:
    """The moderate profile: a stop in the middle of its 1-5 % range (3 %, so 97 below 100)
    and its least reward:risk, 1.2, above (100 + 1.2 × 3)."""

    async def go() -> Rig:
        r = await rig()
        old = r.checkpoint()
        entry = await r.enter()
        r.engine.executor.hold_protection.add("a1")  # killed before the pair was sent
        await r.fill(entry, "20", "100", "0")
        await r.restart(old)
        await r.reconcile("start")
        return r

    r = run(go)
    pos = r.acct.ledger.positions[SYMBOL]
    assert (pos.stop_loss, pos.take_profit) == (D("97.00"), D("103.60"))
    assert r.open_on_exchange() == [
        (OrderRole.STOP_LOSS, 20, D("97.00")),
        (OrderRole.TAKE_PROFIT, 20, D("103.60")),
    ]


def test_an_adopted_entry_not_yet_filled_takes_its_levels_from_the_last_price() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        old = r.checkpoint()
        entry = await r.enter()
        await r.restart(old)
        r.engine.marks[SYMBOL] = D(200)
        report = await r.reconcile("start")
        await r.fill(entry, "20", "200", "0")
        return r, report.differences

    r, differences = run(go)
    assert differences == []
    pos = r.acct.ledger.positions[SYMBOL]
    assert (pos.stop_loss, pos.take_profit) == (D("194.00"), D("207.20"))


def test_a_pair_lost_with_the_checkpoint_is_linked_to_the_position_it_protects() -> None:
    async def go() -> tuple[Rig, str, int]:
        r = await rig()
        entry = await r.enter()
        r.engine.executor.hold_protection.add("a1")
        await r.fill(entry, "20", "100", "0")
        old = r.checkpoint()  # the position, without its pair
        r.engine.executor.hold_protection.discard("a1")
        await r.engine.executor.ensure_protection(r.acct, SYMBOL)
        await r.engine.executor.drain()
        sent = len(r.x.orders)
        await r.restart(old)
        await r.reconcile("start")
        return r, entry, sent

    r, entry, sent = run(go)
    legs = {o.role: o for o in r.acct.orders.values()}
    stop, take = legs[OrderRole.STOP_LOSS], legs[OrderRole.TAKE_PROFIT]
    assert (stop.parent_id, take.parent_id) == (entry, entry)
    assert (stop.strategy, take.strategy) == ("scripted", "scripted")
    assert take.oco_group == stop.client_id
    assert len(r.x.orders) == sent  # the pair is not sent twice


def test_fills_that_do_not_fit_the_books_are_reported_and_balances_set() -> None:
    """The entry's trade is missing from the history (a page lost): the entry is reported,
    and the exit's sale, which would sell coins the books never got, is not booked."""

    async def go() -> tuple[Rig, str, str, list[str]]:
        r = await rig()
        old = r.checkpoint()
        entry, _, _ = await r.protected(fee="2")
        r.at(START + 60_000)
        await r.engine.executor.exit_position(r.acct, SYMBOL, "test")
        await r.engine.executor.drain()
        assert r.acct.ledger.positions == {}
        (exit_trade,) = [f for f in r.x.trades if f.side is Side.SELL]
        del r.x.trades[0]
        await r.restart(old)
        report = await r.reconcile("start")
        return r, entry, exit_trade.fill_id, report.differences

    r, entry, exit_fill, differences = run(go)
    assert (
        f"a1: adopted order {entry} is filled on the venue but only 0 of 20.0 could be found in "
        "its trade history." in differences
    )
    assert f"a1: fill {exit_fill} does not fit the books; balances are set instead." in (
        differences
    )
    assert r.repairs("fill_booked") == []
    assert r.acct.ledger.positions == {} and r.acct.ledger.cash == D(10_000) - 2


def test_an_adopted_entry_and_its_exit_in_the_same_instant_are_booked_buy_first() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        old = r.checkpoint()
        await r.protected(fee="0")
        await r.engine.executor.exit_position(r.acct, SYMBOL, "test")
        await r.engine.executor.drain()
        r.x.trades.reverse()  # in one millisecond, listed in no particular order
        await r.restart(old)
        report = await r.reconcile("start")
        return r, report.differences

    r, differences = run(go)
    assert differences == []
    assert [e.detail.split(" on ")[0] for e in r.repairs("fill_booked")] == [
        "buy 20.0 at 100 (fee 0)",
        "sell 20.0 at 100 (fee 0)",
    ]
    assert r.acct.ledger.positions == {} and r.acct.ledger.cash == D(10_000)


# -- anyone else's orders -------------------------------------------------------------------


def test_orders_placed_by_hand_are_reported_once_and_left_alone() -> None:
    async def go() -> tuple[Rig, list[list[str]]]:
        r = await rig()
        r.x.place_by_hand("a1", "web-1", Side.BUY, D("0.5"), D(90))
        r.x.place_by_hand("a1", "web-2", Side.SELL, D("0.25"), D(120))
        r.x.place_by_hand("a1", "web-3", Side.BUY, D(1), D(80))
        r.x.end("web-3")  # closed: nothing to say
        first = await r.reconcile()
        second = await r.reconcile()
        return r, [first.differences, second.differences]

    r, (first, second) = run(go)
    assert first == [] and second == []
    assert [(e.client_id, e.detail) for e in r.repairs()] == [
        ("web-1", "Order web-1 (buy 0.5 BTC/USDT) was not placed by Rampart; it is left alone."),
        ("web-2", "Order web-2 (sell 0.25 BTC/USDT) was not placed by Rampart; it is left alone."),
    ]
    assert {o.client_id for o in r.x.open_orders("a1")} == {"web-1", "web-2"}
    for repair in r.repairs():
        r.about(repair, repair.client_id)


def test_orders_placed_by_hand_are_canceled_when_configured_to() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        r.x.place_by_hand("a1", "web-1", Side.BUY, D("0.5"), D(90))
        r.reconciler = Reconciler(cancel_unknown=True)
        assert r.reconciler.cancel_unknown
        r.venue.bare = True  # the listing says neither side nor type
        report = await r.reconcile()
        return r, report.differences

    r, differences = run(go)
    assert differences == []
    (repair,) = r.repairs()
    assert (repair.kind, repair.client_id, repair.symbol, repair.detail) == (
        "unknown_venue_order_canceled",
        "web-1",
        SYMBOL,
        "Order web-1 on BTC/USDT was not placed by Rampart; it was canceled as configured.",
    )
    r.about(repair, "web-1")
    assert r.x.orders["web-1"].status is OrderStatus.CANCELED


def test_an_order_placed_by_hand_that_cannot_be_canceled_is_a_difference() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        r.x.place_by_hand("a1", "web-1", Side.BUY, D("0.5"), D(90))
        r.reconciler = Reconciler(cancel_unknown=True)
        r.venue.fail_cancel = True
        report = await r.reconcile()
        return r, report.differences

    r, differences = run(go)
    assert differences == ["a1: order web-1 could not be canceled: the exchange is busy"]
    assert r.repairs() == [] and r.x.orders["web-1"].is_open


def test_orders_listed_without_side_or_type_are_adopted_as_their_roles_say() -> None:
    async def go() -> tuple[Rig, tuple[str, str, str]]:
        r = await rig()
        old = r.checkpoint()
        ids = await r.protected(fee="0")
        await r.restart(old)
        r.venue.bare = True
        await r.reconcile("start")
        return r, ids

    r, (entry, stop, take) = run(go)
    orders = {o.client_id: o for o in r.acct.recent_orders}
    assert (orders[entry].side, orders[entry].type) == (Side.BUY, OrderType.MARKET)
    assert (orders[stop].side, orders[stop].type) == (Side.SELL, OrderType.STOP_MARKET)
    assert (orders[take].side, orders[take].type) == (Side.SELL, OrderType.LIMIT)
    assert r.acct.ledger.positions[SYMBOL].qty == 20


def test_an_order_with_another_accounts_id_is_not_adopted() -> None:
    async def go() -> Rig:
        r = await rig()
        r.venue.bare = True
        theirs = client_order_id("b2", 1, OrderRole.ENTRY)
        r.x.place_by_hand("a1", theirs, Side.BUY, D("0.5"), D(90))
        await r.reconcile("start")
        return r

    r = run(go)
    (repair,) = r.repairs()
    theirs = client_order_id("b2", 1, OrderRole.ENTRY)
    assert (repair.kind, repair.detail) == (
        "unknown_venue_order",
        f"Order {theirs} (? 0.5 BTC/USDT) was not placed by Rampart; it is left alone.",
    )
    assert r.acct.orders == {} and r.acct.seq == 0


def test_the_default_stop_is_never_below_one_tick() -> None:
    async def go() -> tuple[Rig, str]:
        r = await rig()
        old = r.checkpoint()
        entry = await r.enter()
        await r.restart(old)
        r.engine.marks[SYMBOL] = D("0.01")
        await r.reconcile("start")
        return r, entry

    r, entry = run(go)
    bracket = r.acct.brackets[entry]
    assert (bracket.stop_loss, bracket.take_profit) == (D("0.01"), D("0.01"))


def test_an_adopted_entry_with_no_price_to_go_by_gets_no_levels_yet() -> None:
    async def go() -> tuple[Rig, str]:
        r = await rig()
        old = r.checkpoint()
        entry = await r.enter()
        await r.restart(old)
        r.engine.marks.pop(SYMBOL, None)
        await r.reconcile("start")
        return r, entry

    r, entry = run(go)
    assert entry in r.acct.orders and entry not in r.acct.brackets


def test_a_fill_beyond_an_adopted_orders_size_is_set_aside_and_later_ones_booked() -> None:
    """The history lists a trade too many for the entry (a listing error), then the
    take-profit's sale: the extra one is reported, the sale still closes the trade."""

    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        old = r.checkpoint()
        entry, _, take = await r.protected(fee="0")
        real = r.x.trades[0]
        r.x.trades.append(replace(real, fill_id="phantom", qty=D(1), ts=START + 1_000))
        r.at(START + 2_000)
        await r.fill(take, "20", "105", "0")
        await r.restart(old)
        report = await r.reconcile("start")
        return r, report.differences

    r, differences = run(go)
    assert differences == ["a1: fill phantom does not fit the books; balances are set instead."]
    assert [e.detail.split(" on ")[0] for e in r.repairs("fill_booked")] == [
        "buy 20.0 at 100 (fee 0)",
        "sell 20 at 105 (fee 0)",
    ]
    assert r.acct.ledger.positions == {}
    (closed,) = [e.trade for e in r.events if isinstance(e, TradeClosed)]
    assert closed.exit_price == 105


def test_a_pair_sent_after_the_checkpoint_that_sold_the_position_in_two_parts() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        entry = await r.enter()
        r.engine.executor.hold_protection.add("a1")
        await r.fill(entry, "20", "100", "0")
        old = r.checkpoint()  # the position, before its pair was sent
        r.engine.executor.hold_protection.discard("a1")
        await r.engine.executor.ensure_protection(r.acct, SYMBOL)
        await r.engine.executor.drain()
        take = next(o.client_id for o in r.x.open_orders("a1") if o.role is OrderRole.TAKE_PROFIT)
        r.venue.listening = False  # killed: the pair sells while Rampart is down
        r.at(START + 1_000)
        await r.fill(take, "8", "105", "0")
        r.at(START + 2_000)
        await r.fill(take, "12", "105", "0")
        await r.restart(old)
        report = await r.reconcile("start")
        return r, report.differences

    r, differences = run(go)
    assert differences == []
    assert len(r.repairs("fill_booked")) == 2
    assert r.acct.ledger.positions == {} and r.acct.orders == {}
    assert r.acct.ledger.cash == D(10_000) - 2000 + 2100


def test_an_adopted_entry_filled_in_two_parts_is_whole_and_one_with_a_trade_missing_is_not() -> (
    None
):
    async def go() -> tuple[Rig, list[str], list[str], str]:
        r = await rig()
        old = r.checkpoint()
        entry = await r.enter()
        r.engine.executor.hold_protection.add("a1")
        r.at(START + 1_000)
        await r.fill(entry, "19", "100", "0")
        r.at(START + 2_000)
        await r.fill(entry, "1", "100", "0")
        await r.restart(old)
        r.at(START + 5_000)
        whole = await r.reconcile("start")
        updated = r.update_events(entry)[-1].order.updated_at
        await r.restart(old)
        del r.x.trades[1]  # the second trade is not in the history
        missing = await r.reconcile("start")
        return r, whole.differences, missing.differences, f"{entry}:{updated}"

    r, whole, missing, seen = run(go)
    entry, updated = seen.split(":")
    assert whole == [] and int(updated) == START + 2_000  # when it filled, not when found
    assert (
        f"a1: adopted order {entry} is filled on the venue but only 19 of 20.0 could be found "
        "in its trade history." in missing
    )


def test_an_adopted_order_closed_on_the_venue_is_closed_at_the_pass() -> None:
    async def go() -> tuple[Rig, str]:
        r = await rig()
        old = r.checkpoint()
        entry = await r.enter()
        r.x.end(entry)
        await r.restart(old)
        r.at(START + 7_000)
        await r.reconcile("start")
        return r, entry

    r, entry = run(go)
    last = r.update_events(entry)[-1]
    assert (last.order.status, last.order.updated_at) == (OrderStatus.CANCELED, START + 7_000)


def test_every_adopted_entry_gets_its_levels_not_only_the_first() -> None:
    """A whole trade (entry, stop, take-profit) and a second entry, all after the
    checkpoint: the second entry, listed after the first trade's pair, gets levels too."""

    async def go() -> tuple[Rig, str]:
        r = await rig()
        old = r.checkpoint()
        _, stop, _ = await r.protected(fee="0")
        r.at(START + 60_000)
        await r.fill(stop, "20", "98", "0")
        r.at(START + 120_000)
        second = await r.enter()
        r.engine.executor.hold_protection.add("a1")
        await r.fill(second, str(r.x.orders[second].qty), "100", "0")
        await r.restart(old)
        await r.reconcile("start")
        return r, second

    r, second = run(go)
    pos = r.acct.ledger.positions[SYMBOL]
    assert pos.entry_client_id == second
    assert (pos.stop_loss, pos.take_profit) == (D("97.00"), D("103.60"))


def test_an_adopted_orders_fills_are_read_from_a_minute_before_it() -> None:
    """A history served a page at a time: from the time asked for, or the newest page."""

    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        old = r.checkpoint()
        entry = await r.enter()
        r.engine.executor.hold_protection.add("a1")
        await r.fill(entry, "20", "100", "0")
        r.at(START + 1_000)  # then a coin bought and sold by hand: nothing held, no cash
        r.x.trade_by_hand("a1", Side.BUY, D(1), D(100))
        r.x.trade_by_hand("a1", Side.SELL, D(1), D(100))
        await r.restart(old)
        r.venue.page = 2
        report = await r.reconcile("start")
        return r, report.differences

    r, differences = run(go)
    assert differences == []
    assert r.acct.ledger.positions[SYMBOL].qty == 20


def test_a_lost_order_listed_after_one_the_books_hold_is_still_adopted() -> None:
    async def go() -> tuple[Rig, str, str]:
        r = await rig()
        held = await r.send(OrderRole.ENTRY, "80")
        lost = await r.send(OrderRole.ENTRY, "79", "misrefused")
        assert held in r.acct.orders and lost not in r.acct.orders
        await r.reconcile()
        return r, held, lost

    r, held, lost = run(go)
    assert [e.client_id for e in r.repairs("order_adopted")] == [lost]
    assert {held, lost} <= set(r.acct.orders)


def test_an_adopted_sale_with_nothing_held_does_not_fit_however_small() -> None:
    """Half a coin bought and sold by Rampart after the checkpoint; the buy's trade is not in
    the history: the sale would sell what the books never got."""

    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        old = r.checkpoint()
        entry = await r.enter()
        await r.fill(entry, "0.5", "100", "0")
        r.x.end(entry)
        await r.engine.executor.exit_position(r.acct, SYMBOL, "test")
        await r.engine.executor.drain()
        assert r.acct.ledger.positions == {}
        sale = next(f.fill_id for f in r.x.trades if f.side is Side.SELL)
        del r.x.trades[0]
        await r.restart(old)
        report = await r.reconcile("start")
        return r, [sale, *report.differences]

    r, (sale, *differences) = run(go)
    assert f"a1: fill {sale} does not fit the books; balances are set instead." in differences
    assert r.repairs("fill_booked") == [] and not r.acct.close_only
    assert r.acct.ledger.positions == {}


def test_a_second_adopted_sale_past_what_the_first_left_does_not_fit() -> None:
    """After the checkpoint the pair sold the whole position, and a sale of one more coin
    went through too (the venue let it, on coins bought by hand): the take-profit's sale is
    booked, the other would sell coins the books no longer hold."""

    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        entry = await r.enter()
        r.engine.executor.hold_protection.add("a1")
        await r.fill(entry, "20", "100", "0")
        old = r.checkpoint()  # the position, before its pair was sent
        r.engine.executor.hold_protection.discard("a1")
        await r.engine.executor.ensure_protection(r.acct, SYMBOL)
        await r.engine.executor.drain()
        r.venue.listening = False
        take = next(o.client_id for o in r.x.open_orders("a1") if o.role is OrderRole.TAKE_PROFIT)
        r.at(START + 1_000)
        r.x.fill(take, D(20), D(105), D(0))
        r.at(START + 2_000)
        await r.send(OrderRole.EXIT, "100")  # filled at once, one coin
        extra = r.x.trades[-1].fill_id
        await r.restart(old)
        report = await r.reconcile("start")
        return r, extra, report.differences

    r, extra, differences = run(go)
    assert f"a1: fill {extra} does not fit the books; balances are set instead." in differences
    assert len(r.repairs("fill_booked")) == 1 and not r.acct.close_only
    assert r.acct.ledger.positions == {}
