"""Each order type fills where and at what price the rules say, on hand-computed candles.

Defaults: fees 0.1 % maker and taker, slippage 2 bps + 10 bps × min(qty / volume, 1), tick 0.01,
lot 0.001. With qty 1 on a bar of volume 1000 the slippage is 2.01 bps = 0.000201.
"""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.fills import Liquidity
from rampart.domain.orders import OrderStatus
from rampart.venues.paper import FeeSchedule

from .helpers import BUY, LIMIT, MARKET, SELL, STOP, STOP_LIMIT, Desk, bar, order, sync

D = Decimal
SUBMITTED, PARTIAL, FILLED = (
    OrderStatus.SUBMITTED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
)


def holding_one_btc() -> Desk:
    desk = Desk({"USDT": "1000", "BTC": "1"})
    desk.candle(bar(0, 100, 101, 99, 100))
    return desk


def test_a_market_buy_decided_on_a_close_fills_at_the_next_open_plus_slippage() -> None:
    """The fill model of every run on candles (DESIGN §4): decided after the close of 100, the
    buy fills at the next candle's open of 105, never at the close it was decided on (nor at
    that next candle's close of 110), as a live account deciding after that close would."""
    desk = Desk()
    desk.candle(bar(0, 100, 101, 99, 100))
    reports = desk.submit(order("m1", BUY, MARKET, "1"))
    assert [r.status for r in reports] == [SUBMITTED]
    assert reports[0].venue_order_id == "P1" and reports[0].ts == bar(0, 1, 1, 1, 1).close_ts
    assert desk.locked("USDT") > 0 and desk.total("BTC") == 0  # waiting, its money held
    reports = desk.candle(bar(1, 105, 111, 104, 110))
    assert [r.status for r in reports] == [FILLED]
    fill = reports[0].fill
    assert fill is not None
    # 105 × 1.000201 = 105.021105, rounded up (against the buyer) to 105.03.
    assert fill.price == D("105.03") and fill.qty == D("1")
    assert fill.fee == D("0.10503") and fill.liquidity is Liquidity.TAKER
    assert fill.fill_id == "P1-1" and fill.ts == bar(1, 1, 1, 1, 1).close_ts
    assert desk.total("USDT") == D("10000") - D("105.03") - D("0.10503")
    assert desk.total("BTC") == D("1") and desk.locked("USDT") == 0


def test_an_exchange_core_fills_a_market_buy_at_once_at_the_last_close() -> None:
    """The exchange simulator's core (``market_at_once``): an exchange's book fills a market
    order when it arrives, at the last price plus slippage."""
    from rampart.venues.matching import MatchingCore

    from .helpers import INSTRUMENTS

    core = MatchingCore(INSTRUMENTS, market_at_once=True)
    core.open_account("a", {"USDT": D("10000")})
    core.on_candle(bar(0, 100, 101, 99, 100))
    reports = core.submit(order("m1", BUY, MARKET, "1"), 5)
    assert [r.status for r in reports] == [SUBMITTED, FILLED]
    fill = reports[1].fill
    # 100 × 1.000201 = 100.0201, rounded up to 100.03.
    assert fill is not None and fill.price == D("100.03") and fill.ts == 60_000


def test_a_market_sell_waiting_for_the_next_open_is_canceled_before_it() -> None:
    desk = holding_one_btc()
    desk.submit(order("m1", SELL, MARKET, "1"))
    assert desk.locked("BTC") == 1
    [canceled] = desk.cancel("m1")
    assert canceled.status is OrderStatus.CANCELED and canceled.fill is None
    assert desk.candle(bar(1, 105, 106, 104, 105)) == [] and desk.total("BTC") == 1


def test_limit_buy_waits_for_the_low_and_fills_at_its_price_as_maker() -> None:
    desk = Desk(fees=FeeSchedule(maker=D("0.0002"), taker=D("0.001")))
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("l1", BUY, LIMIT, "0.5", price="98.00"))
    assert desk.candle(bar(1, 100, 100.5, 98.5, 99)) == []
    reports = desk.candle(bar(2, 99, 99, 97.5, 98))
    fill = reports[0].fill
    assert reports[0].status is FILLED and fill is not None
    assert fill.price == D("98.00") and fill.liquidity is Liquidity.MAKER
    assert fill.fee == D("0.0098")  # 49.00 × 0.0002
    assert fill.ts == bar(2, 1, 1, 1, 1).close_ts


