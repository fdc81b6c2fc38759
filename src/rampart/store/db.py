"""Open the database: build the engine, tune SQLite, migrate, and explain failures in words.

Every failure becomes a :class:`StoreError` with one sentence and leaves the database as it
was: a garbage file is not touched, a database of another program is not migrated.

A brand-new, empty database is not migrated revision by revision: its tables are created from
the models in one transaction and stamped with the head revision (``create_fresh``), which
gives the same schema (``tests/store/test_fresh_schema.py`` compares the two) without loading
Alembic or its scripts. A database that already holds anything migrates as before.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.util import OrderedSet

from rampart.domain.errors import StoreError
from rampart.store import models

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    # The writer's multi-row INSERTs each keep a statement journal; as temporary files those
    # were ~70 % of a replay's write calls.
    "PRAGMA temp_store=MEMORY",
)
PG_CONNECT_TIMEOUT_S = 10
PG_STATEMENT_TIMEOUT_MS = 60_000
"""The longest one statement may run on the server (a migration's included)."""
PG_CONNECTION_DEADLINES: dict[str, int] = {
    "connect_timeout": PG_CONNECT_TIMEOUT_S,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
"""libpq's: a silent peer is found within about 25 s idle, 30 s with a request unanswered."""
VERSIONS_DIR = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION = re.compile(r'^revision: str = "(\w+)"', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision: str \| None = "(\w+)"', re.MULTILINE)
EXAMPLES = "sqlite:///var/rampart.db or postgresql+psycopg://user@host:5432/rampart"

MigrationGuard = Callable[[str, sa.Engine, str, str], None]
"""Called as ``guard(url, engine, stored revision, head)`` just before an existing database
is migrated; it may raise StoreError to stop the migration."""
_migration_guard: MigrationGuard | None = None


def guard_migrations(guard: MigrationGuard | None) -> None:
    """Run ``guard`` before every migration of an existing database in this process (the
    command line installs one that takes a backup first: ``rampart.wiring.backups``)."""
    global _migration_guard
    _migration_guard = guard


def open_database(url: str, *, migrate: bool = True, guarded: bool = True) -> sa.Engine:
    """An engine on a Rampart database at the newest schema revision.

    Before an existing database is migrated, the guard installed with ``guard_migrations``
    runs (unless ``guarded`` is False: a restore migrates the copy it just made). Raises
    StoreError for a malformed URL, an unsupported backend, a file that is not a Rampart
    database, a PostgreSQL server that cannot be reached, a schema newer than this version of
    Rampart knows, or a guard that refused.
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
            with _schema_lock(engine):
                if not create_fresh(engine):
                    stored = stored_revision(engine)
                    if stored != script_head():
                        from rampart.store.migrate import upgrade_to_head

                        guard = _migration_guard
                        if guard is not None and guarded and stored is not None:
                            guard(url, engine, stored, script_head())
                        upgrade_to_head(engine)
    except StoreError:
        if engine is not None:
            engine.dispose()
        raise
    except Exception as err:
        if engine is not None:
            engine.dispose()
        if not _expected_failure(err):
            raise
        raise describe_failure(err, parsed) from err
    return engine


@contextmanager
def _schema_lock(engine: sa.Engine) -> Iterator[None]:
    """On PostgreSQL, one process at a time creates or migrates a schema: workers and servers
    started together on an empty database would otherwise race to create the same tables. A session
    advisory lock, keyed by the schema, held on a connection of its own."""
    if engine.dialect.name != "postgresql":
        yield
        return
    key = sa.text("SELECT hashtext('rampart-schema:' || current_schema())")
    with engine.connect() as conn:
        lock_id: int = conn.execute(key).scalar_one()
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": lock_id})
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": lock_id})
            conn.commit()


def _expected_failure(err: Exception) -> bool:
    if isinstance(err, exc.SQLAlchemyError | sqlite3.Error | OSError):
        return True
    alembic_exc = sys.modules.get("alembic.util.exc")  # not loaded: it cannot have raised
    return alembic_exc is not None and isinstance(err, alembic_exc.CommandError)


@cache
def script_head() -> str:
    """The newest revision among the packaged migration scripts, read from their text.

    The revision no other script names as its ``down_revision``; the same answer as
    ``migrate.head_revision()`` (a test checks it) without importing Alembic.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in VERSIONS_DIR.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(text))
        parents.update(_DOWN_REVISION.findall(text))
    heads = revisions - parents
    if len(heads) != 1:  # pragma: no cover - the package ships one linear history
        raise RuntimeError(f"expected one head revision in {VERSIONS_DIR}, found {sorted(heads)}")
    return heads.pop()


def _indexes_by_name(metadata: sa.MetaData) -> None:
    """Each table's indexes in name order. SQLAlchemy keeps them in a set and creates them in
    its iteration order, which follows string hashing (random per process): two replays of
    the same file wrote the same rows into files of different bytes."""
    for table in metadata.tables.values():
        if not isinstance(table.indexes, OrderedSet):
            table.indexes = OrderedSet(sorted(table.indexes, key=lambda i: str(i.name)))


def _version_table() -> sa.Table:
    """``alembic_version`` exactly as Alembic creates it (``alembic.ddl.impl``)."""
    return sa.Table(
        "alembic_version",
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )


def stored_revision(engine: sa.Engine) -> str | None:
    """The revision in ``alembic_version`` (read without Alembic), None when there is none.

    A database at the head revision needs no migration, so opening it loads no Alembic.
    Several rows (branches, which Rampart never has) read as one string that is no revision.
    """
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        rows: list[str] = list(
            conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        )
    return " ".join(sorted(rows)) if rows else None


def create_fresh(engine: sa.Engine) -> bool:
    """Create every table of a new, empty database at once and stamp it with the head revision.

    Returns False, touching nothing, when the database already holds ``alembic_version`` or any
    of Rampart's tables: such a database is migrated, never re-created. Other programs' tables
    in a PostgreSQL schema do not count (``_check_is_rampart`` has judged them already).
    Check and creation run in one transaction, so on PostgreSQL a failure leaves nothing.
    """
    version = _version_table()
    with engine.begin() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        if "alembic_version" in tables or tables & set(models.metadata.tables):
            return False
        # No table of ours exists (checked just above): skip create_all's per-table probe.
        _indexes_by_name(models.metadata)
        models.metadata.create_all(conn, checkfirst=False)
        version.create(conn)
        conn.execute(version.insert().values(version_num=script_head()))
    return True


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
    # Every connection has deadlines: a peer gone silent (open, nothing answered:
    # a partition, a relay or a NAT that drops the flow) held a worker's read for 27 minutes.
    # Keepalives find a silent idle connection, tcp_user_timeout one with data unanswered, and
    # the server ends a statement that runs past statement_timeout. What the URL says wins.
    connect_args: dict[str, Any] = {
        key: value for key, value in PG_CONNECTION_DEADLINES.items() if key not in url.query
    }
    options = str(url.query.get("options", ""))
    if "statement_timeout" not in options:
        connect_args["options"] = (
            f"{options} -c statement_timeout={PG_STATEMENT_TIMEOUT_MS}".strip()
        )
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
    revision = stored_revision(engine)
    if revision is None or revision == script_head():
        return
    from rampart.store.migrate import known_revision

    if not known_revision(revision):
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


def bound_waits(
    engine: sa.Engine, idle_ms: int, lock_ms: int | None = None, *, name: str | None = None
) -> None:
    """On PostgreSQL (nothing on SQLite): end, on the server, a transaction of ``engine``'s that
    stays idle for ``idle_ms``, and with ``lock_ms`` give up a statement that waits that long
    for a lock.

    A process frozen in the middle of a transaction (a SIGSTOP, a long pause, a partition)
    holds its row locks until its session ends: a worker's shard rows under a write, the
    shared request budget's row. With this the server ends that session within ``idle_ms`` and
    the others go on; the frozen one's statement fails when it wakes up (its write is retried,
    or refused by the fence). Connections opened before are closed, so every one gets it.
    ``name``: the sessions' ``application_name`` (a frozen worker's are found by it:
    :mod:`rampart.store.frozen_sessions`)."""
    if engine.dialect.name != "postgresql":
        return
    settings = [f"idle_in_transaction_session_timeout = {int(idle_ms)}"]
    if lock_ms is not None:
        settings.append(f"lock_timeout = {int(lock_ms)}")
    if name is not None:  # a worker's own name: letters, digits, '-', '_' and ':' only
        settings.append(f"application_name = '{name}'")

    @sa.event.listens_for(engine, "connect")
    def _set(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            for setting in settings:
                cur.execute(f"SET {setting}")
        dbapi_conn.commit()

    engine.dispose()
