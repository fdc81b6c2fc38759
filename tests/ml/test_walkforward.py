"""Walk-forward splits: time-ordered, expanding, and purged by at least the label horizon."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rampart.ml.walkforward import trade_metrics, walk_forward_folds

MIN5 = 300_000


def test_folds_are_purged_ordered_and_expanding() -> None:
    # Two symbols on the same 5-minute grid: every timestamp appears twice.
    ts = np.repeat(np.arange(1000, dtype=np.int64) * MIN5, 2)
    purge = 24 * MIN5
    folds = walk_forward_folds(ts, folds=4, purge_ms=purge)
    assert len(folds) == 4
    tested = np.concatenate([f.test for f in folds])
    assert np.array_equal(tested, np.arange(int(len(ts) * 0.4), len(ts)))  # each row once
    for prev, fold in itertools.pairwise(folds):
        assert fold.train_size > prev.train_size
    for fold in folds:
        first_test = ts[fold.test].min()
        # A train row decided at t has a label that ends 24 candles later: before the test.
        assert ts[fold.train].max() + purge < first_test
        assert ts[fold.train].max() + purge >= first_test - MIN5  # no more purged than asked


def test_unsorted_rows_and_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="sorted"):
        walk_forward_folds(np.array([3, 1, 2]), 2, 0)
    with pytest.raises(ValueError, match="fold"):
        walk_forward_folds(np.arange(10), 0, 0)


def test_trade_metrics_compare_the_model_with_always_trading() -> None:
    prob = np.array([0.9, 0.8, 0.2, 0.1])
    labels = np.array([1.0, 0.0, 0.0, 1.0])
    returns = np.array([0.02, -0.01, -0.012, 0.018])
    m = trade_metrics(prob, labels, returns, threshold=0.5)
    assert m["trades"] == 2
    assert m["precision"] == 0.5 and m["hit_rate"] == 0.5
    assert m["ev"] == pytest.approx(0.005)
    assert m["baseline_precision"] == 0.5
    assert m["baseline_ev"] == pytest.approx(0.004)
    assert m["auc"] == 0.5
    none = trade_metrics(prob, labels, returns, threshold=0.95)
    assert none["trades"] == 0 and none["precision"] is None and none["ev"] is None
