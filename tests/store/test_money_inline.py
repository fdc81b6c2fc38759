"""The money text a compiled row converter writes in place (``money_text_inline``) is
``money_text``'s for every value, its quick path and its fallback alike."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.store.fast_insert import _converter, _values_converter
from rampart.store.types import money_text

_amounts = (
    st.decimals(allow_nan=True, allow_infinity=True)
    | st.decimals(places=8, allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [Decimal("-0"), Decimal("-0.00"), Decimal("0E-8"), Decimal("1E+3"), Decimal("-1.5E-9")]
    )
    | st.none()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["1.25", "-0", "3e2"])
)


@settings(max_examples=400, deadline=None)
@given(_amounts, _amounts)
def test_a_converter_writes_what_money_text_gives(first: Any, second: Any) -> None:
    try:
        expected = (7, money_text(first), money_text(second))
    except Exception as exc:  # the converter must refuse it the same way
        expected = type(exc)  # type: ignore[assignment]
    by_position = _values_converter((None, money_text, money_text))
    by_name = _converter(("n", "a", "b"), (None, money_text, money_text), positional=True)
    for convert, row in (
        (by_position, (7, first, second)),
        (by_name, dict(n=7, a=first, b=second)),
    ):
        try:
            got: Any = convert(row)  # type: ignore[arg-type]
        except Exception as exc:
            got = type(exc)
        assert got == expected


def test_the_quick_path_keeps_the_text_and_drops_negative_zeros_sign() -> None:
    convert = _values_converter((money_text, money_text, money_text))
    assert convert((Decimal("1.50"), Decimal("-0.00"), Decimal("2E+2"))) == ("1.50", "0.00", "200")
