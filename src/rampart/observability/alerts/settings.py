"""``alerts:`` settings: the rules file, how often they run and the webhook."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from rampart.settings_base import Section


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


__all__ = ["AlertsConfig"]
