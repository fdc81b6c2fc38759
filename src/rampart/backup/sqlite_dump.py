"""SQLite: snapshot with the online backup API, then stream the copy through the encryptor.

``sqlite3.Connection.backup`` copies the database in one step from one read transaction; in
WAL mode that never blocks the writer, so a backup is safe while Rampart trades. The manifest
is counted in the copy, so it describes exactly what the backup holds.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from rampart.backup import manifest as mf
from rampart.backup.archive import Encryptor
from rampart.backup.errors import BackupError
from rampart.backup.staging import WORK_PREFIX

READ_BYTES = 1 << 20


@contextlib.contextmanager
def private_dir(near: Path) -> Iterator[Path]:
    """A temporary folder only this user can read (it holds plaintext), removed afterwards."""
    near.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=WORK_PREFIX, dir=near) as name:
        os.chmod(name, 0o700)
        yield Path(name)


def _engine_on(path: Path) -> sa.Engine:
    return sa.create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(str(path)),
        poolclass=sa.pool.NullPool,
    )


def inspect_file(path: Path) -> tuple[str | None, dict[str, int]]:
    """(schema revision, rows per table) of a SQLite file; refuses a damaged one."""
    try:
        with contextlib.closing(sqlite3.connect(str(path))) as conn:
            check = conn.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError:
        raise BackupError("The database in the backup is corrupt (it is not SQLite).") from None
    if check is None or check[0] != "ok":
        raise BackupError("The database in the backup is corrupt (its integrity check failed).")
    engine = _engine_on(path)
    try:
        with engine.connect() as conn:
            return mf.schema_revision(conn), mf.count_rows(conn)
    finally:
        engine.dispose()


def snapshot(source: Path, copy: Path) -> None:
    """Copy ``source`` consistently into ``copy`` with SQLite's online backup API."""
    if not source.is_file():
        raise BackupError(f"There is no database file at {source} to back up.")
    with (
        contextlib.closing(
            sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        ) as src,
        contextlib.closing(sqlite3.connect(str(copy))) as dst,
    ):
        src.execute("PRAGMA busy_timeout=5000")
        src.backup(dst)  # pages=-1: one step, one read transaction, one consistent moment
        # The copy is a standalone file: no WAL beside it to carry along.
        dst.execute("PRAGMA journal_mode=DELETE")


def dump(
    source: Path,
    out: BinaryIO,
    key: bytes,
    created_at: int,
    work: Path,
    *,
    config: dict[str, Any] | None = None,
    note: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Snapshot ``source``, count the copy, and encrypt it into ``out`` with ``config`` sealed
    in its header and ``note`` in its manifest. Returns the manifest."""
    copy = work / "snapshot.db"
    snapshot(source, copy)
    revision, tables = inspect_file(copy)
    if revision is None:
        raise BackupError(f"{source} is not a Rampart database (it has no schema revision).")
    manifest = mf.build(
        backend="sqlite",
        created_at=created_at,
        revision=revision,
        tables=tables,
        source=source.name,
        extra={
            "payload": "sqlite3",
            "payload_bytes": copy.stat().st_size,
            "config": config is not None,
            **(note or {}),
        },
    )
    enc = Encryptor(out, key, manifest, config)
    with copy.open("rb") as handle:
        while block := handle.read(READ_BYTES):
            enc.write(block)
    enc.close()
    copy.unlink()
    return manifest
