"""Moved to ``rampart.ops.rollout.settings``: the pydantic models stay outside the pure rules.

Kept only until ``rampart.ops.alerts.rules`` imports from the new place; listed as a known
violation (issue 15) in ``.importlinter``. Do not import from here.
"""

from rampart.ops.rollout.settings import HOUR_MS, GateConfig, RolloutConfig, StageConfig

__all__ = ["HOUR_MS", "GateConfig", "RolloutConfig", "StageConfig"]
