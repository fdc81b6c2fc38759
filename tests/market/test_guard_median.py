"""The guard's band medians (``price_state._median``) are ``np.median``'s, to the bit: the
band, and so which candles are held, must not move with how the median is computed."""

from __future__ import annotations

import math
import random

import numpy as np

from rampart.market.price_state import _median


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def test_the_median_is_numpys_to_the_bit() -> None:
    rng = np.random.default_rng(55)
    for n in [*range(1, 40), 119, 120, 240, 241]:
        for _ in range(50):
            moves = np.log(rng.uniform(0.99, 1.01, n))
            for values in (moves, np.abs(moves - np.median(moves)), np.round(moves, 4)):
                assert _same(_median(values), float(np.median(values)))


def test_signed_zeros_and_nan_read_as_numpy_reads_them() -> None:
    pick = random.Random(4)
    for n in range(1, 12):
        for _ in range(200):
            values = np.array(pick.choices([-0.0, 0.0, 1.0, -1.0, 2.5, -2.5], k=n))
            assert _same(_median(values), float(np.median(values)))
    for values in ([1.0, math.nan, 2.0], [math.nan, 1.0], [math.nan]):
        assert math.isnan(_median(np.array(values)))
