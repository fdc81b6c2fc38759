"""The figures research and the launch gates share: each checked against a hand computation."""

from __future__ import annotations

import math
import statistics

import pytest

from rampart.domain.performance import (
    HOUR_MS,
    YEAR_MS,
    buy_and_hold,
    calmar,
    compare_with_buy_and_hold,
    max_drawdown,
    per_period,
    performance,
    returns_of,
    sharpe,
    sortino,
)


def test_per_period_takes_the_last_value_and_carries_it_over_gaps() -> None:
    points = [(0, 1.0), (10, 2.0), (25, 3.0), (61, 4.0)]
    # periods of 20 ms: [0,20) ends at 2.0, [20,40) at 3.0, [40,60) keeps 3.0, [60,80) 4.0
    assert per_period(points, 20) == [2.0, 3.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="time order"):
        per_period([(40, 1.0), (0, 1.0)], 20)


def test_sharpe_and_sortino_by_hand() -> None:
    rets = [0.01, -0.02, 0.03, 0.0, 0.01]
    mean = sum(rets) / 5
    assert sharpe(rets, 100) == pytest.approx(mean / statistics.stdev(rets) * 10)
    downside = math.sqrt((0.02**2) / 5)
    assert sortino(rets, 100) == pytest.approx(mean / downside * 10)
    assert sharpe([0.01, 0.01], 100) is None  # no variation
    assert sortino([0.01, 0.02], 100) is None  # no loss
    assert sharpe([0.01], 100) is None


def test_drawdown_calmar_and_returns() -> None:
    values = [100.0, 120.0, 90.0, 110.0, 80.0, 130.0]
    assert max_drawdown(values) == pytest.approx(40 / 120)
    assert returns_of([1.0, 2.0, 1.0]) == [1.0, -0.5]
    assert returns_of([1.0, 0.0, 1.0]) == [-1.0]  # nothing after ruin
    # one year from 100 to 130 with a 1/3 drawdown: Calmar 0.3 / (1/3)
    assert calmar(values, 1.0) == pytest.approx(0.3 / (40 / 120))
    assert calmar([1.0, 1.1], 1.0) is None  # never fell


def test_performance_annualises_per_period() -> None:
    points = [(i * HOUR_MS, v) for i, v in enumerate([100.0, 101.0, 100.0, 102.0, 103.0])]
    perf = performance(points, HOUR_MS)
    rets = returns_of([100.0, 101.0, 100.0, 102.0, 103.0])
    assert perf.periods == 4
    assert perf.profit == pytest.approx(0.03)
    assert perf.sharpe == pytest.approx(sharpe(rets, YEAR_MS / HOUR_MS))
    assert perf.max_drawdown == pytest.approx(1 / 101)
    # a drawdown measured on a finer curve replaces the periods' one
    assert performance(points, HOUR_MS, drawdown=0.5).max_drawdown == 0.5


def test_buy_and_hold_pays_the_fee_both_ways() -> None:
    closes = [(0, 10.0), (HOUR_MS, 20.0), (2 * HOUR_MS, 15.0)]
    curve = buy_and_hold(closes, 0.01)
    assert curve[0][1] == pytest.approx(0.99)
    assert curve[1][1] == pytest.approx(0.99 * 2)
    assert curve[-1][1] == pytest.approx(0.99 * 1.5 * 0.99)


def test_comparison_asks_for_the_launch_margin() -> None:
    hours = [(i * HOUR_MS, 100.0 * (1.001**i) * (1 + 0.002 * (-1) ** i)) for i in range(200)]
    closes = [(ts, 50.0 + (i % 7)) for i, (ts, _) in enumerate(hours)]
    result = compare_with_buy_and_hold(hours, closes, HOUR_MS, fee=0.001)
    assert result.strategy.sharpe is not None and result.hold.sharpe is not None
    assert result.beats is (result.strategy.sharpe >= result.hold.sharpe + 0.3)
    assert result.beats is True
    assert "beats holding by the 0.3" in result.sentence()
    worse = compare_with_buy_and_hold(closes, hours, HOUR_MS, fee=0.001)
    assert worse.beats is False
    assert "does not beat" in worse.sentence()
