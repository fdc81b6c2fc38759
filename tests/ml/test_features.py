"""Features: the batch and the per-candle state agree, and no row looks ahead."""

from __future__ import annotations

import numpy as np
import pytest

from rampart.market.loaders import load_candles
from rampart.ml.features import FEATURE_NAMES, WARMUP, FeatureState, batch_features
from tests.conftest import SHARED_DATA


def _series(name: str) -> tuple[np.ndarray, ...]:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real candles not found at {SHARED_DATA}")
    s = load_candles(SHARED_DATA / name).series
    return s.high, s.low, s.close, s.volume


def _incremental(high, low, close, volume) -> tuple[np.ndarray, np.ndarray]:
    state = FeatureState()
    rows, atrs = [], []
    for h, lo, c, v in zip(high, low, close, volume, strict=True):
        row = state.update(float(h), float(lo), float(c), float(v))
        rows.append(row if row is not None else [np.nan] * len(FEATURE_NAMES))
        atrs.append(state.atr)
    return np.array(rows), np.array(atrs)


# ETC_BTC-1m has gaps and many flat candles; NXT_BTC has prices near 0.00003.
@pytest.mark.parametrize("name", ["ETH_BTC-5m.feather", "NXT_BTC-5m.feather", "ETC_BTC-1m.json"])
def test_batch_and_incremental_features_are_the_same(name: str) -> None:
    high, low, close, volume = (a[:3000] for a in _series(name))
    batch, atr = batch_features(high, low, close, volume)
    step, step_atr = _incremental(high, low, close, volume)
    assert batch.shape == (3000, len(FEATURE_NAMES))
    assert np.isnan(batch[:WARMUP]).all() and np.isnan(step[:WARMUP]).all()
    assert np.isfinite(batch[WARMUP:]).all()
    np.testing.assert_allclose(step[WARMUP:], batch[WARMUP:], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(step_atr, atr, rtol=1e-9, atol=1e-15)


def test_a_row_never_depends_on_later_candles() -> None:
    high, low, close, volume = (a[:1500] for a in _series("LTC_BTC-5m.feather"))
    full, _ = batch_features(high, low, close, volume)
    for end in (WARMUP + 1, 400, 1000):
        cut, _ = batch_features(high[:end], low[:end], close[:end], volume[:end])
        np.testing.assert_allclose(cut[end - 1], full[end - 1], rtol=1e-12)
    # Changing the future (a crash after row 700) leaves rows up to 700 as they were.
    crash = close.copy()
    crash[701:] *= 0.5
    changed, _ = batch_features(high, np.minimum(low, crash), crash, volume)
    np.testing.assert_array_equal(changed[:701], full[:701])


def test_flat_candles_give_neutral_finite_features() -> None:
    n = 200
    flat = np.full(n, 0.00003127)
    rows, atr = batch_features(flat, flat, flat, np.zeros(n))
    names = list(FEATURE_NAMES)
    row = rows[-1]
    assert np.isfinite(row).all()
    assert row[names.index("rsi_14")] == 0.5
    assert row[names.index("range_pos")] == 0.5
    assert row[names.index("volume_z")] == 0.0
    assert row[names.index("atr_14")] == 0.0 and atr[-1] == 0.0
