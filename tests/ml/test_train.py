"""Training and walk-forward evaluation on the real candles, and the leakage check."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import replace

import numpy as np
import pytest

from rampart.domain.errors import ConfigError
from rampart.ml.train import Dataset, TrainConfig, TrainResult, train
from tests.ml.conftest import SMALL


def _top_half_vs_base(result: TrainResult, labels: np.ndarray) -> tuple[float, float, float]:
    """(precision of the top half by probability, base rate, binomial standard error)."""
    y = labels[result.oos_index]
    top = result.oos_prob >= np.median(result.oos_prob)
    base = float(y.mean())
    se = math.sqrt(base * (1 - base) / top.sum())
    return float(y[top].mean()), base, se


def test_walk_forward_on_real_candles_beats_always_trading(
    small_data: Dataset, small_model: TrainResult
) -> None:
    m = small_model.metrics
    assert len(small_data) > 10_000
    assert len(m["folds"]) == 3
    assert m["rows"] == sum(f["test_rows"] for f in m["folds"])
    for fold in m["folds"]:
        assert fold["train_rows"] < len(small_data)
    # Real figures: the base rate of target-before-stop is ~23 %, and the model's picks do
    # better out of sample (pooled over the test windows).
    assert 0.15 < m["baseline_precision"] < 0.35
    assert m["trades"] > 200
    assert m["precision"] > m["baseline_precision"] + 0.05
    assert m["ev"] > m["baseline_ev"]
    assert m["auc"] > 0.55
    assert small_model.algorithm == "sklearn"
    assert small_model.params["purge_ms"] >= SMALL.horizon * small_data.timeframe_ms


def test_shuffled_labels_leave_the_model_at_chance(
    small_data: Dataset, small_model: TrainResult
) -> None:
    shuffled = train(small_data, replace(SMALL, shuffle_labels=True))
    labels = np.random.default_rng(SMALL.seed).permutation(small_data.labels)
    hit, base, se = _top_half_vs_base(shuffled, labels)
    # Four binomial standard errors: a chance model fails this once in ~16,000 runs.
    assert abs(hit - base) < 4 * se, (hit, base, se)
    assert abs(shuffled.metrics["auc"] - 0.5) < 0.03
    # The same statistic sees the real signal, so the check has the power to catch leakage.
    real_hit, real_base, real_se = _top_half_vs_base(small_model, small_data.labels)
    assert real_hit - real_base > 4 * real_se


@pytest.mark.skipif(importlib.util.find_spec("lightgbm") is None, reason="LightGBM not installed")
def test_lightgbm_trains_the_same_way(small_data: Dataset) -> None:
    result = train(small_data, replace(SMALL, algorithm="lightgbm", folds=2))
    assert result.algorithm == "lightgbm"
    assert result.metrics["precision"] > result.metrics["baseline_precision"]
    row = small_data.X[-1]
    assert result.model.predict_one(row) == pytest.approx(
        float(result.model.estimator.predict_proba(row[None, :])[0, 1]), abs=1e-9
    )


def test_bad_settings_are_refused_in_one_sentence() -> None:
    with pytest.raises(ConfigError, match="purge gap"):
        TrainConfig(horizon=24, purge=10)
    with pytest.raises(ConfigError, match="algorithm"):
        TrainConfig(algorithm="xgboost")
