"""``backup:`` settings: scheduled, encrypted backups of the store."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from rampart.settings_base import Section


class BackupConfig(Section):
    """Scheduled, encrypted backups of the store (see docs/operations/backup.md)."""

    enabled: bool = True
    """Run the scheduled backup job in ``rampart run`` (it stays off while no key is set)."""
    dir: Path = Path("var/backups")
    every_hours: float = Field(default=6.0, gt=0, le=24 * 7)
    keep_last: int = Field(default=8, ge=1, le=10_000)
    """Always keep the newest this many backups."""
    keep_daily_days: int = Field(default=14, ge=0, le=3650)
    """Also keep the newest backup of each of the last this many UTC days."""
    key: SecretStr | None = None
    """The backup key (64 hex digits, URL-safe base64 or ``file:/path``); ``master_key`` when
    unset. Keep a copy away from the backups: without it they cannot be read."""
    s3_bucket: str | None = None
    """Upload backups to this S3-compatible bucket instead of ``dir`` (needs boto3)."""
    s3_prefix: str = "rampart/"
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    before_migrate: bool = True
    """Back up the store before a new Rampart migrates its schema (when it holds data and a
    key is set); a backup that fails stops the migration. The way back after an upgrade."""


__all__ = ["BackupConfig"]
