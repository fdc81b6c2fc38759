"""Models with known answers, real candles as agent views, and a registry on a real store."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sklearn.dummy import DummyClassifier

from rampart.agents.base import AgentConstraints, AgentView
from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.market.loaders import load_candles
from rampart.ml.artifacts import TrainedModel
from rampart.ml.features import FEATURE_NAMES
from rampart.ml.pipeline import register_model
from rampart.ml.registry import ModelRegistry, ModelVersion
from tests.conftest import SHARED_DATA

MODERATE = AgentConstraints(Decimal("0.01"), Decimal("0.05"), Decimal("1.2"))


def constant_model(p: float) -> TrainedModel:
    """A real scikit-learn estimator that always answers ``p`` (its class prior)."""
    n = 1000
    ones = round(p * n)
    y = np.array([1] * ones + [0] * (n - ones))
    estimator = DummyClassifier(strategy="prior").fit(np.zeros((n, len(FEATURE_NAMES))), y)
    return TrainedModel("sklearn", estimator, FEATURE_NAMES)


def add_model(registry: ModelRegistry, p: float, now_ms: int) -> ModelVersion:
    return register_model(
        registry, constant_model(p), actor="test", now_ms=now_ms, metrics={"precision": p}
    )


def candles(name: str = "ETH_BTC-5m.feather", n: int = 400) -> list[Candle]:
    s = load_candles(SHARED_DATA / name).series
    return [
        Candle(
            s.symbol,
            int(s.ts[i]),
            float(s.open[i]),
            float(s.high[i]),
            float(s.low[i]),
            float(s.close[i]),
            float(s.volume[i]),
            s.timeframe_ms,
        )
        for i in range(min(n, len(s.ts)))
    ]


def view(candle: Candle, instrument: Instrument, position=None) -> AgentView:
    return AgentView(
        account_id="a",
        symbol=candle.symbol,
        candle=candle,
        history=(candle,),
        instrument=instrument,
        equity=Decimal(1000),
        cash=Decimal(1000),
        position=position,
        constraints=MODERATE,
        ts=candle.close_ts,
    )


def registry_on(db: sa.Engine, models_dir: Path) -> ModelRegistry:
    return ModelRegistry(db, models_dir)
