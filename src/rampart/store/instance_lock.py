"""One Rampart per database: a second instance refuses to start, in one sentence.

Two services trading the same accounts would each place orders on the other's books. The lock
is held for the life of the process and dies with it (even on ``kill -9``), so a crash never
leaves a stale lock behind:

- SQLite: ``fcntl.flock`` on ``<database file>.lock`` next to the database. The file stays
  after release (deleting it would race with a process that just opened it); its content is
  only the holder's pid, for the message.
- PostgreSQL: ``pg_try_advisory_lock`` on a dedicated connection kept open until release.
  Advisory locks are per database; the key is derived from a fixed name and the schema the
  store lives in, so two Rampart stores in separate schemas of one database do not block
  each other while two on the same tables do.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from rampart.domain.errors import RampartError, StoreError
from rampart.store.errors import translate

LOCK_NAME = "rampart.instance"
APP_NAME_PREFIX = "rampart pid "


def _refusal(where: str, holder: str | None) -> RampartError:
    held = f" ({holder})" if holder else ""
    return RampartError(
        f"Another Rampart is already running on {where}{held}; "
        "stop it or point this one at another database."
    )


def advisory_key(schema: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock``."""
    digest = hashlib.sha256(f"{LOCK_NAME}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class InstanceLock(ABC):
    """Held until :meth:`release` (or the end of a ``with`` block, or the process)."""

    def __init__(self, where: str) -> None:
        self.where = where

    @abstractmethod
    def held(self) -> bool: ...

    @abstractmethod
    def release(self) -> None: ...

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class NoLock(InstanceLock):
    """An in-memory SQLite database cannot be shared between processes: nothing to lock."""

    def held(self) -> bool:
        return True

    def release(self) -> None:
        return None


class FileLock(InstanceLock):
    def __init__(self, path: Path) -> None:
        super().__init__(f"the SQLite database {path}")
        self.path = Path(str(path) + ".lock")
        self._fd: int | None = None

    def acquire(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise _refusal(self.where, f"pid {holder}" if holder else None) from None
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"Cannot lock {self.path}: {exc.strerror or exc}.") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _read_pid(fd: int) -> str | None:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return None
    return text if text.isdigit() else None


class AdvisoryLock(InstanceLock):
    def __init__(self, url: URL) -> None:
        host = url.host or "localhost"
        port = f":{url.port}" if url.port else ""
        super().__init__(f"the PostgreSQL database {url.database} on {host}{port}")
        self._url = url
        self._engine: sa.Engine | None = None
        self._conn: sa.Connection | None = None
        self.key: int | None = None

    def acquire(self) -> AdvisoryLock:
        # NullPool: the one connection is ours alone and really closes on release, which is
        # what frees the lock. The application name lets a refused instance name the holder.
        engine = sa.create_engine(
            self._url,
            poolclass=NullPool,
            connect_args={"application_name": f"{APP_NAME_PREFIX}{os.getpid()}"},
        )
        try:
            conn = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise translate(exc, f"Cannot lock {self.where} for this instance") from None
        try:
            # The lock must not sit inside a transaction that something later rolls back.
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            schema = conn.execute(
                sa.text("SELECT coalesce(current_schema(), current_setting('search_path'))")
            ).scalar_one()
            key = advisory_key(str(schema))
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            if not got:
                holder = self._holder(conn, key)
                raise _refusal(f"{self.where}, schema {schema}", holder)
        except BaseException:
            conn.close()
            engine.dispose()
            raise
        self.where = f"{self.where}, schema {schema}"
        self._engine, self._conn, self.key = engine, conn, key
        return self

    @staticmethod
    def _holder(conn: sa.Connection, key: int) -> str | None:
        # A bigint advisory key shows in pg_locks as classid (high 32 bits), objid (low 32).
        unsigned = key & 0xFFFFFFFFFFFFFFFF
        try:
            name = conn.execute(
                sa.text(
                    "SELECT a.application_name FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                    "AND l.classid::bigint = :hi AND l.objid::bigint = :lo "
                    "AND l.database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database()) LIMIT 1"
                ),
                {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF},
            ).scalar()
        except sa.exc.SQLAlchemyError:
            return None
        if isinstance(name, str) and name.startswith(APP_NAME_PREFIX):
            return "pid " + name.removeprefix(APP_NAME_PREFIX)
        return None

    def held(self) -> bool:
        """True while the lock connection is alive and still holds the lock."""
        if self._conn is None or self.key is None:
            return False
        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        try:
            count = self._conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND objsubid = 1 "
                    "AND classid::bigint = :hi AND objid::bigint = :lo"
                ),
                {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF},
            ).scalar()
        except sa.exc.SQLAlchemyError:
            return False
        return bool(count)

    def release(self) -> None:
        conn, engine = self._conn, self._engine
        self._conn = self._engine = None
        if conn is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                conn.close()
        if engine is not None:
            engine.dispose()


def acquire_instance_lock(db_url: str) -> InstanceLock:
    """Take the lock for ``db_url`` or raise RampartError naming where the other one runs."""
    url = make_url(db_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, "", ":memory:") or (url.query or {}).get("mode") == "memory":
            return NoLock("an in-memory SQLite database")
        return FileLock(Path(url.database).resolve()).acquire()
    if backend == "postgresql":
        return AdvisoryLock(url).acquire()
    raise StoreError(f"Cannot lock a {backend} database; use SQLite or PostgreSQL.")
