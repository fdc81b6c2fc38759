"""``bench/per_event.py`` solves three whole processes' CPU seconds for what a replay costs
fixed, per candle and per stored order (the per-event goals)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from per_event import Run, solve


def test_the_three_costs_come_back_from_three_runs() -> None:
    fixed, candle, order = 0.44, 5.4e-6, 80e-6
    runs = [
        Run(bars, orders, orders // 2, fixed + bars * candle + orders * order)
        for bars, orders in ((2_000, 202), (100_000, 1_216), (100_000, 9_474))
    ]
    costs = solve(runs)
    assert costs.fixed_s == pytest.approx(0.44)
    assert costs.candle_us == pytest.approx(5.4)
    assert costs.order_us == pytest.approx(80.0)


def test_runs_that_cannot_tell_candles_from_orders_apart_are_refused() -> None:
    same_ratio = [Run(1_000, 10, 5, 1.0), Run(2_000, 20, 10, 1.5), Run(4_000, 40, 20, 2.5)]
    with pytest.raises(ValueError, match="differ"):
        solve(same_ratio)
    with pytest.raises(ValueError, match="three"):
        solve(same_ratio[:2])
