"""``alerts:`` settings: the rules file, how often they run, the webhook, and the launch plans'
alert levels (``alerts.levels``), which the default rules read."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from rampart.observability.alerts.anomaly_settings import AnomalyLevels
from rampart.settings_base import Section


class AlertLevels(Section):
    """The launch plans' thresholds (DESIGN §7; docs/operations/incident-levels.md names the
    plan and section of each). The in-service rules and the exported Prometheus rules both
    read them; the uptime target and the latency target are the rollout gates'
    (``rollout.uptime_target``, ``rollout.latency_target_ms``)."""

    error_rate_page: float = Field(default=0.05, gt=0, le=1)
    """Failed exchange calls above this share: P0 (``ErrorRateCritical``)."""
    error_rate_warn: float = Field(default=0.01, gt=0, le=1)
    """Above this share: P1 (``ExecutionErrorRate``)."""
    error_rate_investigate: float = Field(default=0.005, gt=0, le=1)
    """Above this share: P2 (``ErrorRateElevated``)."""
    memory_growth_per_h: float = Field(default=0.05, gt=0)
    """Resident memory grown by more than this share in an hour: P0 (``MemoryGrowth``)."""
    database_error_rate: float = Field(default=0.001, gt=0, le=1)
    """Failed database statements above this share: P0 (``DatabaseErrors``)."""
    latency_warn_over_target: float = Field(default=0.20, gt=0)
    """p95 order latency above the target by more than this share: P2 (``LatencyDegraded``)."""
    latency_critical_over_target: float = Field(default=0.50, gt=0)
    """Above the target by more than this share: P1, scale or roll back (``LatencyCritical``)."""
    swap_confirmation_p95_ms: float = Field(default=500.0, gt=0)
    """Solana swaps whose p95 time from sending to confirmation exceeds this over 15 minutes:
    P2 (``SwapConfirmationSlow``; plan 001's "<500ms transaction confirmation (p95)")."""
    market_data_held_candles: int = Field(default=3, ge=1)
    """A symbol whose prices the market-data guard has held for more than this many candles:
    P1 (``MarketDataHeld``); one held candle is the P2 ``MarketDataSuspect``."""


class AlertsConfig(Section):
    enabled: bool = True
    rules_file: Path | None = None
    """YAML that overrides the default rules' thresholds, ``for`` and severities by name."""
    evaluate_every_s: float = Field(default=5.0, gt=0)
    repeat_every_s: float = Field(default=900.0, gt=0)
    """While an incident stays open and unacknowledged, it is notified again this often."""
    webhook_url: str | None = None
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_retries: int = Field(default=3, ge=0, le=10)
    levels: AlertLevels = Field(default_factory=AlertLevels)
    anomalies: AnomalyLevels = Field(default_factory=AnomalyLevels)


__all__ = ["AlertLevels", "AlertsConfig"]
