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


# The classes below are built inside the tests, not at import: quick_init runs when the class
# statement does, and only then can a change to it be seen (mutmut switches a mutant on after
# every module is imported).


def test_a_class_built_at_run_time_gets_the_generated_init_s_behaviour() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Plain:
        symbol: str
        qty: int
        price: float = 1.5
        note: str = "x"

    @quick_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Fast:
        symbol: str
        qty: int
        price: float = 1.5
        note: str = "x"

    for args, kwargs in (
        (("BTC/USDT", 3), {}),
        (("BTC/USDT", 3, 2.0), {"note": "y"}),
        ((), {"qty": 4, "symbol": "ETH/USDT"}),
    ):
        assert dataclasses.astuple(Fast(*args, **kwargs)) == dataclasses.astuple(
            Plain(*args, **kwargs)
        )
    made = Fast("SOL/USDT", 1)
    assert (made.symbol, made.qty, made.price, made.note) == ("SOL/USDT", 1, 1.5, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.qty = 2  # type: ignore[misc]
    with pytest.raises(TypeError, match="qty"):
        Fast("SOL/USDT")  # type: ignore[call-arg]
    # Named like the generated one in tracebacks and by inspect.
    assert Fast.__init__.__qualname__ == Plain.__init__.__qualname__.replace("Plain", "Fast")
    assert Fast.__init__.__module__ == Plain.__init__.__module__ == __name__


def test_a_class_without_fields_still_constructs() -> None:
    @quick_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Marker:
        pass

    assert Marker() == Marker()


def test_keyword_only_and_non_init_fields_are_refused() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class KeywordOnly:
        qty: int = dataclasses.field(kw_only=True)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived:
        qty: int
        total: int = dataclasses.field(init=False, default=0)

    for cls, field in ((KeywordOnly, "qty"), (Derived, "total")):
        with pytest.raises(TypeError, match=rf"{cls.__name__}\.{field} is not a plain init field"):
            quick_init(cls)
