"""What the root hands the backups: the effective configuration to seal into each one, and
the backup taken before a new version migrates the store's schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa

from rampart.config import Settings, masked_dump
from rampart.domain.errors import RampartError, StoreError
from rampart.observability.logging import LazyLogger

log = LazyLogger("rampart.backup")

MASK = "********"


def _hide_url(value: str) -> str:
    """A webhook's address with everything after the host masked: chat and incident webhooks
    carry their token in the path."""
    parts = urlsplit(value)
    if not parts.scheme or not parts.hostname:
        return MASK
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, f"/{MASK}", "", ""))


def _hide(data: Any, key: str = "") -> Any:
    if isinstance(data, dict):
        return {k: _hide(v, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [_hide(v, key) for v in data]
    if isinstance(data, str) and data != MASK:
        if "webhook" in key and "://" in data:
            return _hide_url(data)
        parts = urlsplit(data) if "://" in data else None
        if parts is not None and parts.password:  # a password in any other URL
            return data.replace(f":{parts.password}@", f":{MASK}@", 1)
    return data


def effective_config(settings: Settings) -> dict[str, Any]:
    """The settings as ``rampart config show`` prints them (every secret masked), and also
    webhook addresses and passwords inside URLs: a backup may be kept far from the service
    (an S3 bucket), so it carries nothing that would let its reader act as the service."""
    result: dict[str, Any] = _hide(masked_dump(settings))
    return result


BOOKKEEPING = {"alembic_version", "audit_head"}
"""Tables every store has a row in from its first migration on (the schema revision, the
audit chain's anchor): rows there are not data anyone could lose."""


def has_rows(engine: sa.Engine) -> bool:
    """Whether any table but the bookkeeping holds a row (one cheap probe a table)."""
    with engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            if name in BOOKKEEPING or name.startswith("sqlite_"):
                continue
            probe = sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)
            if conn.execute(probe).first() is not None:
                return True
    return False


def _now_ms(engine: sa.Engine) -> int:
    """The service's clock as its database recorded it (backups are dated on it), else the
    wall's: an old schema may not have recorded one."""
    from rampart.clock import WallClock

    try:
        from rampart.store.service_clock import RecordedClock

        return RecordedClock(engine).now_ms()
    except Exception:  # an older schema: any failure here only costs the date's axis
        return WallClock().now_ms()


def backup_before_migrating(
    settings: Settings, say: Callable[[str], None]
) -> Callable[[str, sa.Engine, str, str], None]:
    """The guard ``store.db.guard_migrations`` runs before migrating ``settings.store.url``:
    a backup when the store holds data, or one sentence saying why there is none."""

    def guard(url: str, engine: sa.Engine, stored: str, head: str) -> None:
        if url != settings.store.url or not has_rows(engine):
            return  # another database (a replay's, a scratch copy), or nothing to lose
        step = f"from schema {stored} to {head}"
        if not settings.backup.before_migrate:
            say(
                f"Migrating the store {step} without a backup first (backup.before_migrate is "
                "off): going back to the previous Rampart needs a backup you took yourself."
            )
            return
        from rampart.backup.create import create_backup, destination_for
        from rampart.backup.keys import backup_key

        try:
            key = backup_key(settings.backup.key, settings.master_key, settings.vault)
        except RampartError as err:
            say(
                f"Migrating the store {step} WITHOUT a backup first: {err.message} Going back "
                "to the previous Rampart needs a backup you took yourself."
            )
            log.warning("migrating without a backup", reason=err.message, step=step)
            return
        try:
            info = create_backup(
                url,
                key,
                destination_for(settings.backup),
                _now_ms(engine),
                actor="migration",
                config=effective_config(settings),
                note={
                    "reason": f"before migrating {step}",
                    "before_migration": {"from": stored, "to": head},
                },
            )
        except RampartError as err:
            raise StoreError(
                f"The store was not migrated {step}: the backup before it failed: "
                f"{err.message.rstrip('.')}. Fix that, or set backup.before_migrate to false "
                "to migrate without one."
            ) from None
        say(
            f"Backed up the store before migrating it {step}: {info.name} in {info.where}. "
            f"To go back, restore it with the previous Rampart (docs/operations/deploy.md)."
        )
        log.info("backup before migration", name=info.name, step=step)

    return guard


def guard_migrations(settings: Settings, say: Callable[[str], None]) -> None:
    """Install :func:`backup_before_migrating` for this process (the command line does)."""
    from rampart.store.db import guard_migrations as install

    install(backup_before_migrating(settings, say))


__all__ = ["backup_before_migrating", "effective_config", "guard_migrations", "has_rows"]
