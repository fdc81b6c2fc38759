"""Bracket labels on hand-made candles: which side is touched first, after fees."""

from __future__ import annotations

import numpy as np
import pytest

from rampart.ml.labels import LabelSpec, bracket_labels

SPEC = LabelSpec(horizon=3, atr_stop=1.0, atr_target=2.0, fee=0.001)


def _label(highs: list[float], lows: list[float], closes: list[float], spec=SPEC):
    """Entry at 100 with ATR 1: stop 99, target 102; then the given candles."""
    high = np.array([100.0, *highs])
    low = np.array([100.0, *lows])
    close = np.array([100.0, *closes])
    atr = np.ones(len(close))
    labels, returns = bracket_labels(high, low, close, atr, spec)
    return labels[0], returns[0]


def test_target_first_is_a_win_net_of_fees() -> None:
    label, ret = _label([101, 102.5, 100], [99.5, 100, 98], [100.5, 102, 99])
    assert label == 1.0
    assert ret == pytest.approx(0.02 - 0.002)


def test_stop_first_is_a_loss() -> None:
    label, ret = _label([100.5, 103, 100], [98.9, 100, 100], [99, 102, 100])
    assert label == 0.0
    assert ret == pytest.approx(-0.01 - 0.002)


def test_both_in_one_candle_counts_as_the_stop() -> None:
    label, ret = _label([102.5, 100, 100], [98.5, 100, 100], [100, 100, 100])
    assert label == 0.0
    assert ret == pytest.approx(-0.012)


def test_neither_side_exits_at_the_horizon_close() -> None:
    label, ret = _label([101, 101, 101], [99.5, 99.5, 99.5], [100.2, 100.4, 100.8])
    assert label == 0.0
    assert ret == pytest.approx(0.008 - 0.002)


def test_a_win_that_fees_eat_is_not_a_win() -> None:
    spec = LabelSpec(horizon=3, atr_stop=1.0, atr_target=0.1, fee=0.001)
    label, ret = _label([100.2, 100, 100], [99.9, 100, 100], [100, 100, 100], spec)
    assert ret == pytest.approx(0.001 - 0.002)
    assert label == 0.0


def test_rows_without_a_future_or_an_atr_have_no_label() -> None:
    n = 10
    close = np.linspace(100, 101, n)
    atr = np.ones(n)
    atr[2] = 0.0
    labels, returns = bracket_labels(close + 0.5, close - 0.5, close, atr, SPEC)
    assert np.isnan(labels[-3:]).all() and np.isnan(returns[-3:]).all()
    assert np.isnan(labels[2])
    assert np.isfinite(labels[:2]).all() and np.isfinite(labels[3:-3]).all()
