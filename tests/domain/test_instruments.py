"""Instrument filters derived from a price alone (replay files, synthetic data), in numbers.

Replays and the soak trade instruments known only from their prices; a tick or lot off by a
power of ten there silently changes every size the risk engine approves, so the derivation is
pinned exactly rather than only "looks plausible".
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from rampart.domain.instruments import Instrument, binance_rules, notional
from rampart.venues.ccxt_mapping import rules_from_filters

D = Decimal


@pytest.mark.parametrize(
    ("symbol", "price", "tick", "lot", "min_notional"),
    [
        # Five significant digits of the price; a lot of 1/100 of the minimum order or finer.
        ("BTC/USDT", 43_000.0, "1", "0.000001", "5"),
        ("ETH/USDT", 2_500.0, "0.1", "0.00001", "5"),
        ("ADA/USDC", 0.45, "0.00001", "0.1", "5"),
        # A price of 1 exactly: magnitude 0, the lot floor(log10(5)) − 2 = −2.
        ("XRP/USD", 1.0, "0.0001", "0.01", "5"),
        # Tiny prices: the lot never grows past one whole coin.
        ("SHIB/USDT", 0.00001234, "1E-9", "1", "5"),
        # BTC- and ETH-quoted pairs use their own (tiny) minimum notional.
        ("ETH/BTC", 0.05, "0.000001", "0.00001", "0.0001"),
        ("LINK/ETH", 0.006, "1E-7", "0.001", "0.001"),
        # A quote the table does not know gets the smallest minimum.
        ("FOO/EUR", 12.5, "0.001", "1E-8", "0.0001"),
        # A perpetual's settlement suffix is not part of the quote.
        ("XRP/USDT:USDT", 0.5, "0.00001", "0.1", "5"),
    ],
)
def test_filters_from_a_typical_price(
    symbol: str, price: float, tick: str, lot: str, min_notional: str
) -> None:
    inst = Instrument.for_price(symbol, price)
    base, quote = Instrument.split_symbol(symbol)
    assert (inst.symbol, inst.base, inst.quote) == (symbol, base, quote)
    assert inst.tick_size == D(tick)
    assert inst.lot_size == D(lot)
    assert inst.min_qty == inst.lot_size
    assert inst.min_notional == D(min_notional)


@pytest.mark.parametrize("price", [0.0, -1.0, float("nan"), float("inf"), float("-inf")])
def test_no_filters_from_a_price_that_is_not_one(price: float) -> None:
    with pytest.raises(ValueError, match=r"^cannot derive instrument filters from price "):
        Instrument.for_price("BTC/USDT", price)


@pytest.mark.parametrize(
    ("symbol", "parts"),
    [
        ("BTC/USDT", ("BTC", "USDT")),
        ("XRP/USDT:USDT", ("XRP", "USDT")),
        ("ETH/BTC:BTC:x", ("ETH", "BTC")),
        ("A/B/C", ("A", "B/C")),  # only the first slash separates base from quote
    ],
)
def test_split_symbol(symbol: str, parts: tuple[str, str]) -> None:
    assert Instrument.split_symbol(symbol) == parts


def test_a_symbol_without_a_slash_is_refused_with_an_example() -> None:
    with pytest.raises(ValueError) as err:
        Instrument.split_symbol("BTCUSDT")
    assert str(err.value) == ("symbol 'BTCUSDT' must look like BASE/QUOTE, for example BTC/USDT")
    with pytest.raises(ValueError):
        Instrument.for_price("BTCUSDT", 1.0)


def test_notional_is_zero_for_nothing_held() -> None:
    assert notional(D("2"), D("3.5")) == D("7.0")
    assert notional(D("0"), D("3.5")) == 0
    assert notional(D("-1"), D("3.5")) == 0  # a negative quantity is never money owed here


EXCHANGE_INFO = Path(__file__).parents[1] / "contracts" / "binance" / "exchange_info.json"


def test_the_simulator_s_rules_are_binance_s_recorded_btcusdt_filters() -> None:
    """The exchange simulator sends ``binance_rules``: read back the way the venue adapter
    reads a real exchange's answer, they are every filter Binance lists on BTCUSDT."""
    example = json.loads(EXCHANGE_INFO.read_text())["examples"][0]
    (symbol,) = example["response"]["symbols"]
    recorded = rules_from_filters(symbol["filters"])
    assert binance_rules(D("128.52621715")) == recorded
    assert binance_rules(D("128.52621715"), D(9000)) == recorded
    # The one argument a symbol changes besides the market order's ceiling.
    assert binance_rules(D(44000), D(90000)).max_qty == D(90000)
