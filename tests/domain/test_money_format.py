"""The one money formatter: what every front shows for an amount, a PnL, a quantity, a price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.domain.money_format import money, pnl, price, quantity, step_places, totals


@pytest.mark.parametrize(
    ("amount", "asset", "shown"),
    [
        (Decimal("29271.166943693700"), "USDT", "29,271.17 USDT"),
        (Decimal("2.000244950000"), "USDT", "2.00 USDT"),
        (Decimal("1234567.005"), "USDC", "1,234,567.00 USDC"),  # half-even, as Decimal rounds
        (Decimal("1234567.015"), "USD", "1,234,567.02 USD"),
        (Decimal("0"), "EUR", "0.00 EUR"),
        (Decimal("-0.004"), "USDT", "0.00 USDT"),  # never "-0.00"
        (Decimal("-1500.5"), "USDT", "-1,500.50 USDT"),
        (Decimal("0.000123456789"), "BTC", "0.00012346 BTC"),  # a BTC quote keeps satoshi
        (Decimal("1.5"), "btc", "1.50000000 btc"),
        (3, "USDT", "3.00 USDT"),
        ("12.5", "USDT", "12.50 USDT"),
        (None, "USDT", "—"),
        ("lots", "USDT", "—"),
        (Decimal("NaN"), "USDT", "—"),
    ],
)
def test_money(amount: object, asset: str, shown: str) -> None:
    assert money(amount, asset) == shown  # type: ignore[arg-type]


def test_pnl_is_signed_and_a_zero_is_not() -> None:
    assert pnl(Decimal("1204.499"), "USDT") == "+1,204.50 USDT"
    assert pnl(Decimal("-3.2"), "USDT") == "-3.20 USDT"
    assert pnl(Decimal("0.001"), "USDT") == "0.00 USDT"
    assert pnl(Decimal("0.00000001"), "BTC") == "+0.00000001 BTC"


def test_quantities_have_the_instruments_precision() -> None:
    assert quantity(Decimal("0.5"), Decimal("0.001"), "BTC") == "0.500 BTC"
    assert quantity(Decimal("1234"), Decimal("1")) == "1,234"
    assert quantity(Decimal("1234.5"), Decimal("1E+1")) == "1,234"  # a step of 10: no decimals
    assert quantity(Decimal("0.12300000"), None, "ETH") == "0.123 ETH"  # what it needs
    assert quantity(Decimal("1500000")) == "1,500,000"
    assert step_places(Decimal("0.00001000")) == 5
    assert step_places(Decimal(0)) is None


def test_prices_have_the_ticks_decimals_or_six_significant_digits() -> None:
    assert price(Decimal("42000.123"), "USDT", Decimal("0.01")) == "42,000.12 USDT"
    assert price(Decimal("0.0523"), "BTC", Decimal("0.000001")) == "0.052300 BTC"
    assert price(Decimal("42000.1234")) == "42,000.12"
    assert price(Decimal("0.00003127")) == "0.0000312700"
    assert price(Decimal("1.23456789")) == "1.23457"
    assert price(Decimal("0")) == "0.00"


def test_amounts_in_several_assets_are_never_added() -> None:
    assert totals({"USDT": Decimal(1000), "BTC": Decimal("0.5")}) == (
        "0.50000000 BTC · 1,000.00 USDT"
    )
    assert totals({"USDT": Decimal(5)}, signed=True) == "+5.00 USDT"
    assert totals({}) == "—"


def test_a_float_is_shown_as_it_reads_not_as_its_binary_value() -> None:
    # 2.675 as a float is 2.67499999…; read as written it rounds half-even to 2.68.
    assert money(2.675, "USDT") == "2.68 USDT"
    assert pnl(-2.675, "USDT") == "-2.68 USDT"


@pytest.mark.parametrize("amount", ["Infinity", "-inf", "nan", float("inf"), True, False, [1]])
def test_what_is_not_a_finite_amount_is_a_dash(amount: object) -> None:
    assert money(amount, "USDT") == "—"  # type: ignore[arg-type]
    assert pnl(amount, "USDT") == "—"  # type: ignore[arg-type]
    assert quantity(amount) == "—"  # type: ignore[arg-type]
    assert price(amount) == "—"  # type: ignore[arg-type]


def test_a_price_from_100_up_without_a_tick_has_two_decimals() -> None:
    assert price(Decimal(100)) == "100.00"
    assert price(Decimal("-100")) == "-100.00"
    assert price(Decimal("100.5")) == "100.50"
    assert price(Decimal("99.99")) == "99.9900"  # six significant digits below 100