def test_limit_buy_fills_at_its_price_even_when_the_bar_opens_below_it() -> None:
    desk = Desk()
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("l1", BUY, LIMIT, "0.5", price="98.00"))
    fill = desk.candle(bar(1, 95, 96, 94, 95))[0].fill
    assert fill is not None and fill.price == D("98.00")


def test_limit_sell_fills_when_the_high_reaches_it() -> None:
    desk = holding_one_btc()
    desk.submit(order("l1", SELL, LIMIT, "1", price="102.00"))
    assert desk.candle(bar(1, 100, 101.99, 99, 101)) == []
    fill = desk.candle(bar(2, 101, 102, 100, 101))[0].fill
    assert fill is not None and fill.price == D("102.00")
    assert desk.total("USDT") == D("1000") + D("102") - D("0.102")


def test_sell_stop_triggers_on_the_low_and_fills_at_the_stop_minus_slippage() -> None:
    desk = holding_one_btc()
    desk.submit(order("s1", SELL, STOP, "1", stop="95.00"))
    assert desk.candle(bar(1, 100, 100, 96, 97)) == []
    fill = desk.candle(bar(2, 97, 98, 94, 95))[0].fill
    # min(open 97, stop 95) = 95; 95 × 0.999799 = 94.980905, rounded down to 94.98.
    assert fill is not None and fill.price == D("94.98") and fill.liquidity is Liquidity.TAKER


def test_sell_stop_gapped_through_fills_at_the_open() -> None:
    desk = holding_one_btc()
    desk.submit(order("s1", SELL, STOP, "1", stop="95.00"))
    fill = desk.candle(bar(1, 93, 94, 92, 93))[0].fill
    # min(open 93, stop 95) = 93; 93 × 0.999799 = 92.981307 → 92.98.
    assert fill is not None and fill.price == D("92.98")


def test_buy_stop_mirrors_the_sell_stop() -> None:
    desk = Desk()
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("b1", BUY, STOP, "1", stop="105.00"))
    desk.submit(order("b2", BUY, STOP, "1", stop="106.00"))
    assert desk.candle(bar(1, 100, 104.99, 99, 104)) == []
    reports = desk.candle(bar(2, 104, 106, 103, 105))
    # b1: max(104, 105) = 105 → 105.021105 → 105.03. b2: 106 → 106.021306 → 106.03.
    prices = {r.client_id: r.fill.price for r in reports if r.fill}
    assert prices == {"b1": D("105.03"), "b2": D("106.03")}
    desk.submit(order("b3", BUY, STOP, "1", stop="108.00"))
    gap = desk.candle(bar(3, 110, 111, 109, 110))[0].fill
    # Gapped above: max(110, 108) = 110 → 110.02211 → 110.03.
    assert gap is not None and gap.price == D("110.03")


def test_stop_limit_marketable_at_the_trigger_fills_as_taker_within_its_limit() -> None:
    desk = holding_one_btc()
    desk.submit(order("s1", SELL, STOP_LIMIT, "0.5", price="94.50", stop="95.00"))
    desk.submit(order("s2", SELL, STOP_LIMIT, "0.5", price="94.99", stop="95.00"))
    reports = desk.candle(bar(1, 97, 98, 94, 95))
    fills = {r.client_id: r.fill for r in reports if r.fill}
    # Slipped trigger price: 95 × (1 - (2 + 10 × 0.5/1000) bps) = 94.980525 → 94.98.
    assert fills["s1"].price == D("94.98") and fills["s1"].liquidity is Liquidity.TAKER
    # s2 may not sell below its limit of 94.99.
    assert fills["s2"].price == D("94.99")


