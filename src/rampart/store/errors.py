"""Database failures in plain words: the one place a SQLAlchemy or driver error becomes a
Rampart error.

A failure is sorted into a :class:`DbProblem` (unreachable, locked, schema out of date,
constraint violated, corrupt file, other) from the exception's class and the driver's words;
each problem has one sentence a person can act on. The driver's own first line follows in
parentheses, because it names the table, file or host the sentence cannot know.

Sites use :func:`translating` around a database call, or :func:`translate` in an ``except``
that does more (a rollback, a counter) before raising.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

from sqlalchemy import exc

from rampart.domain.errors import RampartError, StoreError

__all__ = [
    "DB_ERRORS",
    "DbProblem",
    "classify",
    "driver_reason",
    "explain",
    "failed_write",
    "not_answering",
    "translate",
    "translating",
]

DB_ERRORS: tuple[type[BaseException], ...] = (exc.SQLAlchemyError, sqlite3.Error)
"""What a database call raises when the database fails (sqlite3 directly: raw connections)."""


class DbProblem(Enum):
    UNREACHABLE = "unreachable"
    LOCKED = "locked"
    SCHEMA = "schema"
    CONSTRAINT = "constraint"
    CORRUPT = "corrupt"
    OTHER = "other"


SENTENCES: dict[DbProblem, str] = {
    DbProblem.UNREACHABLE: (
        "the database cannot be reached (is it running, and is store.url right?)"
    ),
    DbProblem.LOCKED: "the database is locked by another writer; try again in a moment",
    DbProblem.SCHEMA: (
        "the database schema is out of date (a table or column is missing); start Rampart "
        "once so it migrates the database, or point store.url at a Rampart database"
    ),
    DbProblem.CONSTRAINT: "the row conflicts with what the database already holds "
    "(a constraint is violated)",
    DbProblem.CORRUPT: "the database file is damaged or not a Rampart database",
    DbProblem.OTHER: "the database refused the request",
}

# The driver's words that tell the problems apart where the exception class does not (SQLite
# raises OperationalError for a lock, a missing table and a missing file alike). Checked in
# this order: a "no such table" error is a schema problem even though it is operational.
_WORDS: tuple[tuple[DbProblem, tuple[str, ...]], ...] = (
    (
        DbProblem.LOCKED,
        (
            "database is locked",
            "database table is locked",
            "lock timeout",
            "could not obtain lock",
            "deadlock detected",
        ),
    ),
    (
        DbProblem.SCHEMA,
        (
            "no such table",
            "no such column",
            "has no column",
        ),
    ),
    (DbProblem.CORRUPT, ("file is not a database", "malformed", "file is encrypted")),
    (
        DbProblem.UNREACHABLE,
        (
            "unable to open database file",
            "could not connect",
            "connection refused",
            "connection timed out",
            "server closed the connection",
            "could not translate host name",
            "name or service not known",
            "terminating connection",
            "the connection is closed",
            "password authentication failed",
        ),
    ),
)


_PG_MISSING = re.compile(r'(relation|column) "[^"]*" does not exist')
"""PostgreSQL's words for a missing table or column (not a missing database or role)."""


def _original(err: BaseException) -> BaseException:
    """The driver's exception inside a SQLAlchemy wrapper (it holds the useful words)."""
    orig = getattr(err, "orig", None)
    return orig if isinstance(orig, BaseException) else err


def driver_reason(err: BaseException) -> str:
    """The first line of what the driver said, without a trailing full stop."""
    original = _original(err)
    lines = str(original).strip().splitlines()
    return (lines[0].strip() if lines else type(original).__name__).rstrip(".")


def classify(err: BaseException) -> DbProblem:
    """Which problem ``err`` is: the driver's words first, then the exception's class."""
    text = str(_original(err)).lower()
    # A constraint violation is always an IntegrityError, whatever its words name.
    if isinstance(err, exc.IntegrityError) or isinstance(_original(err), sqlite3.IntegrityError):
        return DbProblem.CONSTRAINT
    if _PG_MISSING.search(text):
        return DbProblem.SCHEMA
    for problem, words in _WORDS:
        if any(w in text for w in words):
            return problem
    if isinstance(err, exc.InterfaceError) or (
        isinstance(err, exc.DBAPIError) and err.connection_invalidated
    ):
        return DbProblem.UNREACHABLE
    if isinstance(err, exc.OperationalError) and "connect" in text:
        return DbProblem.UNREACHABLE
    if isinstance(err, exc.NoSuchTableError | exc.NoSuchColumnError):
        return DbProblem.SCHEMA
    return DbProblem.OTHER


def not_answering(err: BaseException) -> bool:
    """Whether ``err`` says the database does not answer or take writes (it cannot be reached,
    its file is locked by another writer or damaged, its disk is full), rather than that it
    refused this one statement (a constraint, a value too long for its column, a missing
    table, a statement time-out) or that this process's own pool is busy (every connection in
    use: the database answers, slowly). A Rampart error is judged by the database error it was
    raised from; anything that is not a database error is not the database down."""
    cause: BaseException | None = err
    while isinstance(cause, RampartError):
        cause = cause.__cause__
    if cause is None or not isinstance(cause, DB_ERRORS):
        return False
    if isinstance(cause, exc.TimeoutError):  # the pool's wait for a free connection
        return False
    text = str(_original(cause)).lower()
    if any(words in text for words in _FULL):
        return True
    return classify(cause) in (DbProblem.UNREACHABLE, DbProblem.LOCKED, DbProblem.CORRUPT)


_FULL = ("database or disk is full", "no space left on device", "readonly database")
"""The driver's words for a store that answers reads but can take no write at all."""


def explain(err: BaseException) -> str:
    """One plain sentence for ``err``, with the driver's first line in parentheses (it names
    what the sentence cannot: the table, the file, the host)."""
    problem = classify(err)
    reason = driver_reason(err)
    sentence = SENTENCES[problem]
    if problem is DbProblem.OTHER:
        # Nothing better to say than the driver's words.
        return reason
    return f"{sentence} ({reason})"


def translate(
    err: BaseException, what: str, error_type: type[RampartError] = StoreError
) -> RampartError:
    """The Rampart error for ``err`` raised while doing ``what`` ("Reading orders from the
    database failed"): ``"<what>: <plain sentence>."``. Raise it ``from err``."""
    return error_type(f"{what}: {explain(err)}.")


@contextmanager
def translating(what: str, error_type: type[RampartError] = StoreError) -> Iterator[None]:
    """Turn a database failure inside the block into ``error_type`` (see :func:`translate`);
    anything else passes through untouched."""
    try:
        yield
    except DB_ERRORS as err:
        raise translate(err, what, error_type) from err


def failed_write(err: BaseException, rows: int, checkpoint: str | None) -> StoreError:
    """The sentence for a batch of ``rows`` (and ``checkpoint``) the store did not take."""
    # Without a driver error inside, the error it was raised from says more (if any).
    wrapped = getattr(err, "orig", None) is None and err.__cause__ is not None
    reason = explain(err.__cause__ if wrapped and err.__cause__ is not None else err)
    what = f"{rows} buffered row{'' if rows == 1 else 's'}"
    if checkpoint is not None:
        what += f" and checkpoint {checkpoint!r}"
    return StoreError(f"Saving {what} failed, so nothing was saved: {reason}.")
