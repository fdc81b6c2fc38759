"""Verify and restore backups, and the restore drill.

A restore goes into a fresh database and never touches the target before the whole backup
has been authenticated and checked against its manifest: a damaged, truncated, altered or
wrong-key backup is refused with a sentence and the target stays as it was. SQLite is
restored to a temporary file beside the target and moved into place at the end; PostgreSQL
is loaded by ``pg_restore`` in one transaction into a database created for it.

The restored database is then migrated to head. Its checkpoint is what ``rampart run``
resumes from, and the service reconciles orders, positions and balances with the venue when
it starts, so a restore is followed by reconciliation with no separate step.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from rampart.backup import manifest as mf
from rampart.backup import pg_dump, sqlite_dump
from rampart.backup.archive import Header, Trailer, config_of, decrypt, header_of
from rampart.backup.create import _audit, sqlite_file
from rampart.backup.errors import BackupError
from rampart.backup.review_config import refuse_existing, review_path, write_review_copy
from rampart.store import ops_records
from rampart.store.db import open_database, parse_url, where
from rampart.store.instance_lock import acquire_instance_lock

RECONCILE_NOTE = (
    "Start Rampart on the restored database (`rampart run`): it resumes from the restored "
    "checkpoint and reconciles orders, positions and balances with the venue before trading."
)


@dataclass(frozen=True, slots=True)
class Checked:
    name: str
    manifest: dict[str, Any]
    trailer: Trailer
    rows: list[mf.Comparison]
    detail: str


@dataclass(slots=True)
class RestoreReport:
    name: str
    target: str
    seconds: float
    manifest: dict[str, Any]
    rows: list[mf.Comparison]
    schema_revision: str | None
    replaced: Path | None = None
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] | None = None
    """The configuration the backup carries (secrets masked), when it was asked for."""
    config_file: Path | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)


def decrypt_to(backup: Path, key: bytes, out_path: Path) -> tuple[Header, Trailer]:
    """Decrypt ``backup`` into ``out_path`` (created 0600); removed again on any failure."""
    try:
        fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, backup.open("rb") as src:
            return decrypt(src, key, backup.name, out.write)
    except FileNotFoundError:
        raise BackupError(f"There is no backup file at {backup}.") from None
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise


def _payload_kind(header: Header, name: str) -> str:
    kind = str(header.manifest.get("backend", ""))
    if kind not in ("sqlite", "postgresql"):
        raise BackupError(f"{name} does not say which database it holds; it cannot be used.")
    return kind


def verify_backup(backup: Path, key: bytes) -> Checked:
    """Decrypt, checksum and check the payload against the manifest; no database is touched."""
    with sqlite_dump.private_dir(Path(tempfile.gettempdir())) as work:
        plain = work / "payload"
        header, trailer = decrypt_to(backup, key, plain)
        kind = _payload_kind(header, backup.name)
        if kind == "sqlite":
            _, found = sqlite_dump.inspect_file(plain)
            rows = mf.require_match(header.manifest, found, backup.name)
            return Checked(backup.name, header.manifest, trailer, rows, "integrity check ok")
        entries = pg_dump.check_archive(plain)
        return Checked(
            backup.name, header.manifest, trailer, [], f"pg_dump archive with {entries} entries"
        )


def restore_backup(
    backup: Path,
    key: bytes,
    target_url: str,
    now_ms: int,
    *,
    force: bool = False,
    actor: str = "operator",
    record: bool = True,
    with_config: bool = False,
) -> RestoreReport:
    """Restore ``backup`` into the database at ``target_url``, migrated to head.

    Refuses a target that already holds data unless ``force``. Records RESTORE_DRILL (and an
    audit entry) in the restored database. ``with_config`` also writes the configuration the
    backup carries, secrets masked, beside the database for review (``review_config``); it is
    never applied.
    """
    started = time.perf_counter()
    url = parse_url(target_url)
    path = sqlite_file(url)
    review = review_path(url, path) if with_config else None
    if review is not None:  # both refusals before anything is touched
        refuse_existing(review, force)
        if backup.is_file() and "config" not in header_of(backup).fields:
            raise BackupError(
                f"{backup.name} holds no configuration (it was made by a Rampart that did not "
                "keep one); restore it without --with-config."
            )
    with _target_lock(target_url, url, path):
        if path is not None:
            report = _restore_sqlite(backup, key, path, url, force=force, with_config=with_config)
        else:
            report = _restore_pg(backup, key, url, force=force, with_config=with_config)
        report.seconds = time.perf_counter() - started
        if review is not None:
            report.config_file = write_review_copy(
                report.config, report.manifest, report.name, review
            )
        if record:
            engine = open_database(target_url, migrate=False)
            try:
                detail = _drill_detail(report)
                ops_records.record_event(engine, ops_records.RESTORE_DRILL, now_ms, actor, detail)
                _audit(engine, now_ms, actor, "backup.restore", report.name, detail)
            finally:
                engine.dispose()
    report.notes.append(RECONCILE_NOTE)
    return report


def _target_lock(
    target_url: str, url: URL, path: Path | None
) -> contextlib.AbstractContextManager[object]:
    """Refuse to restore under a running Rampart: its lock is held while the target changes.

    A PostgreSQL database that does not exist yet has nobody running on it.
    """
    if path is not None or pg_dump.database_exists(url):
        return acquire_instance_lock(target_url)
    return contextlib.nullcontext()


def _drill_detail(report: RestoreReport) -> dict[str, Any]:
    return {
        "name": report.name,
        "target": report.target,
        "duration_s": round(report.seconds, 3),
        "ok": report.ok,
        "rows": sum(r.found or 0 for r in report.rows),
        "mismatches": [r.table for r in report.rows if not r.ok],
    }


def _sidecars(path: Path) -> list[Path]:
    return [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal")]


def _restore_sqlite(
    backup: Path, key: bytes, target: Path, url: URL, *, force: bool, with_config: bool
) -> RestoreReport:
    if target.exists() and not force:
        raise BackupError(
            f"{target} already exists; restore into a new file, or pass --force to replace it "
            "(the old file is kept beside it)."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.restore-{secrets.token_hex(4)}"
    try:
        header, _ = decrypt_to(backup, key, tmp)
        if _payload_kind(header, backup.name) != "sqlite":
            raise BackupError(
                f"{backup.name} holds a PostgreSQL dump; restore it into a postgresql+psycopg:// "
                "URL."
            )
        config = config_of(header, key, backup.name) if with_config else None
        _, found = sqlite_dump.inspect_file(tmp)
        mf.require_match(header.manifest, found, backup.name)
        revision, rows = _migrate(f"sqlite:///{tmp}", header.manifest)
        with contextlib.closing(sqlite3.connect(str(tmp))) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for extra in _sidecars(tmp):
            extra.unlink(missing_ok=True)
        replaced = None
        if target.exists():
            replaced = target.parent / f"{target.name}.replaced-{int(time.time())}"
            for old, new in zip(
                [target, *_sidecars(target)], [replaced, *_sidecars(replaced)], strict=True
            ):
                if old.exists():
                    os.replace(old, new)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        for extra in _sidecars(tmp):
            extra.unlink(missing_ok=True)
    return RestoreReport(
        backup.name,
        str(target),
        0.0,
        header.manifest,
        rows,
        revision,
        replaced=replaced,
        config=config,
    )


def _migrate(target_url: str, manifest: dict[str, Any]) -> tuple[str | None, list[mf.Comparison]]:
    """Migrate the restored database to head; its row counts against the manifest."""
    # No backup before this migration: the backup being restored is the copy to go back to.
    engine = open_database(target_url, guarded=False)
    try:
        with engine.connect() as conn:
            revision = mf.schema_revision(conn)
            found = mf.count_rows(conn)
    finally:
        engine.dispose()
    return revision, mf.compare(manifest, found)


def _restore_pg(
    backup: Path, key: bytes, url: URL, *, force: bool, with_config: bool
) -> RestoreReport:
    created = False
    with sqlite_dump.private_dir(Path(tempfile.gettempdir())) as work:
        plain = work / "payload.dump"
        # The whole backup is authenticated before the server is touched at all.
        header, _ = decrypt_to(backup, key, plain)
        if _payload_kind(header, backup.name) != "postgresql":
            raise BackupError(
                f"{backup.name} holds a SQLite database; restore it into a sqlite:/// URL."
            )
        pg_dump.check_archive(plain)
        config = config_of(header, key, backup.name) if with_config else None
        try:
            exists = pg_dump.database_exists(url)
            if exists:
                tables = pg_dump.user_tables(url)
                if tables and not force:
                    raise BackupError(
                        f"The database {url.database} at {where(url)} already holds "
                        f"{len(tables)} tables; restore into a new database, or pass --force "
                        "to replace what the backup holds."
                    )
            else:
                pg_dump.create_database(url)
                created = True
            pg_dump.restore_file(plain, url, clean=exists)
        except BaseException:
            if created:
                pg_dump.drop_database(url)
            raise
    revision, rows = _migrate(url.render_as_string(hide_password=False), header.manifest)
    return RestoreReport(
        backup.name,
        f"{where(url)}/{url.database}",
        0.0,
        header.manifest,
        rows,
        revision,
        config=config,
    )


# -- the drill ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _scratch_target(kind: str, live_url: str) -> Iterator[str]:
    """A throwaway database of the backup's kind, removed afterwards."""
    if kind == "sqlite":
        with sqlite_dump.private_dir(Path(tempfile.gettempdir())) as work:
            yield f"sqlite:///{work / 'drill.db'}"
        return
    live = parse_url(live_url)
    if live.get_backend_name() != "postgresql":
        raise BackupError(
            "A PostgreSQL backup is drilled on a PostgreSQL server: point store.url at one "
            "(the drill creates and drops a scratch database there)."
        )
    scratch = live.set(database=f"rampart_drill_{os.getpid()}_{secrets.token_hex(3)}")
    try:
        yield scratch.render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(Exception):
            pg_dump.drop_database(scratch)


def restore_drill(
    backup: Path, key: bytes, live_url: str, now_ms: int, *, actor: str = "operator"
) -> RestoreReport:
    """Restore into a scratch database, compare with the manifest, drop it, and record the
    drill (RESTORE_DRILL, read by GO/NO-GO) in the live database."""
    from rampart.backup.archive import header_of

    kind = _payload_kind(header_of(backup), backup.name)
    with _scratch_target(kind, live_url) as scratch:
        report = restore_backup(backup, key, scratch, now_ms, actor=actor, record=False)
    report.target = f"a scratch {kind} database (dropped)"
    live = open_database(live_url)
    try:
        detail = {**_drill_detail(report), "drill": True}
        ops_records.record_event(live, ops_records.RESTORE_DRILL, now_ms, actor, detail)
        _audit(live, now_ms, actor, "backup.restore_drill", report.name, detail)
    finally:
        live.dispose()
    return report


def counts_of(db_url: str) -> dict[str, int]:
    """Rows per table of a database (for comparisons in reports and tests)."""
    engine = open_database(db_url, migrate=False)
    try:
        with engine.connect() as conn:
            return mf.count_rows(conn)
    finally:
        engine.dispose()
