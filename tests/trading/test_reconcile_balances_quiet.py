"""Reconciliation's balances, continued from test_reconcile_balances.py: balances read again until
quiet, unconfirmed orders, positions and dust against what the venue holds."""

from __future__ import annotations

import pytest

from rampart.domain.errors import VenueError
from rampart.domain.events import FillBooked
from rampart.domain.orders import OrderRole, Side
from tests.trading.test_reconcile_balances import (
    D,
    away_with_legs_canceled_by_hand,
    bought_by_hand,
    run,
    sold_by_hand,
)

from .reconcile_rig import START, SYMBOL, Rig, rig


def _filling(r: Rig, entry: str, on: set[int]) -> None:
    """The entry fills 1 more at each refresh numbered in ``on`` (the first is 1)."""
    calls = [0]

    def refresh() -> None:
        calls[0] += 1
        if calls[0] in on:
            r.x.fill(entry, D(1), D(100), D(0))

    r.venue.on_refresh = refresh


def test_balances_are_read_again_while_fills_arrive_and_compared_once_quiet() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        entry = await r.enter()
        r.venue.listening = False
        _filling(r, entry, {2, 3})  # the first two tries of step 4 each see a fill
        report = await r.reconcile()
        return r, report.differences

    r, differences = run(go)
    assert differences == []
    assert r.acct.ledger.positions[SYMBOL].qty == 2
    assert r.acct.held_apart == {} and r.repairs("balance_adjusted") == []


def test_balances_never_quiet_in_three_tries_are_left_for_the_next_pass() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        entry = await r.enter()
        r.venue.listening = False
        _filling(r, entry, {2, 3, 4})
        report = await r.reconcile()
        return r, report.differences

    r, differences = run(go)
    assert differences == [
        "a1: its orders kept filling while its balances were read; they are compared next time."
    ]
    assert r.acct.ledger.positions[SYMBOL].qty == 3
    assert r.acct.held_apart == {} and r.repairs("balance_adjusted") == []


def test_orders_that_cannot_be_checked_leave_the_balances_uncompared() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        await r.protected(fee="0")
        calls = [0]

        def refresh() -> None:
            calls[0] += 1
            if calls[0] > 1:
                raise VenueError("rate limited")

        r.venue.on_refresh = refresh
        r.x.coins["a1"] -= 8
        report = await r.reconcile()
        return r, report.differences

    r, differences = run(go)
    assert differences == [
        "a1: its orders could not be checked: rate limited",
        "a1: its orders could not be checked: rate limited",
    ]
    assert r.acct.ledger.positions[SYMBOL].qty == 20 and r.repairs() == []


def test_an_unconfirmed_order_leaves_the_balances_uncompared() -> None:
    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.enter("dropped")
        r.x.deposit("a1", D(500))
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    waiting = (
        f"a1: 1 order(s) still unconfirmed ({cid}); balances are compared once they are settled."
    )
    assert differences.count(waiting) == 2
    assert r.acct.ledger.cash == D(10_000) and r.repairs("balance_adjusted") == []


def test_coins_gone_before_any_price_was_seen_are_booked_at_the_positions_price() -> None:
    async def go() -> Rig:
        r = await rig()
        await r.protected(fee="0")
        await away_with_legs_canceled_by_hand(r)
        r.x.coins["a1"] -= 8
        r.engine.marks.pop(SYMBOL, None)  # no price since the restart
        await r.reconcile()
        return r

    r = run(go)
    (adjustment,) = r.acct.adjustments[SYMBOL]
    assert (adjustment.qty, adjustment.price) == (8, 100)


def test_a_swap_sold_by_hand_in_part_from_the_position_books_its_share_of_cost_and_fee() -> None:
    """A sale of 5 (one held apart, four of the position) that moved 549.5 and paid its fee
    of 0.5 in BNB: the position's part is 4/5 of each."""

    async def go() -> Rig:
        r = await rig()
        await r.protected(fee="0")
        bought_by_hand(r, "1")
        await r.reconcile()
        await away_with_legs_canceled_by_hand(r)
        r.x.trade_by_hand("a1", Side.SELL, D(5), D(110), D("0.5"), fee_asset="BNB", cost=D("549.5"))
        await r.reconcile()
        return r

    r = run(go)
    (booked,) = [e.fill for e in r.events if isinstance(e, FillBooked) and e.fill.side is Side.SELL]
    assert (booked.qty, booked.cost, booked.fee, booked.fee_asset, booked.fee_qty) == (
        4,
        D("439.6"),
        D("0.4"),
        "BNB",
        D("0.4"),
    )
    assert r.acct.ledger.fee_assets == {"BNB": D("0.4")}
    assert r.acct.ledger.positions[SYMBOL].qty == 16


