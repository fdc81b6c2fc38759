"""The fill model of every run on candles (DESIGN §4): a market order decided on a candle fills
at the next candle's open, and the protective order sent for an entry that filled at an open
is reached by the rest of that candle (a stop-out on the entry's own candle is not skipped).

The core matches the first protective sell an account sends after its market buy filled at
the bar's open against that bar; any later order, an addition's and another account's wait for
the next bar as every order does."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.instruments import Instrument
from rampart.domain.orders import OrderStatus

from .helpers import BUY, LIMIT, MARKET, SELL, STOP, Desk, bar, order, sync

D = Decimal
SUBMITTED, FILLED, CANCELED = OrderStatus.SUBMITTED, OrderStatus.FILLED, OrderStatus.CANCELED


def entered(low: float = 99) -> tuple[Desk, list]:  # type: ignore[type-arg]
    """A market buy of 1 BTC decided on a close of 100, filled at the next open of 100 on a bar
    reaching ``low``; the reports of that bar."""
    desk = Desk()
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("e1", BUY, MARKET, "1"))
    reports = desk.candle(bar(1, 100, 101, low, 100.5))
    assert [(r.client_id, r.status) for r in reports] == [("e1", FILLED)]
    return desk, reports


def test_the_pair_sent_for_an_entry_filled_at_the_open_is_stopped_out_on_that_bar() -> None:
    desk, _ = entered(low=96)
    reports = desk.oco(
        order("s1", SELL, STOP, "1", stop="98.00"), order("t1", SELL, LIMIT, "1", "104.00")
    )
    assert [(r.client_id, r.status) for r in reports] == [
        ("s1", SUBMITTED),
        ("t1", SUBMITTED),
        ("s1", FILLED),
        ("t1", CANCELED),
    ]
    fill = reports[2].fill
    # The stop at 98 less 2.01 bps, rounded down against the seller: 97.98.
    assert fill is not None and fill.price == D("97.98") and fill.ts == bar(1, 1, 1, 1, 1).close_ts
    assert desk.total("BTC") == 0


def test_the_pair_is_left_resting_when_the_entry_bar_does_not_reach_it() -> None:
    desk, _ = entered(low=99)
    reports = desk.oco(
        order("s1", SELL, STOP, "1", stop="98.00"), order("t1", SELL, LIMIT, "1", "104.00")
    )
    assert [r.status for r in reports] == [SUBMITTED, SUBMITTED]
    assert desk.open_ids() == ["s1", "t1"]
    # The next bar reaches the stop as on any bar.
    [stopped, partner] = desk.candle(bar(2, 99, 99, 97, 97.5))
    assert (stopped.client_id, stopped.status, partner.status) == ("s1", FILLED, CANCELED)


def test_a_lone_stop_sent_for_the_entry_is_reached_too() -> None:
    desk, _ = entered(low=96)
    reports = desk.submit(order("s1", SELL, STOP, "1", stop="98.00"))
    assert [r.status for r in reports] == [SUBMITTED, FILLED]


def test_only_the_first_protective_order_is_matched_on_the_entry_bar() -> None:
    """The answer is used up: a second pair (a move decided after the close, say) waits."""
    desk, _ = entered(low=96)
    first = desk.oco(
        order("s1", SELL, STOP, "1", stop="95.00"), order("t1", SELL, LIMIT, "1", "104.00")
    )
    assert [r.status for r in first] == [SUBMITTED, SUBMITTED]  # 95 was not reached
    desk.cancel("s1")
    second = desk.oco(
        order("s2", SELL, STOP, "1", stop="98.00"), order("t2", SELL, LIMIT, "1", "104.00")
    )
    assert [r.status for r in second] == [SUBMITTED, SUBMITTED]


def test_a_limit_sell_decided_after_the_close_is_not_matched_on_the_bar_it_saw() -> None:
    """A limit is no protection: it was decided after the close and waits for a later bar."""
    desk, _ = entered(low=99)
    reports = desk.submit(order("x1", SELL, LIMIT, "1", "100.50"))  # the bar's high was 101
    assert [r.status for r in reports] == [SUBMITTED]


def test_the_entry_bar_is_over_once_the_next_bar_comes() -> None:
    desk, _ = entered(low=99)
    desk.candle(bar(2, 100, 101, 99.5, 100))
    # The next bar went through without the pair; sent now, it waits for bar 3.
    reports = desk.oco(
        order("s1", SELL, STOP, "1", stop="99.60"), order("t1", SELL, LIMIT, "1", "104.00")
    )
    assert [r.status for r in reports] == [SUBMITTED, SUBMITTED]


def test_an_addition_to_a_protected_position_matches_nothing_on_its_bar() -> None:
    """The account's pair already rests (and the bar was matched against it): an addition
    filling at the open does not make a later order of the account look like its protection."""
    desk, _ = entered(low=99)
    desk.oco(order("s1", SELL, STOP, "1", stop="95.00"), order("t1", SELL, LIMIT, "1", "104.00"))
    desk.candle(bar(2, 100, 101, 99, 100))
    desk.submit(order("e2", BUY, MARKET, "1"))
    [added] = desk.candle(bar(3, 100, 101, 96, 100))
    assert (added.client_id, added.status) == ("e2", FILLED)
    reports = desk.submit(order("s2", SELL, STOP, "1", stop="98.00"))
    assert [r.status for r in reports] == [SUBMITTED]


def test_another_accounts_stop_is_not_matched_on_the_bar() -> None:
    desk, _ = entered(low=96)
    sync(desk.venue.open_account("b", {"USDT": D(0), "BTC": D(1)}))
    reports = desk.submit(order("sb", SELL, STOP, "1", stop="98.00", account="b"))
    assert [r.status for r in reports] == [SUBMITTED]


def test_a_market_sell_fills_at_the_next_open_even_across_a_gap() -> None:
    desk, _ = entered(low=99)
    desk.submit(order("x1", SELL, MARKET, "1"))
    [sold] = desk.candle(bar(2, 90, 91, 89, 90.5))
    # The gap's open of 90 less 2.01 bps, rounded down: 89.98; not the 100.5 it was decided on.
    assert sold.status is FILLED and sold.fill is not None and sold.fill.price == D("89.98")


def test_a_buy_stop_after_the_entry_is_no_protection() -> None:
    desk, _ = entered(low=96)
    reports = desk.submit(order("b1", BUY, STOP, "1", stop="100.50"))  # the bar's high was 101
    assert [r.status for r in reports] == [SUBMITTED]


def test_a_market_sell_filled_at_the_open_opens_nothing_to_protect() -> None:
    desk = Desk({"USDT": "1000", "BTC": "2"})
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("x1", SELL, MARKET, "1"))
    [sold] = desk.candle(bar(1, 100, 101, 96, 100))
    assert sold.status is FILLED
    reports = desk.submit(order("s1", SELL, STOP, "1", stop="98.00"))
    assert [r.status for r in reports] == [SUBMITTED]


def test_an_entry_is_judged_by_its_own_accounts_sells_on_its_own_symbol() -> None:
    """Another account's sell resting on the symbol, or the account's own sell resting on
    another symbol, protects nothing of this entry: its pair is still matched on the bar."""
    eth = "ETH/USDT"
    desk = Desk({"USDT": "10000", "ETH": "1"})
    desk.venue.core.instruments[eth] = Instrument(
        eth, "ETH", "USDT", D("0.01"), D("0.001"), D("0.001"), D("5")
    )
    sync(desk.venue.open_account("b", {"USDT": D(0), "BTC": D(1)}))
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.candle(bar(0, 100, 101, 99, 100, symbol=eth))
    desk.submit(order("sb", SELL, STOP, "1", stop="90.00", account="b"))  # b's, on BTC/USDT
    desk.submit(order("se", SELL, LIMIT, "1", "150.00", symbol=eth))  # a's own, on ETH/USDT
    desk.submit(order("e1", BUY, MARKET, "1"))
    reports = desk.candle(bar(1, 100, 101, 96, 100.5))
    assert [(r.client_id, r.status) for r in reports] == [("e1", FILLED)]
    reports = desk.oco(
        order("s1", SELL, STOP, "1", stop="98.00"), order("t1", SELL, LIMIT, "1", "104.00")
    )
    assert [(r.client_id, r.status) for r in reports][-2:] == [("s1", FILLED), ("t1", CANCELED)]