def test_stop_limit_gapped_below_its_limit_rests_then_fills_as_maker() -> None:
    desk = holding_one_btc()
    desk.submit(order("s1", SELL, STOP_LIMIT, "1", price="94.50", stop="95.00"))
    # Opens at 93: triggered at the open, the limit 94.50 is not marketable and the bar
    # never comes back up to it.
    assert desk.candle(bar(1, 93, 94, 92, 93.5)) == []
    assert desk.open_ids() == ["s1"]
    fill = desk.candle(bar(2, 94, 95, 93.8, 94.8))[0].fill
    assert fill is not None and fill.price == D("94.50") and fill.liquidity is Liquidity.MAKER


def test_stop_limit_gapped_can_fill_later_in_its_trigger_bar() -> None:
    desk = holding_one_btc()
    desk.submit(order("s1", SELL, STOP_LIMIT, "1", price="94.50", stop="95.00"))
    fill = desk.candle(bar(1, 93, 94.6, 92, 94))[0].fill
    assert fill is not None and fill.price == D("94.50") and fill.liquidity is Liquidity.MAKER


def test_stop_limit_triggered_mid_bar_does_not_assume_it_reached_a_higher_limit() -> None:
    desk = holding_one_btc()
    desk.submit(order("s1", SELL, STOP_LIMIT, "1", price="96.00", stop="95.00"))
    # The high of 98 may have come before the drop to 95: no fill on this bar.
    assert desk.candle(bar(1, 97, 98, 94, 95)) == []
    fill = desk.candle(bar(2, 95, 96.5, 94, 96))[0].fill
    assert fill is not None and fill.price == D("96.00")


def test_buy_stop_limit_mirrors() -> None:
    desk = Desk()
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("b1", BUY, STOP_LIMIT, "1", price="105.50", stop="105.00"))
    fill = desk.candle(bar(1, 104, 106, 103, 105.5))[0].fill
    # Trigger at 105, slipped to 105.03, inside the limit.
    assert fill is not None and fill.price == D("105.03")
    assert desk.locked("USDT") == 0


def test_maker_and_taker_fees_differ_and_round_up_to_twelve_places() -> None:
    fees = FeeSchedule(maker=D("0.00012345678"), taker=D("0.001"))
    desk = Desk(fees=fees)
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("l1", BUY, LIMIT, "0.1", price="98.00"))
    maker = desk.candle(bar(1, 99, 99, 97, 98))[0].fill
    # 0.1 × 98 = 9.8; 9.8 × 0.00012345678 = 0.001209876444 exactly.
    assert maker is not None and maker.fee == D("0.001209876444")
    desk.submit(order("l2", BUY, LIMIT, "0.101", price="98.00"))
    odd = desk.candle(bar(2, 99, 99, 97, 98))[0].fill
    # 9.898 × 0.00012345678 = 0.00122197520844, rounded up to 0.001221975209.
    assert odd is not None and odd.fee == D("0.001221975209")
    desk.submit(order("m1", SELL, MARKET, "0.1"))
    taker = desk.candle(bar(3, 98, 99, 97, 99))[-1].fill
    # 98 × (1 - 0.0002001) = 97.98039..., rounded down to 97.98; 9.798 × 0.001.
    assert taker is not None and taker.fee == D("0.009798")
    assert taker.liquidity is Liquidity.TAKER and maker.liquidity is Liquidity.MAKER


def test_zero_fees_are_zero_not_negative() -> None:
    desk = Desk(fees=FeeSchedule(maker=D(0), taker=D(0)))
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("m1", BUY, MARKET, "1"))
    fill = desk.candle(bar(1, 100, 101, 99, 100))[-1].fill
    assert fill is not None and fill.fee == 0


def test_orders_match_in_creation_order_across_accounts() -> None:
    desk = Desk()
    sync(desk.venue.open_account("b", {"USDT": D("10000")}))
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("x", BUY, LIMIT, "1", price="99.00", account="b"))
    desk.submit(order("y", BUY, LIMIT, "1", price="99.50"))
    reports = desk.candle(bar(1, 100, 100, 98, 99))
    assert [(r.account_id, r.client_id) for r in reports] == [("b", "x"), ("a", "y")]
    assert [r.fill.fill_id for r in reports if r.fill] == ["P1-1", "P2-1"]
    assert desk.total("BTC", "b") == 1 and desk.total("BTC") == 1
