"""Open the database: build the engine, tune SQLite, migrate, and explain failures in words.

Every failure becomes a :class:`StoreError` with one sentence and leaves the database as it
was: a garbage file is not touched, a database of another program is not migrated.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.util import CommandError
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url

from rampart.domain.errors import StoreError
from rampart.store import models
from rampart.store.migrate import current_revision, known_revision, upgrade_to_head

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
)
PG_CONNECT_TIMEOUT_S = 10
EXAMPLES = "sqlite:///var/rampart.db or postgresql+psycopg://user@host:5432/rampart"


def open_database(url: str, *, migrate: bool = True) -> sa.Engine:
    """An engine on a Rampart database at the newest schema revision.

    Raises StoreError for a malformed URL, an unsupported backend, a file that is not a
    Rampart database, a PostgreSQL server that cannot be reached, or a schema newer than this
    version of Rampart knows.
    """
    parsed = parse_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    engine: sa.Engine | None = None
    path = _sqlite_path(parsed) if sqlite else None
    created = path is not None and not path.exists()
    try:
        if sqlite:
            _check_sqlite_file(parsed)
        engine = _create_engine(parsed)
        if created and path is not None:
            _owner_only(engine, path)
        if not sqlite:
            _check_is_rampart(engine, parsed)
        if migrate:
            upgrade_to_head(engine)
    except StoreError:
        if engine is not None:
            engine.dispose()
        raise
    except (exc.SQLAlchemyError, sqlite3.Error, CommandError, OSError) as err:
        if engine is not None:
            engine.dispose()
        raise describe_failure(err, parsed) from err
    return engine


def _owner_only(engine: sa.Engine, path: Path) -> None:
    """Create a new database file readable by its owner only: it holds every account's books
    and the encrypted credentials. SQLite gives its -wal and -shm files the same mode."""
    with engine.connect():
        pass
    path.chmod(0o600)


def _check_sqlite_file(url: URL) -> None:
    """Inspect an existing SQLite file read-only before anything may write to it.

    Setting WAL mode rewrites the file header, so it must not happen to a file that turns
    out to belong to another program.
    """
    path = _sqlite_path(url)
    if path is None or not path.exists():
        return
    uri = path.resolve().as_uri() + "?mode=ro"
    probe = sa.create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=sa.pool.NullPool
    )
    try:
        _check_is_rampart(probe, url)
    finally:
        probe.dispose()


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (exc.ArgumentError, ValueError, TypeError):
        raise StoreError(f"The database URL is not valid; use a URL such as {EXAMPLES}.") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        # Plain postgresql:// would pick psycopg2, which Rampart does not install.
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    if backend == "sqlite":
        return parsed
    raise StoreError(
        f"Rampart keeps its data in SQLite or PostgreSQL, not {backend!r}; "
        f"use a URL such as {EXAMPLES}."
    )


def where(url: URL) -> str:
    """Where the database is, for messages; never includes a password."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    host = url.host or url.query.get("host")
    if not host:
        return "the local socket"
    return f"{host}:{url.port or 5432}"


def _create_engine(url: URL) -> sa.Engine:
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                reason = err.strerror or str(err)
                raise StoreError(
                    f"Cannot create the folder {path.parent} for the database: {reason}."
                ) from None
        engine = sa.create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_path(url: URL) -> Path | None:
    if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        return None
    if url.database is not None and url.database.startswith("file:"):
        return None
    return Path(url.database or "")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _check_is_rampart(engine: sa.Engine, url: URL) -> None:
    """Refuse a database that belongs to another program or to a newer Rampart."""
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    ours = set(models.metadata.tables)
    if "alembic_version" not in tables:
        foreign = {t for t in tables if not t.startswith("sqlite_")}
        # A PostgreSQL schema may legitimately hold other programs' tables; a SQLite file
        # is one program's database, so anything in it means it is not ours.
        if tables & ours or (url.get_backend_name() == "sqlite" and foreign):
            raise StoreError(f"{where(url)} is not a Rampart database (it holds other tables).")
        return
    revision = current_revision(engine)
    if revision is not None and not known_revision(revision):
        raise StoreError(
            f"The database at {where(url)} was written by a newer Rampart (schema revision "
            f"{revision}); upgrade Rampart or point store.url at another database."
        )


def describe_failure(err: BaseException, url: URL) -> StoreError:
    """One sentence for a failure while opening or migrating the database."""
    original = getattr(err, "orig", None) or err
    text = str(original).strip()
    if url.get_backend_name() == "sqlite":
        lowered = text.lower()
        if "not a database" in lowered or "malformed" in lowered or "encrypted" in lowered:
            return StoreError(
                f"{where(url)} is not a Rampart database (file is corrupt or of another kind)."
            )
        return StoreError(f"Cannot open the SQLite database {where(url)}: {_first_line(text)}.")
    if isinstance(err, exc.OperationalError | exc.InterfaceError) or "connect" in text.lower():
        return StoreError(f"Cannot connect to PostgreSQL at {where(url)}: {_pg_reason(text)}.")
    return StoreError(f"Cannot prepare the database at {where(url)}: {_first_line(text)}.")


def _first_line(text: str) -> str:
    line = text.splitlines()[0].strip() if text else "unknown error"
    return line.rstrip(".")


def _pg_reason(text: str) -> str:
    line = _first_line(text)
    if "failed: " in line:
        line = line.rsplit("failed: ", 1)[1]
    return line.removeprefix("FATAL:").strip().rstrip(".") or "unknown error"
