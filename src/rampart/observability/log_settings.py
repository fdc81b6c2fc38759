"""``logging:`` settings: when the log file is rotated and how many old ones are kept."""

from __future__ import annotations

from pydantic import Field

from rampart.settings_base import Section


class LogConfig(Section):
    """Rotation of ``var/rampart.log`` (docs/operations/deploy.md, "Logs")."""

    rotate_mb: float = Field(default=50.0, gt=0, le=100_000)
    """Start a new file once the current one would grow past this many megabytes."""
    rotate_hours: float = Field(default=24.0, gt=0, le=24 * 366)
    """Start a new file once the current one's first line is this old, whatever its size."""
    keep: int = Field(default=14, ge=1, le=1000)
    """Old files kept, gzip-compressed (``rampart.log.1.gz`` is the newest); older ones go."""


__all__ = ["LogConfig"]
