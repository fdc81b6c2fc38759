"""The manifest: what a backup holds, counted inside the snapshot it was taken from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

import rampart
from rampart.backup.errors import BackupError

SKIPPED = {"alembic_version"}


def count_rows(conn: sa.Connection) -> dict[str, int]:
    """Rows per table as this connection sees them (inside its snapshot)."""
    names = sorted(
        t
        for t in sa.inspect(conn).get_table_names()
        if t not in SKIPPED and not t.startswith("sqlite_")
    )
    return {
        name: int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one())
        for name in names
    }


def schema_revision(conn: sa.Connection) -> str | None:
    if "alembic_version" not in sa.inspect(conn).get_table_names():
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def build(
    *,
    backend: str,
    created_at: int,
    revision: str | None,
    tables: dict[str, int],
    source: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "backend": backend,
        "created_at": created_at,
        "created_at_iso": datetime.fromtimestamp(created_at / 1000, UTC).isoformat(),
        "rampart_version": rampart.__version__,
        "schema_revision": revision,
        "tables": dict(sorted(tables.items())),
        "source": source,
        **(extra or {}),
    }


@dataclass(frozen=True, slots=True)
class Comparison:
    table: str
    expected: int
    found: int | None

    @property
    def ok(self) -> bool:
        return self.found == self.expected


def compare(manifest: dict[str, Any], found: dict[str, int]) -> list[Comparison]:
    expected: dict[str, int] = {k: int(v) for k, v in (manifest.get("tables") or {}).items()}
    return [Comparison(t, n, found.get(t)) for t, n in sorted(expected.items())]


def require_match(manifest: dict[str, Any], found: dict[str, int], name: str) -> list[Comparison]:
    rows = compare(manifest, found)
    bad = [r for r in rows if not r.ok]
    if bad:
        first = bad[0]
        got = "missing" if first.found is None else f"{first.found:,} rows"
        raise BackupError(
            f"{name} does not match its manifest: table {first.table} should hold "
            f"{first.expected:,} rows but has {got}."
        )
    return rows
