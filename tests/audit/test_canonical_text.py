"""The audit chain's canonical text is the json module's encoder's, to the character, whether
the C encoder is called directly (the fast way) or through ``JSONEncoder.encode``."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.store import audit_chain
from rampart.store.audit_chain import canonical


class Side(enum.Enum):
    BUY = "buy"


_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.just(Side.BUY)
    | st.frozensets(st.integers(), max_size=3)
)
_values = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_the_same_text_as_the_encoder(value: Any) -> None:
    assert canonical(value) == audit_chain._ENCODER.encode(value)


def test_the_same_text_without_the_c_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"to": "filled", "from": "open", "qty": Decimal("0.50"), "é": [1.5, None, Side.BUY]}
    fast = canonical(value)
    monkeypatch.setattr(audit_chain, "_C_ENCODER", None)
    assert (
        canonical(value)
        == fast
        == '{"from":"open","qty":"0.50","to":"filled","é":[1.5,null,"buy"]}'
    )


def test_a_circular_value_is_refused_in_words() -> None:
    looped: list[Any] = []
    looped.append(looped)
    with pytest.raises(ValueError, match="Circular reference"):
        canonical(looped)
    assert canonical([1, 2]) == "[1,2]"  # nothing left behind by the refusal
