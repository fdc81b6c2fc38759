"""Reconciliation, step 3, on an exchange in memory: orders on the venue that the books do not
know (the survivors of ``trading/reconcile/adopt.py`` and the linking in
``books.py``).

Rampart's own orders sent after the checkpoint a restart loads are adopted, each fill booked
once at its price and fee, the pair linked to its entry and its levels; orders already closed
before the checkpoint are never taken up again; new orders never reuse an id the venue has
seen. Anyone else's orders are reported once and left alone, or canceled when configured to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side, client_order_id
from rampart.trading.reconcile.adopt import ID_GAP
from rampart.trading.reconcile.books import seq_of as books_seq
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


def test_an_adopted_entry_filled_by_two_trades_in_one_millisecond_books_both() -> None:
    """A market buy that takes two price levels: two trades of one order in one instant."""

    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        old = r.checkpoint()
        entry = await r.enter()
        r.engine.executor.hold_protection.add("a1")  # killed before the pair was sent
        await r.fill(entry, "8", "100", "0.8")
        await r.fill(entry, "12", "101", "1.2")
        await r.restart(old)
        report = await r.reconcile("start")
        return r, entry, report.differences

    r, entry, differences = run(go)
    assert differences == []
    assert [e.detail for e in r.repairs("fill_booked")] == [
        f"buy 8 at 100 (fee 0.8) on adopted order {entry}.",
        f"buy 12 at 101 (fee 1.2) on adopted order {entry}.",
    ]
    assert r.acct.ledger.positions[SYMBOL].qty == 20
    assert r.acct.ledger.cash == D(10_000) - 800 - D("0.8") - 1212 - D("1.2")


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


def test_a_takeover_leaves_the_last_holders_ids_and_adopts_its_late_order_once() -> None:
    """The worker that held the shard signed an order just before its lease ran out;
    it reaches the exchange after the new holder's takeover pass. The new holder's ids start
    past any the old one could use, and the late order is adopted with its fill, once."""

    async def go() -> tuple[Rig, str, str, list[int]]:
        r = await rig()
        old_venue = r.venue
        await r.restart(r.checkpoint())
        await r.reconcile("takeover")
        seq_after_takeover = r.acct.seq
        # The old holder's order, numbered after its checkpoint, lands now and fills.
        late = client_order_id("a1", 1, OrderRole.ENTRY)
        await old_venue.submit(
            Order(late, "a1", SYMBOL, Side.BUY, OrderType.LIMIT, D(20), OrderRole.ENTRY, D(100))
        )
        r.x.fill(late, D(20), D(100), D(2))
        r.at(START + 60_000)
        first = await r.reconcile("interval")
        r.at(START + 120_000)
        second = await r.reconcile("interval")
        mine = r.acct.next_client_id(OrderRole.ENTRY)
        return r, late, mine, [seq_after_takeover, len(first.differences), len(second.repairs)]

    r, late, mine, (seq_after_takeover, differences, second_repairs) = run(go)
    assert seq_after_takeover == ID_GAP
    # The adopted position got its pair (two ids); every new id is past the gap.
    assert books_seq(mine) == ID_GAP + 3
    assert all(books_seq(cid) > ID_GAP for cid in r.acct.orders)
    assert [e.client_id for e in r.repairs("order_adopted")] == [late]
    (booked,) = r.repairs("fill_booked")
    assert booked.detail == f"buy 20 at 100 (fee 2) on adopted order {late}."
    assert differences == 0 and second_repairs == 0
    assert r.acct.ledger.positions[SYMBOL].qty == 20
    assert r.acct.ledger.cash == D(10_000) - 2000 - 2


def test_a_start_that_is_no_takeover_leaves_no_gap() -> None:
    async def go() -> int:
        r = await rig()
        await r.protected()
        await r.restart()
        await r.reconcile("start")
        return r.acct.seq

    assert run(go) == 3


def test_a_derived_pair_placed_after_the_checkpoint_is_adopted_though_it_ended() -> None:
    """A fleet shard's pair legs are numbered by their entry and a generation, not by the
    account's sequence: a pair the last holder placed after its last save, and that the
    exchange then ended, is one the books never had. It is adopted (so the store holds every
    order the exchange made); the earlier pair of the checkpoint's generation is not."""

    async def go() -> tuple[Rig, tuple[str, str], tuple[str, str]]:
        r = await rig()
        r.engine.executor.protection.derived_ids = True
        entry = await r.enter()
        await r.fill(entry, "8", "100", "0")
        legs = {o.role: o.client_id for o in r.x.open_orders("a1")}
        first = (legs[OrderRole.STOP_LOSS], legs[OrderRole.TAKE_PROFIT])
        saved = r.checkpoint()  # the pair of generation 1 known
        await r.fill(entry, "12", "100", "0")  # the pair grows: generation 2 after the save
        legs = {o.role: o.client_id for o in r.x.open_orders("a1")}
        second = (legs[OrderRole.STOP_LOSS], legs[OrderRole.TAKE_PROFIT])
        for cid in second:
            r.x.end(cid)  # ended on the exchange (canceled there), nothing filled
        await r.restart(saved)
        r.engine.executor.protection.derived_ids = True
        r.at(START + 60_000)
        await r.reconcile("start")
        return r, first, second

    r, first, second = run(go)
    assert second[0].endswith("-s2") and first[0].endswith("-s1"), (first, second)
    adopted = [e.client_id for e in r.repairs("order_adopted")]
    assert set(second) <= set(adopted), adopted
    assert not set(first) & set(adopted), adopted
