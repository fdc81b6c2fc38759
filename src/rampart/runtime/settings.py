"""``ops:`` settings: heartbeats, worker staleness, restarts and shutdown."""

from __future__ import annotations

from pydantic import Field

from rampart.settings_base import Section


class OpsConfig(Section):
    heartbeat_every_s: float = Field(default=5.0, gt=0)
    worker_stale_s: float = Field(default=30.0, gt=0)
    """A component whose last heartbeat is older than this counts as down."""
    shutdown_timeout_s: float = Field(default=20.0, gt=0)
    restart_initial_s: float = Field(default=1.0, gt=0)
    restart_max_s: float = Field(default=60.0, gt=0)


__all__ = ["OpsConfig"]
