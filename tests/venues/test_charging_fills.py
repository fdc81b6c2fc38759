"""The matching core charging fees the way Binance does, as the exchange simulator runs it
(survivors of ``MatchingCore._fill`` and ``_discount_price``): a buy's commission
in the base it receives, a sell's in the quote, and in BNB at BNB's last price less 25 % for
an account that pays with BNB; every field of the fill it reports."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.fills import Liquidity
from rampart.domain.instruments import Instrument
from rampart.domain.orders import OrderStatus
from rampart.venues.charging import Charging
from rampart.venues.matching import MatchingCore

from .helpers import BUY, INSTRUMENT, MARKET, MINUTE, SELL, SYMBOL, bar, order

D = Decimal
BNB = Instrument("BNB/USDT", "BNB", "USDT", D("0.01"), D("0.001"), D("0.002"), D("5"))


def core() -> MatchingCore:
    """Accounts ``plain`` and ``bnb`` (paying fees with BNB), each with 10,000 USDT and 1 BNB;
    BTC last at 100, BNB at 500."""
    c = MatchingCore(
        {SYMBOL: INSTRUMENT, BNB.symbol: BNB}, charging=Charging(), market_at_once=True
    )
    for name in ("plain", "bnb"):
        c.open_account(name, {"USDT": D(10_000), "BNB": D(1)})
    c.discount_accounts.add("bnb")
    c.on_candle(bar(0, 100, 101, 99, 100, 1000))
    c.on_candle(bar(0, 500, 501, 499, 500, 1000, symbol=BNB.symbol))
    return c


def test_a_buy_pays_in_the_base_it_receives_and_a_sell_in_the_quote() -> None:
    c = core()
    [_, bought] = c.submit(order("m1", BUY, MARKET, "1", account="plain"), 5)
    assert bought.status is OrderStatus.FILLED
    assert bought.fill == bought.fill.__class__(
        fill_id="P1-1",
        client_id="m1",
        account_id="plain",
        symbol=SYMBOL,
        side=BUY,
        qty=D(1),
        price=D("100.03"),
        fee=D("0.10003"),  # 0.001 BTC at the fill's price
        liquidity=Liquidity.TAKER,
        ts=MINUTE,
        fee_asset="BTC",
        fee_qty=D("0.001"),
    )
    held = c.accounts["plain"].balances()
    assert (held["BTC"].free, held["USDT"].free) == (D("0.999"), D("9899.97"))
    [_, sold] = c.submit(order("s1", SELL, MARKET, "0.5", account="plain"), 6)
    assert sold.fill is not None
    assert (sold.fill.fee_asset, sold.fill.fee_qty, sold.fill.fee) == (
        "USDT",
        D("0.049985"),
        D("0.049985"),
    )
    held = c.accounts["plain"].balances()
    assert (held["BTC"].free, held["USDT"].free, held["BNB"].free) == (
        D("0.499"),
        D("9899.97") + D("49.985") - D("0.049985"),
        D(1),
    )


def test_an_account_paying_with_bnb_pays_a_quarter_less_in_bnb() -> None:
    c = core()
    [_, bought] = c.submit(order("m1", BUY, MARKET, "1", account="bnb"), 5)
    fill = bought.fill
    assert fill is not None and (fill.client_id, fill.account_id) == ("m1", "bnb")
    # 100.03 × 0.1 % × 0.75 / 500, rounded up to 8 decimals; worth 0.075025 USDT.
    assert (fill.fee_asset, fill.fee_qty, fill.fee) == ("BNB", D("0.00015005"), D("0.075025"))
    [_, sold] = c.submit(order("s1", SELL, MARKET, "0.5", account="bnb"), 6)
    assert sold.fill is not None
    assert (sold.fill.fee_asset, sold.fill.fee_qty) == ("BNB", D("0.00007498"))
    held = c.accounts["bnb"].balances()
    assert held["BTC"].free == D("0.5")  # the whole BTC bought, half of it sold
    assert held["BNB"].free == D(1) - D("0.00015005") - D("0.00007498")
    assert held["USDT"].free == D("9899.97") + D("49.985")


def test_a_buy_whose_fee_comes_out_of_the_base_needs_no_quote_for_the_fee() -> None:
    c = MatchingCore({SYMBOL: INSTRUMENT}, charging=Charging(), market_at_once=True)
    c.open_account("a", {"USDT": D("100.12")})  # 1 BTC at the close plus the 12 bps cap
    c.on_candle(bar(0, 100, 101, 99, 100, 1000))
    [_, bought] = c.submit(order("m1", BUY, MARKET, "1"), 5)
    assert bought.status is OrderStatus.FILLED and bought.fill is not None
    assert bought.fill.fee_asset == "BTC"
    held = c.accounts["a"].balances()
    assert (held["BTC"].free, held["USDT"].free) == (D("0.999"), D("0.09"))


def test_without_a_bnb_price_the_fee_is_paid_as_without_bnb() -> None:
    """A discount asset with no price yet (0, or none known) cannot value the fee: the
    commission is taken as for an account without BNB, in what the fill brings in (a
    division by that 0 would end the fill; the accounts area's survivor)."""
    charging = Charging()
    for price in (D(0), None):
        assert charging.charge(BUY, INSTRUMENT, D(1), D(100), D("0.001"), price, D(5)) == (
            "BTC",
            D("0.001"),
            D("0.100"),
        )
        assert charging.charge(SELL, INSTRUMENT, D(2), D(100), D("0.001"), price, D(5)) == (
            "USDT",
            D("0.2"),
            D("0.2"),
        )
    # Priced, and enough of it held: a quarter less, in BNB; one satoshi short: as without.
    assert charging.charge(BUY, INSTRUMENT, D(1), D(100), D("0.001"), D(500), D(1)) == (
        "BNB",
        D("0.00015"),
        D("0.07500"),
    )
    assert charging.charge(BUY, INSTRUMENT, D(1), D(100), D("0.001"), D(500), D("0.00015"))[0] == (
        "BNB"
    )
    assert charging.charge(BUY, INSTRUMENT, D(1), D(100), D("0.001"), D(500), D("0.00014999")) == (
        "BTC",
        D("0.001"),
        D("0.100"),
    )


def test_without_charging_a_sale_takes_the_coins_and_pays_its_fee_in_the_quote() -> None:
    """The paper venue's way (no :class:`Charging`): every fee in the quote; a buy's coins
    credited whole, a sale's debited (the accounts area's survivors of ``settle``)."""
    c = MatchingCore({SYMBOL: INSTRUMENT})
    c.open_account("plain", {"USDT": D(10_000)})
    c.on_candle(bar(0, 100, 101, 99, 100, 1000))
    c.submit(order("m1", BUY, MARKET, "1", account="plain"), 5)
    [bought] = c.on_candle(bar(1, 100, 101, 99, 100, 1000))  # at the next open
    c.submit(order("s1", SELL, MARKET, "0.4", account="plain"), 6)
    [sold] = c.on_candle(bar(2, 100, 101, 99, 100, 1000))
    assert bought.fill is not None and sold.fill is not None
    assert (bought.fill.fee_asset, sold.fill.fee_asset) == ("", "")
    assert bought.fill.fee > 0 and sold.fill.fee > 0
    held = c.accounts["plain"].balances()
    assert held["BTC"].free == D("0.6")
    spent = bought.fill.qty * bought.fill.price + bought.fill.fee
    got = sold.fill.qty * sold.fill.price - sold.fill.fee
    assert held["USDT"].free == D(10_000) - spent + got
