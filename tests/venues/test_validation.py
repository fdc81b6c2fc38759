"""Rejections with stable codes, idempotent resubmits, cancels, and bad input of every kind."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.domain.errors import DataError, RampartError, VenueError
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.trading.ports import MarketDrivenVenue, Venue, VenueReport

from .helpers import BUY, LIMIT, MARKET, SELL, STOP, STOP_LIMIT, Desk, bar, order, sync

D = Decimal
REJECTED = OrderStatus.REJECTED


def priced_desk(usdt: str = "10000") -> Desk:
    desk = Desk({"USDT": usdt})
    desk.candle(bar(0, 100, 101, 99, 100))
    return desk


def float_qty() -> Order:
    o = order("f", BUY, LIMIT, "1", price="100.00")
    o.qty = 1.0  # type: ignore[assignment]
    return o


CASES = [
    ("unknown_symbol", order("o", BUY, LIMIT, "1", price="1.00", symbol="DOGE/USDT")),
    ("bad_lot", order("o", BUY, LIMIT, "0.0015", price="100.00")),
    ("bad_lot", order("o", BUY, LIMIT, "0", price="100.00")),
    ("bad_lot", order("o", SELL, LIMIT, "-1", price="100.00")),
    ("bad_tick", order("o", BUY, LIMIT, "1", price="100.005")),
    ("bad_tick", order("o", SELL, STOP, "1", stop="95.001")),
    ("bad_price", order("o", BUY, LIMIT, "1")),
    ("bad_price", order("o", SELL, STOP_LIMIT, "1", price="95.00")),
    ("bad_price", order("o", BUY, LIMIT, "1", price="-100.00")),
    ("min_qty", order("o", BUY, LIMIT, "0.001", price="10000.00")),
    ("min_notional", order("o", BUY, LIMIT, "0.01", price="100.00")),
    ("min_notional", order("o", BUY, MARKET, "0.04")),
    ("insufficient_funds", order("o", BUY, LIMIT, "100", price="100.00")),
    ("insufficient_funds", order("o", SELL, MARKET, "1")),
    ("unknown_account", order("o", BUY, LIMIT, "1", price="100.00", account="ghost")),
    ("bad_order", float_qty()),
]


@pytest.mark.parametrize(("code", "bad"), CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)])
def test_each_rejection_has_its_code_a_sentence_and_changes_nothing(code: str, bad: Order) -> None:
    desk = priced_desk()
    before = sync(desk.venue.fetch_balances("a"))
    reports = desk.submit(bad)
    assert len(reports) == 1
    report = reports[0]
    assert report.status is REJECTED and report.code == code
    assert report.reason.endswith(".") and "\n" not in report.reason and len(report.reason) > 20
    assert report.fill is None and report.venue_order_id is None
    assert sync(desk.venue.fetch_balances("a")) == before
    assert desk.open_ids() == []


def test_no_price_for_a_market_order_before_any_candle() -> None:
    desk = Desk(clock_ms=5_000)
    report = desk.submit(order("m", BUY, MARKET, "1"))[0]
    assert report.code == "no_price" and report.ts == 5_000  # the clock, as no candle was seen


def test_buy_funds_include_the_fee_exactly_at_the_boundary() -> None:
    # 100 × 100.00 × (1 + 0.001) = 10010 exactly.
    assert priced_desk("10010").submit(order("l", BUY, LIMIT, "100", price="100.00"))[0].status is (
        OrderStatus.SUBMITTED
    )
    short = priced_desk("10009.99").submit(order("l", BUY, LIMIT, "100", price="100.00"))[0]
    assert short.code == "insufficient_funds" and "10010" in short.reason


def test_market_buy_funds_use_the_close_plus_the_slippage_cap() -> None:
    # 10 × 100.12 × 1.001 = 1002.2012: at the bare close 1001 would have been enough.
    desk = priced_desk("1002.2012")
    assert desk.submit(order("m", BUY, MARKET, "10"))[-1].status is OrderStatus.SUBMITTED
    assert desk.candle(bar(1, 100, 101, 99, 100))[-1].status is OrderStatus.FILLED
    short = priced_desk("1002.2011").submit(order("m", BUY, MARKET, "10"))
    assert short[0].code == "insufficient_funds"


def test_accepted_orders_lock_what_they_may_spend() -> None:
    desk = Desk({"USDT": "10000", "BTC": "2"})
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("l", BUY, LIMIT, "1", price="90.00"))  # 90 × 1.001
    desk.submit(order("s", BUY, STOP, "1", stop="110.00"))  # 110 × 1.0012 = 110.132 → 110.14
    desk.submit(order("x", SELL, LIMIT, "1.5", price="120.00"))
    assert desk.locked("USDT") == D("90.09") + D("110.14") * D("1.001")
    assert desk.locked("BTC") == D("1.5") and desk.free("BTC") == D("0.5")
    assert desk.total("USDT") == D("10000")


def test_resubmitting_a_client_id_reports_the_existing_order_and_creates_nothing() -> None:
    desk = priced_desk()
    first = desk.submit(order("c1", BUY, LIMIT, "1", price="99.00"))[0]
    locked = desk.locked("USDT")
    again = desk.submit(order("c1", BUY, LIMIT, "2", price="98.00"))
    assert len(again) == 1 and again[0].status is OrderStatus.SUBMITTED
    assert again[0].venue_order_id == first.venue_order_id == "P1"
    assert again[0].code == "duplicate" and again[0].fill is None
    assert desk.open_ids() == ["c1"] and desk.locked("USDT") == locked
    desk.candle(bar(1, 100, 100, 98, 99))
    after_fill = desk.submit(order("c1", BUY, LIMIT, "1", price="99.00"))
    assert [r.status for r in after_fill] == [OrderStatus.FILLED]
    assert desk.total("BTC") == 1


def test_resubmitting_a_rejected_client_id_gets_the_same_rejection() -> None:
    desk = priced_desk("50")
    first = desk.submit(order("c1", BUY, LIMIT, "1", price="99.00"))[0]
    again = desk.submit(order("c1", BUY, LIMIT, "1", price="99.00"))
    assert [(r.status, r.code, r.reason) for r in again] == [(REJECTED, first.code, first.reason)]


def test_cancel_unlocks_and_a_second_cancel_is_answered_by_the_final_state() -> None:
    desk = priced_desk()
    desk.submit(order("c1", BUY, LIMIT, "1", price="99.00"))
    assert desk.free("USDT") == D("10000") - D("99.099")
    reports = desk.cancel("c1")
    assert [(r.client_id, r.status) for r in reports] == [("c1", OrderStatus.CANCELED)]
    assert reports[0].ts == 60_000  # the last candle's close
    assert desk.free("USDT") == D("10000") and desk.locked("USDT") == 0
    # Already canceled: the venue answers with that state (no error, no second report).
    assert desk.cancel("c1") == []
    # An order or an account the venue never had is refused.
    for client_id, account in (("nope", "a"), ("c1", "ghost")):
        with pytest.raises(VenueError) as err:
            desk.cancel(client_id, account)
        assert err.value.code == "unknown_order" and err.value.message.endswith(".")
    view = sync(desk.venue.fetch_order("a", "c1"))
    assert view is not None and view.status is OrderStatus.CANCELED


def test_cancel_after_a_partial_fill_unlocks_only_the_rest() -> None:
    desk = priced_desk()
    desk.submit(order("c1", BUY, LIMIT, "3", price="99.00"))
    desk.candle(bar(1, 100, 100, 98, 99, 10))  # fills 1 of 3
    desk.cancel("c1")
    assert desk.locked("USDT") == 0
    assert desk.total("USDT") == D("10000") - D("99") - D("0.099")
    assert desk.total("BTC") == 1


def test_fetches_and_instrument_errors() -> None:
    desk = priced_desk()
    assert sync(desk.venue.fetch_order("a", "nope")) is None
    assert sync(desk.venue.fetch_order("ghost", "nope")) is None
    for call in (desk.venue.fetch_balances("ghost"), desk.venue.fetch_open_orders("ghost")):
        with pytest.raises(VenueError) as err:
            sync(call)
        assert err.value.code == "unknown_account"
    with pytest.raises(VenueError) as err:
        desk.venue.instrument("DOGE/USDT")
    assert err.value.code == "unknown_symbol"
    assert desk.venue.last_price("BTC/USDT") == D("100.0")
    assert Desk().venue.last_price("BTC/USDT") is None


@pytest.mark.parametrize(
    ("account", "balances", "code"),
    [
        ("a", {"USDT": D(1)}, "account_exists"),
        ("", {"USDT": D(1)}, "bad_account"),
        ("b", {"USDT": D(-1)}, "bad_balance"),
        ("b", {"USDT": 5.0}, "bad_balance"),
        ("b", {"USDT": D("NaN")}, "bad_balance"),
    ],
)
def test_open_account_refuses_bad_funding(account: str, balances: dict, code: str) -> None:
    desk = Desk()
    with pytest.raises(VenueError) as err:
        sync(desk.venue.open_account(account, balances))
    assert err.value.code == code
    assert desk.total("USDT") == D("10000")
    assert "b" not in desk.venue.core.accounts


def test_bad_candles_raise_one_sentence_and_change_nothing() -> None:
    desk = priced_desk()
    desk.submit(order("c1", BUY, LIMIT, "1", price="99.00"))
    bad = [
        bar(1, 100, 101, -1, 100),
        bar(1, float("nan"), 101, 99, 100),
        bar(1, 100, 101, 99, 100, -5),
        bar(0, 99, 99, 98, 98),  # not newer than the last one
        bar(1, 1, 1, 1, 1, symbol="DOGE/USDT"),
    ]
    snap = desk.venue.snapshot()
    for candle in bad:
        with pytest.raises(RampartError) as err:
            desk.candle(candle)
        assert isinstance(err.value, DataError | VenueError) and err.value.message.endswith(".")
    assert desk.venue.snapshot() == snap


def test_a_bar_whose_close_is_outside_its_range_is_widened_not_refused() -> None:
    desk = priced_desk()
    desk.submit(order("c1", BUY, LIMIT, "1", price="97.00"))
    # The close (96) is below the printed low (98): that price traded, so the limit fills.
    reports = desk.candle(bar(1, 100, 101, 98, 96))
    assert reports[0].status is OrderStatus.FILLED


def test_it_is_a_market_driven_venue_and_reports_never_reenter_the_listener() -> None:
    desk = priced_desk()
    assert isinstance(desk.venue, Venue) and isinstance(desk.venue, MarketDrivenVenue)
    depth = 0
    seen: list[tuple[str, int]] = []

    def listener(report: VenueReport) -> None:
        nonlocal depth
        depth += 1
        seen.append((report.client_id, depth))
        if report.client_id == "m1" and report.fill is not None:
            # A listener that reacts at once: the venue must finish this delivery first.
            desk.venue.on_candle(bar(2, 100, 101, 99, 100))
        depth -= 1

    desk.venue.set_listener(listener)
    desk.submit(order("l1", BUY, LIMIT, "1", price="99.50"))
    sync(desk.venue.submit(order("m1", BUY, MARKET, "1")))
    desk.venue.on_candle(bar(1, 100, 101, 99.8, 100))  # m1 fills at the open; l1 waits
    assert [d for _, d in seen] == [1] * len(seen)
    assert [c for c, _ in seen] == ["l1", "m1", "m1", "l1"]


def test_reports_before_any_candle_use_the_clock() -> None:
    desk = Desk(clock_ms=123_000)
    report = desk.submit(order("l1", BUY, LIMIT, "1", price="99.00"))[0]
    assert report.status is OrderStatus.SUBMITTED and report.ts == 123_000
    o = Order("l2", "a", "BTC/USDT", BUY, LIMIT, D("1"), OrderRole.ENTRY, price=D("99.00"))
    assert desk.submit(o)[0].venue_order_id == "P2"
