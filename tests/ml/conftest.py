"""Small real datasets and models, built once per session (training is the slow part)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rampart.ml.train import Dataset, TrainConfig, TrainResult, load_dataset, train
from tests.conftest import SHARED_DATA

FILES = ("ETH_BTC-5m.feather", "LTC_BTC-5m.feather")
SMALL = TrainConfig(algorithm="sklearn", trees=40, max_leaves=7, folds=3, threshold=0.3)
"""Few trees and leaves: the tests prove behaviour, not the best model."""


def data_files() -> list[Path]:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real candles not found at {SHARED_DATA}")
    return [SHARED_DATA / name for name in FILES]


@pytest.fixture(scope="session")
def small_data() -> Dataset:
    return load_dataset(data_files(), SMALL.label_spec)


@pytest.fixture(scope="session")
def small_model(small_data: Dataset) -> TrainResult:
    return train(small_data, SMALL)
