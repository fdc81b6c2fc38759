"""``ml:`` settings: the ML agent's models, threshold and training labels."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from rampart.settings_base import Section


class MlConfig(Section):
    """The ``ml`` agent and ``rampart models`` (see docs/operators/ml.md)."""

    models_dir: Path = Path("var/models")
    """Where model artifacts live; the registry records each file's SHA-256."""
    threshold: float = Field(default=0.5, gt=0, lt=1)
    """Probability the production model must give before the agent proposes an entry."""
    horizon: int = Field(default=24, ge=1, le=10_000)
    """Candles a training label watches for the target or the stop."""
    atr_stop: float = Field(default=1.0, gt=0, le=100)
    atr_target: float = Field(default=2.0, gt=0, le=100)
    poll_s: float = Field(default=1.0, ge=0)
    """How often (service clock) the agent looks for a promote or rollback made elsewhere."""


__all__ = ["MlConfig"]