def test_a_position_older_than_the_lookback_finds_its_sale_by_hand() -> None:
    """The trades are read from the position's opening, however long ago that was."""

    async def go() -> Rig:
        r = await rig()
        await r.protected(fee="0")
        await away_with_legs_canceled_by_hand(r)
        r.at(START + 10 * 60_000)
        sold_by_hand(r, "20", "104")
        r.at(START + 60 * 60_000)  # a pass while running looks 15 minutes back
        await r.reconcile()
        return r

    r = run(go)
    assert [e.detail.split(" outside")[0] for e in r.repairs("external_fill_booked")] == [
        "20 BTC/USDT sold at 104 (fee 0)"
    ]
    assert r.repairs("position_adjusted") == []


def test_coins_bought_by_hand_in_the_pass_count_with_those_held_before_and_their_fee() -> None:
    """One coin held apart; then 2 bought by hand (fee paid in BNB, so all 2 arrive) and 3
    sold: all three were the coins held apart, none the position's."""

    async def go() -> Rig:
        r = await rig()
        await r.protected(fee="0")
        bought_by_hand(r, "1")
        await r.reconcile()
        await away_with_legs_canceled_by_hand(r)
        r.x.trade_by_hand("a1", Side.BUY, D(2), D(100), D("0.5"), fee_asset="BNB")
        sold_by_hand(r, "3", "100")
        await r.reconcile()
        return r

    r = run(go)
    assert r.repairs("external_fill_booked") == [] and r.repairs("position_adjusted") == []
    assert r.acct.ledger.positions[SYMBOL].qty == 20 and SYMBOL not in r.acct.held_apart


def test_sales_by_hand_beyond_the_position_take_no_more_than_it() -> None:
    """5 coins bought by hand before the position (outside the trades read) and never seen
    held apart; the position is then sold by hand in 10, 10 and 5: the last 5 were those."""

    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        r.x.trade_by_hand("a1", Side.BUY, D(5), D(100))
        r.at(START + 10 * 60_000)
        await r.protected(fee="0")
        await away_with_legs_canceled_by_hand(r)
        r.at(START + 11 * 60_000)
        for qty in ("10", "10", "5"):
            sold_by_hand(r, qty, "102")
        report = await r.reconcile()
        return r, report.differences

    r, differences = run(go)
    assert differences == []
    assert [e.detail.split(" outside")[0] for e in r.repairs("external_fill_booked")] == [
        "10 BTC/USDT sold at 102 (fee 0)",
        "10 BTC/USDT sold at 102 (fee 0)",
    ]
    assert r.acct.ledger.positions == {} and not r.acct.close_only


def test_dust_is_kept_when_coins_are_bought_or_a_sale_explains_the_position() -> None:
    async def go() -> Rig:
        r = await rig()
        await r.protected(fee="0")
        r.acct.ledger.dust[SYMBOL] = D("0.000005")
        r.x.coins["a1"] += D("0.000005")
        bought_by_hand(r, "1")
        await r.reconcile()
        await away_with_legs_canceled_by_hand(r)
        sold_by_hand(r, "21", "101")
        await r.reconcile()
        return r

    r = run(go)
    assert r.repairs("dust_gone") == []
    assert r.acct.ledger.dust == {SYMBOL: D("0.000005")}
    assert r.acct.ledger.positions == {}


@pytest.mark.parametrize("age_ms", [960_000, 960_001])
def test_a_pass_while_running_reads_trades_back_fifteen_minutes_and_one(age_ms: int) -> None:
    """With no position, a running pass reads the trades from its lookback (15 minutes) and a
    minute (clocks) back. A sale by hand found there sold coins held apart, and the dust stays;
    one older is not found, and the coins gone are taken from the dust first."""

    async def go() -> Rig:
        r = await rig()
        r.acct.ledger.dust[SYMBOL] = D("0.000005")
        r.x.coins["a1"] = D("0.000005")
        bought_by_hand(r, "1")
        await r.reconcile()
        r.at(START + 1_000)
        sold_by_hand(r, "0.5", "100")
        r.at(START + 1_000 + age_ms)
        await r.reconcile()
        return r

    r = run(go)
    if age_ms == 960_000:
        assert r.acct.held_apart[SYMBOL] == D("0.5")
        assert r.acct.ledger.dust == {SYMBOL: D("0.000005")}
        assert r.repairs("dust_gone") == []
    else:
        assert r.acct.held_apart[SYMBOL] == D("0.500005")
        assert r.acct.ledger.dust == {}
        assert [e.detail.split(" of dust")[0] for e in r.repairs("dust_gone")] == ["0.000005 BTC"]


def test_dust_swept_while_coins_are_held_apart_is_said_gone_and_nothing_else() -> None:
    async def go() -> tuple[Rig, dict[str, int]]:
        r = await rig()
        r.acct.ledger.dust[SYMBOL] = D("0.000005")
        r.x.coins["a1"] = D("0.000005")
        bought_by_hand(r, "1")
        await r.reconcile()
        r.x.coins["a1"] -= D("0.000005")  # swept by hand into another coin: no trade here
        report = await r.reconcile()
        return r, dict(report.repairs)

    r, repairs = run(go)
    assert repairs == {"dust_gone": 1}  # the coins held apart, unchanged, are not news
    assert r.acct.held_apart == {SYMBOL: 1} and r.acct.ledger.dust == {}
    assert len(r.repairs("holdings_apart")) == 1


