"""Make, list and prune backups of the store, whichever database it is."""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import sqlalchemy as sa
import structlog

from rampart.backup import pg_dump, sqlite_dump, staging
from rampart.backup.archive import header_of
from rampart.backup.destinations import SUFFIX, Destination, DirectoryDestination, S3Destination
from rampart.backup.errors import BackupError
from rampart.backup.retention import Dated, to_delete
from rampart.backup.settings import BackupConfig
from rampart.store import ops_records
from rampart.store.db import parse_url

log = structlog.get_logger("rampart.backup")
T = TypeVar("T")
_NAME = re.compile(r"^rampart-(\d{8}T\d{6})Z-(\w+)-[0-9a-f]+" + re.escape(SUFFIX) + "$")


@dataclass(frozen=True, slots=True)
class BackupInfo:
    name: str
    where: str
    manifest: dict[str, Any]
    size_bytes: int
    seconds: float

    @property
    def rows(self) -> int:
        return sum(int(n) for n in self.manifest.get("tables", {}).values())


def destination_for(cfg: BackupConfig, directory: Path | None = None) -> Destination:
    """``directory`` (a command-line override) wins; then S3 when a bucket is set."""
    if directory is None and cfg.s3_bucket:
        return S3Destination(
            cfg.s3_bucket,
            cfg.s3_prefix,
            endpoint_url=cfg.s3_endpoint_url,
            region=cfg.s3_region,
            staging_dir=cfg.dir,
        )
    return DirectoryDestination(directory or cfg.dir)


def backup_name(created_at: int, backend: str) -> str:
    stamp = datetime.fromtimestamp(created_at / 1000, UTC).strftime("%Y%m%dT%H%M%S")
    return f"rampart-{stamp}Z-{backend}-{secrets.token_hex(3)}{SUFFIX}"


def created_at_of(name: str) -> int | None:
    """The creation time encoded in a backup's name (UTC ms, to the second)."""
    found = _NAME.match(name)
    if found is None:
        return None
    moment = datetime.strptime(found.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def sqlite_file(url: sa.engine.URL) -> Path | None:
    if url.get_backend_name() != "sqlite":
        return None
    if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        raise BackupError("An in-memory SQLite database cannot be backed up; use a file.")
    return Path(url.database or "")


def write_staged(
    dest: Destination, name: str, fill: Callable[[BinaryIO, Path], T]
) -> tuple[T, int, list[str]]:
    """Write backup ``name`` with ``fill(out, folder)`` to its staging file, under the folder's
    writers' lock, then give it its name at ``dest``: (what ``fill`` returned, the file's size,
    the leftovers of cut backups cleared first). On any failure nothing is left."""
    staged = dest.staging(name)
    with staging.writing_in(staged.parent) as cleared:
        try:
            with staged.open("wb") as out:
                made = fill(out, staged.parent)
            size = staged.stat().st_size
            dest.commit(staged, name)
        except OSError as err:
            raise BackupError(f"Cannot write the backup {name}: {err.strerror or err}.") from None
        finally:
            staged.unlink(missing_ok=True)
    if cleared:
        log.warning("cleared what an unfinished backup left", names=cleared, where=dest.label)
    return made, size, cleared


def create_backup(
    db_url: str,
    key: bytes,
    dest: Destination,
    now_ms: int,
    *,
    record_in: sa.Engine | None = None,
    actor: str = "operator",
    config: dict[str, Any] | None = None,
    note: dict[str, Any] | None = None,
) -> BackupInfo:
    """Back up the database at ``db_url`` to ``dest``; records BACKUP_CREATED in ``record_in``.

    ``config``, the effective configuration with its secrets already masked, is sealed into
    the backup beside the database (``restore --with-config`` writes it out for review);
    ``note`` goes into the manifest (why the backup was taken, when not on schedule). The
    file appears under its final name only once complete; on any failure nothing is left.
    """
    url = parse_url(db_url)
    path = sqlite_file(url)
    backend = "sqlite" if path is not None else "postgresql"
    name = backup_name(now_ms, backend)
    started = time.perf_counter()

    def fill(out: BinaryIO, folder: Path) -> dict[str, Any]:
        if path is None:
            return pg_dump.dump(db_url, out, key, now_ms, config=config, note=note)
        with sqlite_dump.private_dir(folder) as work:
            return sqlite_dump.dump(path, out, key, now_ms, work, config=config, note=note)

    manifest, size, cleared = write_staged(dest, name, fill)
    info = BackupInfo(name, dest.label, manifest, size, time.perf_counter() - started)
    detail = {
        "name": name,
        "where": dest.label,
        "bytes": size,
        "rows": info.rows,
        "seconds": round(info.seconds, 3),
        "schema_revision": manifest.get("schema_revision"),
    }
    if cleared:
        detail["cleared"] = cleared
    if record_in is not None:
        ops_records.record_event(record_in, ops_records.BACKUP_CREATED, now_ms, actor, detail)
        _audit(record_in, now_ms, actor, "backup.create", name, detail)
    log.info("backup created", **detail)
    return info


def _audit(
    engine: sa.Engine, ts: int, actor: str, action: str, target: str, detail: dict[str, Any]
) -> None:
    """The audit log entry, where the audit log exists (best effort: the backup is what counts)."""
    try:
        from rampart.store.audit import AuditLog
    except ImportError:  # pragma: no cover - the audit log ships with Rampart
        return
    with contextlib.suppress(Exception):
        AuditLog(engine).record(ts, actor, action, target, detail)


@dataclass(frozen=True, slots=True)
class Listed:
    name: str
    created_at: int | None
    manifest: dict[str, Any] | None
    size_bytes: int | None
    problem: str | None = None


def list_backups(dest: Destination, *, read_headers: bool = True) -> list[Listed]:
    """Every backup at ``dest``, oldest first, with its manifest (headers need no key)."""
    found: list[Listed] = []
    for name in dest.names():
        created = created_at_of(name)
        if not read_headers:
            found.append(Listed(name, created, None, None))
            continue
        try:
            with dest.local(name) as path:
                header = header_of(path)
                size = path.stat().st_size
            manifest = header.manifest
            found.append(Listed(name, manifest.get("created_at", created), manifest, size))
        except BackupError as err:
            found.append(Listed(name, created, None, None, err.message))
    return found


def prune(
    dest: Destination, now_ms: int, keep_last: int, keep_daily_days: int, *, dry_run: bool = False
) -> list[str]:
    """Delete backups the retention policy does not keep; returns their names."""
    dated = [
        Dated(name, created)
        for name in dest.names()
        if (created := created_at_of(name)) is not None
    ]
    doomed = to_delete(dated, now_ms, keep_last, keep_daily_days)
    if not dry_run:
        for name in doomed:
            dest.delete(name)
    return doomed
