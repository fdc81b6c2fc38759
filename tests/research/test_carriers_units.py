"""What carried a finding, value by value (``rampart.research.carriers``): which values compare
equal (NaN is NaN, pandas by their own ``equals``, arrays by shape and content), what counts as
known at the candle (the shared keys or prefix), what is a path to the agent's own files, and
which containers are looked up by candle times; and what ``carried_state`` watches."""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rampart.domain.candles import Candle
from rampart.research.carried_state import changed, snapshot
from rampart.research.carriers import _equal, _shared_differs, differing, time_keyed

CODE = (__file__,)
HOUR = 3_600_000
T0 = 1_700_000_000_000
NAN = float("nan")


class Held:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


class Slotted:
    __slots__ = ("z",)

    def __init__(self, z: object) -> None:
        self.z = z


class TimeIndexed:
    """A class (not a table) with an index of candle times: classes are not watched."""

    index = (T0,)
    loc = None


class Own:
    """An agent's own class: its class attributes are watched; classes held in it are not."""

    kind = TimeIndexed

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


BY_TIME = {T0 + HOUR: 1.0}
_hidden = {T0: 1.0}


def _candles(n: int, t0: int = T0) -> list[Candle]:
    return [Candle("ETH/BTC", t0 + k * HOUR, 1, 1, 1, 1, 1, HOUR) for k in range(n)]


def test_values_compare_equal_as_a_reader_of_them_would() -> None:
    assert _equal(NAN, NAN)
    assert not _equal(NAN, 1.0)
    assert not _equal(1.0, NAN)
    assert _equal(np.float64(1.0), np.float64(1.0))
    assert not _equal(np.float64(1.0), np.float64(2.0))
    assert _equal(np.array([NAN, 1.0]), np.array([NAN, 1.0]))
    assert not _equal(np.array([1.0]), np.array([2.0]))
    assert not _equal(np.arange(3), [0, 1])  # an array and a shorter list
    assert _equal(np.arange(2), [0, 1])
    # pandas by its own equals: NaN is NaN, and the labels count.
    assert _equal(pd.Series([NAN, 1.0]), pd.Series([NAN, 1.0]))
    assert not _equal(pd.Series([1.0], index=[0]), pd.Series([1.0], index=[1]))

    class Refuses:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no")

    assert _equal(Refuses(), Refuses())  # cannot be compared: no difference to name


def test_only_values_both_hold_at_the_same_key_or_position_count() -> None:
    assert _shared_differs({"a": 1, "b": 2}, {"a": 1, "b": 3}) is True
    assert _shared_differs({"a": 1, "b": 2}, {"a": 1}) is False
    assert _shared_differs({"a": 1}, {"c": 2}) is False
    assert _shared_differs([1, 2, 3], (1, 2)) is False
    assert _shared_differs([1, 2, 3], [1, 5]) is True
    assert _shared_differs(np.arange(3), np.arange(2)) is False
    assert _shared_differs(np.arange(3), np.array([0, 7])) is True
    assert _shared_differs(np.array(1.0), np.array(1.0)) is False
    assert _shared_differs(np.array(1.0), np.array(2.0)) is True
    assert _shared_differs(np.array(1.0), np.array([1.0, 2.0])) is True
    assert _shared_differs(np.array([1.0, 2.0]), np.array(1.0)) is True
    # Different kinds of container hold nothing in common the check can compare.
    assert _shared_differs({0: 1}, [0]) is None
    assert _shared_differs([1, 2], np.array([1, 3])) is None
    assert _shared_differs(np.array([1, 2]), [1, 3]) is None


def test_differing_names_carriers_past_unshared_names_paths_and_unreadable_objects() -> None:
    full = Held(extra=1, home="/a/bars.csv", z=[1.0, 2.0])
    assert differing(full, Held(home="/b/cut-1/bars.csv", z=[1.0, 3.0]), CODE) == ("Held.z",)
    # A path on either side is no carrier; plain words and a path's list are.
    for a, b in (("/a/bars.csv", "bars.csv"), ("bars.csv", "/b/bars.csv")):
        assert differing(Held(home=a), Held(home=b), CODE) == ()
    assert differing(Held(label="x"), Held(label="y"), CODE) == ("Held.label",)
    assert differing(Held(v="/a"), Held(v=3), CODE) == ("Held.v",)
    assert differing(Held(files=["/a/1"]), Held(files=["/b/2"]), CODE) == ("Held.files",)
    # A set is compared through its attributes (none): never named, never a traceback.
    assert differing(Held(s={1}), Held(s={1, 2}), CODE) == ()
    nan = np.array([NAN, 1.0])
    assert differing(Held(a=nan), Held(a=nan.copy()), CODE) == ()


def test_an_agent_of_a_class_outside_its_code_is_named_by_its_class() -> None:
    assert differing(Held(z=[1.0]), Held(z=[2.0]), ()) == ("Held.z",)
    assert differing(Slotted([1.0]), Slotted([2.0]), ()) == ()  # no __dict__: nothing to name


def test_time_keyed_containers_are_named_with_their_module_and_class() -> None:
    candles = _candles(3)
    agent = Own(first={T0: 1.0}, kept=TimeIndexed, by_bar={0: 1.0})
    assert time_keyed(agent, candles, CODE) == ("Own.first", "test_carriers_units.BY_TIME")


def test_what_is_not_a_lookup_by_candle_time() -> None:
    candles = _candles(3)
    stamps = [T0 + k * HOUR for k in range(3)]
    assert time_keyed(Held(d={pd.Timedelta(milliseconds=T0): 1}), candles, ()) == ()
    assert time_keyed(Held(d={NAN: 1}), candles, ()) == ()
    assert time_keyed(Held(d={None: 0, T0: 1}), candles, ()) == ("Held.d",)
    assert time_keyed(Held(d=types.SimpleNamespace(index=stamps)), candles, ()) == ()
    # The first 200 keys are sampled.
    late = {**{-k: 0 for k in range(1, 201)}, T0: 1}
    early = {**{-k: 0 for k in range(1, 200)}, T0: 1}
    assert time_keyed(Held(late=late, early=early), candles, ()) == ("Held.early",)


def test_candle_times_count_in_seconds_rounded_down() -> None:
    candles = _candles(2, T0 + 500)
    assert time_keyed(Held(d={T0 // 1000: 1}), candles, ()) == ("Held.d",)


@pytest.fixture
def kept() -> Any:
    module = types.ModuleType("kept_units")
    module.__file__ = "/agents/kept_units.py"
    exec(  # noqa: S102 - a module of the test's own, built in place
        "LEVEL = 1\ndef helper():\n    return 1\nclass B:\n    pass\n"
        "class A:\n    level = 1\n    def act(self):\n        return 1\n",
        module.__dict__,
    )
    sys.modules["kept_units"] = module
    module.A.__module__ = "kept_units"
    yield module
    del sys.modules["kept_units"]


def test_a_snapshot_watches_values_not_dunders_functions_or_classes(kept: Any) -> None:
    marks = snapshot(kept.A, ["/agents/kept_units.py"])
    assert sorted(marks) == ["A.level", "kept_units.LEVEL"]
    kept.A.level = 2  # rebound, same size
    assert changed(marks, snapshot(kept.A, ["/agents/kept_units.py"])) == ("A.level",)
