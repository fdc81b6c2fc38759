"""quick_init: the descriptor-based __init__ builds the same frozen instance, or refuses."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from rampart.domain.candles import Candle
from rampart.domain.quick import quick_init


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    ts: int
    price: float
    note: str = "x"


@quick_init
@dataclasses.dataclass(frozen=True, slots=True)
class Quick:
    ts: int
    price: float
    note: str = "x"


def test_same_instance_as_the_generated_init() -> None:
    for args, kwargs in (((1, 2.5), {}), ((1,), {"price": 2.5, "note": "y"})):
        a, b = Reference(*args, **kwargs), Quick(*args, **kwargs)
        assert dataclasses.astuple(a) == dataclasses.astuple(b)
    with pytest.raises(TypeError, match="price"):
        Quick(1)  # type: ignore[call-arg]
    made = Quick(1, 2.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.ts = 2  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(made)) == made
    assert dataclasses.replace(made, ts=3) == Quick(3, 2.5)


def test_candle_keeps_its_fields_defaults_and_equality() -> None:
    c = Candle("BTC/USDT", 0, 1.0, 2.0, 0.5, 1.5, 10.0)
    assert c.timeframe_ms == 60_000
    assert c == Candle(symbol="BTC/USDT", ts=0, open=1.0, high=2.0, low=0.5, close=1.5, volume=10.0)
    assert hash(c) == hash(Candle("BTC/USDT", 0, 1.0, 2.0, 0.5, 1.5, 10.0))


def test_refuses_what_it_would_construct_differently() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        qty: int

        def __post_init__(self) -> None:
            if self.qty < 0:
                raise ValueError("negative")

    @dataclasses.dataclass(frozen=True, slots=True)
    class Listed:
        items: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        qty: int

    for cls, why in ((Checked, "__post_init__"), (Listed, "items"), (NoSlots, "not a slot")):
        with pytest.raises(TypeError, match=why):
            quick_init(cls)
