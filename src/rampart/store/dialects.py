"""The dialect's INSERT (with ON CONFLICT) for the store's two databases, imported when asked.

``sqlalchemy.dialects.postgresql`` imports its asyncpg dialect as well (a twentieth of a second
here, more on a slow machine), which a replay or a command on SQLite never uses; so neither
dialect package is imported until a store on it needs its INSERT.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SUPPORTED = ("sqlite", "postgresql")


def dialect_insert(dialect: str) -> Callable[[Any], Any]:
    """``postgresql.insert`` for PostgreSQL, ``sqlite.insert`` for SQLite (and anything else:
    the store refuses other databases when it opens; see :data:`SUPPORTED`)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert
