"""The scheduled backup: every ``backup.every_hours``, off the event loop, then retention."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog
from pydantic import SecretStr

from rampart.backup.create import create_backup, destination_for, prune
from rampart.backup.keys import backup_key
from rampart.clock import Clock, WallClock
from rampart.domain.errors import RampartError
from rampart.runtime.scheduler import HOUR_MS, Job

if TYPE_CHECKING:
    from rampart.backup.settings import BackupConfig
    from rampart.security.settings import VaultConfig

log = structlog.get_logger("rampart.backup")
JOB_NAME = "backup"


def backup_job(
    cfg: BackupConfig,
    *,
    store_url: str,
    master_key: SecretStr | None,
    vault: VaultConfig | None,
    db: sa.Engine,
    business: Clock,
    config: dict[str, Any] | None = None,
    on_success: Callable[[], None] | None = None,
    wall: Clock | None = None,
) -> Job | None:
    """The backup job for the scheduler; None (and a warning) when it cannot run. ``config``
    (the effective configuration, secrets masked) is sealed into every backup; ``on_success``
    runs after each backup written (the BackupMissed alert's due time). Slots follow
    ``business`` like every job's; each backup is stamped, named and pruned on ``wall`` (the
    host's clock by default): a backup is a file on a disk, and its age is the wall clock's
    (on the business clock a simulated run's backup reads 25,338.5 h old in ``doctor``)."""
    if not cfg.enabled:
        return None
    url = store_url
    if url.startswith("sqlite") and (":memory:" in url or url.rstrip("/") == "sqlite:"):
        return None
    try:
        key = backup_key(cfg.key, master_key, vault)
    except RampartError as err:  # no key, or Vault unreachable: say so, keep trading
        log.warning("scheduled backups are off", reason=err.message)
        return None

    stamp = wall if wall is not None else WallClock()

    async def run(slot_ms: int) -> str:
        dest = destination_for(cfg)
        now = stamp.now_ms()
        info = await asyncio.to_thread(
            create_backup, url, key, dest, now, record_in=db, actor="scheduler", config=config
        )
        pruned = await asyncio.to_thread(prune, dest, now, cfg.keep_last, cfg.keep_daily_days)
        if on_success is not None:
            on_success()
        return (
            f"{info.name}: {info.rows:,} rows, {info.size_bytes / 1e6:.1f} MB in "
            f"{info.seconds:.1f} s; pruned {len(pruned)}"
        )

    return Job(JOB_NAME, int(cfg.every_hours * HOUR_MS), run, catch_up_first=True)
