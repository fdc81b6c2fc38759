"""Numbers and percentages as every refusal and breaker sentence writes them, at their edges:
non-finite values, zero and minus zero, the sixth significant digit, and a share kept apart
from the limit it is compared with (up to eight places, no further)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.risk.codes import fmt_money, fmt_num, fmt_pct

D = Decimal


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Infinity", "Infinity"),
        ("NaN", "NaN"),
        ("0", "0"),
        ("0.000", "0"),
        ("1000", "1,000"),
        ("1234.5", "1,234.5"),
        ("999.99949", "999.999"),
        ("1.23456789", "1.23457"),
        ("0.123456789", "0.123457"),
        ("0.00003127", "0.00003127"),
        ("12.5", "12.5"),
        ("-0.5", "-0.5"),
    ],
)
def test_fmt_num(value: str, text: str) -> None:
    assert fmt_num(D(value)) == text


def test_money_without_a_currency_is_the_number_alone() -> None:
    assert fmt_money(D("5"), "") == "5"
    assert fmt_money(D("5"), "USDT") == "5 USDT"


@pytest.mark.parametrize(
    ("fraction", "avoid", "text"),
    [
        ("0.004", None, "0.4 %"),
        ("0.04001", None, "4 %"),  # two places when nothing is compared
        ("0.123456", "0.04", "12.35 %"),  # far from the limit: two places are enough
        ("0.040001", "0.04", "4.0001 %"),  # just past the limit: never shown as the limit
        ("0.039999", "0.04", "3.9999 %"),
        ("0.04", "0.04", "4 %"),
        ("0.04000000001", "0.04", "4 %"),  # eight places at most
        ("-0.00001", None, "0 %"),  # never "-0 %"
        ("Infinity", None, "Infinity %"),
    ],
)
def test_fmt_pct(fraction: str, avoid: str | None, text: str) -> None:
    assert fmt_pct(D(fraction), None if avoid is None else D(avoid)) == text
