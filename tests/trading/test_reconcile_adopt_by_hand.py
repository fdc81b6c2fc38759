"""Reconciliation's adoption, continued from test_reconcile_adopt.py: orders placed by hand, orders
listed with little to go by, fills beyond an order's size, pairs and entries in parts (issue
33)."""

from __future__ import annotations

from dataclasses import replace

from rampart.domain.events import TradeClosed
from rampart.domain.orders import OrderRole, OrderStatus, OrderType, Side, client_order_id
from rampart.trading.reconcile.adopt import ID_GAP
from rampart.trading.reconcile.reconciler import Reconciler
from tests.trading.test_reconcile_adopt import D, run

from .reconcile_rig import START, SYMBOL, Rig, rig


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


def test_a_takeover_leaves_the_last_holder_exactly_the_ids_after_the_highest_seen() -> None:
    """The ids the old holder may still use are those past the highest the venue has seen, up
    to the gap: the highest itself is an order already known, the gap's last one still its."""

    async def go() -> tuple[range, int]:
        r = await rig()
        await r.protected()  # ids 1 to 3 on the venue
        await r.restart(r.checkpoint())
        await r.reconcile("takeover")
        return r.acct.last_holder_ids, r.acct.seq

    held, seq = run(go)
    assert held == range(4, 3 + ID_GAP + 1) and seq == 3 + ID_GAP
