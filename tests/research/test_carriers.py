"""What carried a finding, by name (``research/carriers.py``): the attributes whose values known
at the candle a cut changed (failing those, the ones that differ at all; a path to the agent's
own files is no carrier), and the attributes looked up by candle times."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rampart.domain.candles import Candle
from rampart.research.carriers import differing, time_keyed

CODE = (__file__,)
HOUR = 3_600_000
T0 = 1_700_000_000_000


class Held:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


class Model:
    def __init__(self, mean: float) -> None:
        self.mean = mean


def test_the_attributes_whose_known_values_a_cut_changed_are_named() -> None:
    full = Held(z=[0.5, 0.7, 0.9], raw=[1, 2, 3], model=Model(2.0), home="/a/bars.csv")
    cut = Held(z=[0.4, 0.6], raw=[1, 2], model=Model(1.5), home="/b/cut-1/bars.csv")
    assert differing(full, cut, CODE) == ("Held.z", "Held.model.mean")
    # Known values alike, one longer: failing any other, the ones that differ at all.
    ahead = Held(after={1: 2.0, 2: 3.0}, array=np.arange(3))
    behind = Held(after={1: 2.0}, array=np.arange(3))
    assert differing(ahead, behind, CODE) == ("Held.after",)
    same = Held(z=[0.5], frame=pd.Series([1.0, 2.0]))
    assert differing(same, Held(z=[0.5], frame=pd.Series([1.0])), CODE) == ("Held.frame",)
    assert differing(same, same, CODE) == ()


def test_the_attributes_keyed_by_candle_times_are_named() -> None:
    candles = [Candle("ETH/BTC", T0 + k * HOUR, 1, 1, 1, 1, 1, HOUR) for k in range(3)]
    stamps = pd.to_datetime([T0, T0 + HOUR], unit="ms", utc=True)
    agent = Held(
        by_ms={T0 + HOUR: 1.0},
        by_seconds={(T0 + 2 * HOUR) // 1000: 1.0},
        indexed=pd.Series([1.0, 2.0], index=stamps),
        with_column=pd.DataFrame({"date": stamps, "x": [1, 2]}),
        by_bar=[1.0, 2.0],
        by_row={0: 1.0, 1: 2.0},
        elsewhere={T0 - 7 * 24 * HOUR: 1.0},
    )
    assert time_keyed(agent, candles, CODE) == (
        "Held.by_ms",
        "Held.by_seconds",
        "Held.indexed",
        "Held.with_column",
    )
