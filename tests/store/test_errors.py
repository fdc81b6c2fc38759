"""Database failures in plain words (rampart.store.errors): each problem, provoked for real on
SQLite where it can be (and on PostgreSQL when RAMPART_TEST_PG_URL is set), maps to its one
sentence; the sites that use the helper say it."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import exc

from rampart.backup.errors import BackupError
from rampart.domain.errors import StoreError
from rampart.store import queries as q
from rampart.store.errors import (
    SENTENCES,
    DbProblem,
    classify,
    driver_reason,
    explain,
    translate,
    translating,
)


def _raised(engine: sa.Engine, sql: str) -> exc.SQLAlchemyError:
    with pytest.raises(exc.SQLAlchemyError) as caught, engine.begin() as conn:
        conn.execute(sa.text(sql))
    return caught.value


def _wrapped(cls: type[exc.DBAPIError], message: str) -> exc.DBAPIError:
    """A SQLAlchemy error around a driver error with ``message`` (PostgreSQL's words)."""
    return cls("SELECT 1", {}, Exception(message))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'e.db'}", connect_args={"timeout": 0})
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
    yield engine
    engine.dispose()


def test_an_unreachable_database_is_said_so(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    err = _raised(engine, "SELECT 1")
    engine.dispose()
    assert classify(err) is DbProblem.UNREACHABLE
    assert explain(err) == (
        "the database cannot be reached (is it running, and is store.url right?) "
        "(unable to open database file)"
    )


def test_a_locked_database_is_said_so(db: sa.Engine, tmp_path: Path) -> None:
    holder = sqlite3.connect(tmp_path / "e.db")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        err = _raised(db, "INSERT INTO t VALUES (2)")
    finally:
        holder.rollback()
        holder.close()
    assert classify(err) is DbProblem.LOCKED
    assert explain(err) == (
        "the database is locked by another writer; try again in a moment (database is locked)"
    )


def test_a_missing_table_means_the_schema_is_out_of_date(db: sa.Engine) -> None:
    err = _raised(db, "SELECT * FROM accounts")
    assert classify(err) is DbProblem.SCHEMA
    assert explain(err) == (
        "the database schema is out of date (a table or column is missing); start Rampart "
        "once so it migrates the database, or point store.url at a Rampart database "
        "(no such table: accounts)"
    )
    assert classify(_raised(db, "SELECT nope FROM t")) is DbProblem.SCHEMA


def test_a_violated_constraint_is_said_so(db: sa.Engine) -> None:
    err = _raised(db, "INSERT INTO t VALUES (1)")
    assert isinstance(err, exc.IntegrityError)
    assert classify(err) is DbProblem.CONSTRAINT
    assert explain(err) == (
        "the row conflicts with what the database already holds (a constraint is violated) "
        "(UNIQUE constraint failed: t.id)"
    )


def test_a_file_that_is_not_a_database_is_said_so(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database file at all, just some words" * 100)
    engine = sa.create_engine(f"sqlite:///{path}")
    err = _raised(engine, "SELECT * FROM sqlite_master")
    engine.dispose()
    assert classify(err) is DbProblem.CORRUPT
    assert explain(err) == (
        "the database file is damaged or not a Rampart database (file is not a database)"
    )


def test_anything_else_is_the_drivers_first_line(db: sa.Engine) -> None:
    err = _raised(db, "SELEC 1")
    assert classify(err) is DbProblem.OTHER
    assert explain(err) == driver_reason(err) == 'near "SELEC": syntax error'


@pytest.mark.parametrize(
    ("cls", "message", "problem"),
    [
        (
            exc.OperationalError,
            'connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
            "\tIs the server running on that host and accepting TCP/IP connections?",
            DbProblem.UNREACHABLE,
        ),
        (
            exc.OperationalError,
            'connection to server at "db" failed: FATAL:  password authentication failed',
            DbProblem.UNREACHABLE,
        ),
        (exc.InterfaceError, "the connection is lost", DbProblem.UNREACHABLE),
        (exc.ProgrammingError, 'relation "accounts" does not exist', DbProblem.SCHEMA),
        (exc.ProgrammingError, 'column "paused" does not exist', DbProblem.SCHEMA),
        (exc.OperationalError, "could not obtain lock on row in relation", DbProblem.LOCKED),
        (exc.OperationalError, "deadlock detected", DbProblem.LOCKED),
        (
            exc.IntegrityError,
            'null value in column "ts" of relation "fills" violates not-null constraint',
            DbProblem.CONSTRAINT,
        ),
        (
            exc.IntegrityError,
            'duplicate key value violates unique constraint "orders_pkey"',
            DbProblem.CONSTRAINT,
        ),
        (exc.DataError, "numeric field overflow", DbProblem.OTHER),
    ],
)
def test_postgresql_words_map_to_their_problem(
    cls: type[exc.DBAPIError], message: str, problem: DbProblem
) -> None:
    err = _wrapped(cls, message)
    assert classify(err) is problem
    reason = message.splitlines()[0].rstrip(".")
    expected = reason if problem is DbProblem.OTHER else f"{SENTENCES[problem]} ({reason})"
    assert explain(err) == expected


def test_every_problem_has_its_own_sentence() -> None:
    assert set(SENTENCES) == set(DbProblem)
    assert len(set(SENTENCES.values())) == len(SENTENCES)


def test_translate_builds_the_rampart_error_in_one_sentence(db: sa.Engine) -> None:
    err = _raised(db, "SELECT * FROM accounts")
    store = translate(err, "Reading accounts from the database failed")
    assert type(store) is StoreError
    assert store.message == f"Reading accounts from the database failed: {explain(err)}."
    assert "\n" not in store.message
    backup = translate(err, "Cannot back up the database", BackupError)
    assert isinstance(backup, BackupError)


def test_translating_raises_the_domain_error_and_lets_others_through(db: sa.Engine) -> None:
    with (
        pytest.raises(StoreError) as caught,
        translating("Saving the token failed"),
        db.begin() as conn,
    ):
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
    assert caught.value.message.startswith("Saving the token failed: the row conflicts with")
    assert isinstance(caught.value.__cause__, exc.IntegrityError)
    with pytest.raises(KeyError), translating("Anything"):
        raise KeyError("not a database failure")


def test_a_site_says_the_sentence(tmp_path: Path) -> None:
    bare = sa.create_engine(f"sqlite:///{tmp_path / 'bare.db'}")
    try:
        with pytest.raises(StoreError) as caught:
            q.list_accounts(bare)
    finally:
        bare.dispose()
    assert caught.value.message == (
        "Reading accounts from the database failed: " + SENTENCES[DbProblem.SCHEMA] + " "
        "(no such table: accounts)."
    )


@pytest.mark.skipif(
    not os.environ.get("RAMPART_TEST_PG_URL"), reason="RAMPART_TEST_PG_URL is not set"
)
def test_postgresql_for_real() -> None:
    engine = sa.create_engine(os.environ["RAMPART_TEST_PG_URL"])
    try:
        assert classify(_raised(engine, "SELECT * FROM no_such_table_here")) is DbProblem.SCHEMA
    finally:
        engine.dispose()
    url = sa.make_url(os.environ["RAMPART_TEST_PG_URL"]).set(host="127.0.0.1", port=1)
    closed = sa.create_engine(url)
    try:
        with pytest.raises(exc.SQLAlchemyError) as caught:
            closed.connect()
    finally:
        closed.dispose()
    assert classify(caught.value) is DbProblem.UNREACHABLE
