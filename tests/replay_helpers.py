"""Shared by the replay session tests: the collector left as found (a replay session freezes
it and changes its thresholds) and a seeded walk of 1-minute candles."""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator

import pytest

from rampart.domain.candles import Candle


@pytest.fixture(autouse=True)
def gc_as_found() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


def candle_walk(n: int, symbol: str, seed: int = 7) -> list[Candle]:
    """``n`` 1-minute candles from 40,000, each close within about 0.2 % of the last."""
    rng = random.Random(seed)
    price, out = 40_000.0, []
    for i in range(n):
        close = round(price * (1 + rng.gauss(0, 0.002)), 2)
        high = round(max(price, close) * (1 + abs(rng.gauss(0, 0.001))), 2)
        low = round(min(price, close) * (1 - abs(rng.gauss(0, 0.001))), 2)
        out.append(Candle(symbol, i * 60_000, price, high, low, close, 10.0))
        price = close
    return out