def test_dust_goes_first_when_coins_vanish_and_the_rest_is_adjusted() -> None:
    async def go() -> Rig:
        r = await rig()
        await r.protected(fee="0")
        r.acct.ledger.dust[SYMBOL] = D("0.000005")
        await away_with_legs_canceled_by_hand(r)
        r.x.coins["a1"] -= 8  # the dust was never on the venue: 8 of what is left
        await r.reconcile()
        return r

    r = run(go)
    assert [e.detail.split(" of dust")[0] for e in r.repairs("dust_gone")] == ["0.000005 BTC"]
    (adjustment,) = r.acct.adjustments[SYMBOL]
    assert adjustment.qty == 8
    assert r.acct.ledger.positions[SYMBOL].qty == 12


def test_coins_held_apart_and_dust_count_as_held_and_need_no_history() -> None:
    async def go() -> list[str]:
        r = await rig()
        await r.protected(fee="0")
        bought_by_hand(r, "1")
        await r.reconcile()
        r.acct.ledger.dust[SYMBOL] = D("0.000005")
        r.x.coins["a1"] += D("0.000005")
        r.venue.fail_fills = True
        report = await r.reconcile()
        return report.differences

    # The balances are explained without the history; only the verdict's comparison of trades
    # by id says it could not be made.
    assert run(go) == [
        "a1: its trades on BTC/USDT could not be read: the trade history is unavailable"
    ]


def test_coins_gone_with_all_the_cash_are_adjusted_at_the_last_price() -> None:
    async def go() -> Rig:
        r = await rig()
        await r.protected(fee="0")
        await away_with_legs_canceled_by_hand(r)
        r.x.coins["a1"] -= 8
        r.x.cash["a1"] = D(0)  # the venue lists no USDT at all
        await r.reconcile()
        return r

    r = run(go)
    (adjustment,) = r.acct.adjustments[SYMBOL]
    assert (adjustment.qty, adjustment.price) == (8, 100)
    assert r.acct.ledger.cash == 0


def test_many_unconfirmed_orders_are_named_three_at_a_time() -> None:
    async def go() -> tuple[list[str], list[str]]:
        r = await rig()
        sent = [await r.send(OrderRole.TAKE_PROFIT, "120", "dropped") for _ in range(4)]
        report = await r.reconcile()
        return sent, report.differences

    sent, differences = run(go)
    named = ", ".join(sent[:3])
    assert (
        f"a1: 4 order(s) still unconfirmed ({named}); balances are compared once they are "
        "settled." in differences
    )


def test_an_order_that_ends_while_the_verdict_is_read_is_read_again_not_a_difference() -> None:
    """A resting buy is canceled by hand between the verdict's read of the open orders and
    its check of the orders: the read still lists it, the books no longer hold it. It is
    read again (it used to be listed as "open on the venue but not in the books")."""

    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        cid = await r.send(OrderRole.ENTRY, "80")
        calls = [0]

        def refresh() -> None:
            calls[0] += 1
            if calls[0] == 3:  # 1: catching up, 2: step 4's read, 3: the verdict's
                r.x.end(cid)

        r.venue.on_refresh = refresh
        report = await r.reconcile()
        return r, cid, report.differences

    r, cid, differences = run(go)
    assert differences == []
    assert cid not in r.acct.orders and [e.kind for e in r.repairs()] == ["order_closed"]


def test_coins_gone_without_a_trade_come_from_those_held_apart_first() -> None:
    """One coin held apart, 20 in the position; 3 vanish with no trade: the coin held
    apart, then 2 of the position."""

    async def go() -> Rig:
        r = await rig()
        await r.protected(fee="0")
        bought_by_hand(r, "1")
        await r.reconcile()
        await away_with_legs_canceled_by_hand(r)
        r.x.coins["a1"] -= 3
        await r.reconcile()
        return r

    r = run(go)
    assert SYMBOL not in r.acct.held_apart
    (adjustment,) = r.acct.adjustments[SYMBOL]
    assert adjustment.qty == 2 and r.acct.ledger.positions[SYMBOL].qty == 18


def test_what_no_trade_explains_within_the_tolerance_is_not_adjusted() -> None:
    async def go() -> Rig:
        r = await rig()
        await r.protected(fee="0")
        bought_by_hand(r, "1")
        await r.reconcile()
        await away_with_legs_canceled_by_hand(r)
        sold_by_hand(r, "1", "100")  # the coin held apart
        r.x.coins["a1"] -= D("1e-8")  # and notation's worth of the position
        await r.reconcile()
        return r

    r = run(go)
    assert r.repairs("position_adjusted") == [] and SYMBOL not in r.acct.adjustments
    assert r.acct.ledger.positions[SYMBOL].qty == 20
