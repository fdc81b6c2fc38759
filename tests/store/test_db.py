"""open_database: SQLite set-up, and failures explained in one sentence that change nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.domain.errors import StoreError
from rampart.store.db import open_database
from rampart.store.migrate import current_revision


def _one_sentence(message: str) -> None:
    assert message.endswith(".")
    assert "\n" not in message
    assert "Traceback" not in message


def test_sqlite_file_gets_its_folder_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "var" / "deep" / "rampart.db"
    engine = open_database(f"sqlite:///{path}")
    try:
        assert path.is_file()
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in (
                    "journal_mode",
                    "synchronous",
                    "busy_timeout",
                    "foreign_keys",
                    "temp_store",
                )
            }
    finally:
        engine.dispose()
    # synchronous=1 is NORMAL. temp_store=2 is MEMORY: the statement journals of the
    # writer's multi-row INSERTs stay in memory (as temporary files they were ~70 % of a
    # replay's write calls).
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": 5000,
        "foreign_keys": 1,
        "temp_store": 2,
    }


def test_a_garbage_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "var" / "rampart.db"
    path.parent.mkdir()
    garbage = b"these are not the bytes of a SQLite database\n" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as caught:
        open_database(f"sqlite:///{path}")
    assert caught.value.message == (
        f"{path} is not a Rampart database (file is corrupt or of another kind)."
    )
    assert path.read_bytes() == garbage
    assert [p.name for p in path.parent.iterdir()] == ["rampart.db"]  # no -wal or -shm left


def test_another_programs_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    before = path.read_bytes()
    with pytest.raises(StoreError) as caught:
        open_database(f"sqlite:///{path}")
    assert caught.value.message == f"{path} is not a Rampart database (it holds other tables)."
    assert path.read_bytes() == before
    assert current_revision(f"sqlite:///{path}") is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "The database URL is not valid"),
        ("not a url", "The database URL is not valid"),
        ("mysql+pymysql://u@h/db", "Rampart keeps its data in SQLite or PostgreSQL, not 'mysql'"),
    ],
)
def test_bad_urls_are_explained(url: str, expected: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_database(url)
    assert caught.value.message.startswith(expected)
    _one_sentence(caught.value.message)


def test_unreachable_postgresql_is_explained() -> None:
    # Port 1 on the loopback refuses at once: no server is needed to prove the message.
    with pytest.raises(StoreError) as caught:
        open_database("postgresql+psycopg://rampart:s3cret@127.0.0.1:1/rampart")
    message = caught.value.message
    assert message.startswith("Cannot connect to PostgreSQL at 127.0.0.1:1: ")
    assert "refused" in message.lower()
    assert "s3cret" not in message
    _one_sentence(message)


def test_plain_postgresql_scheme_uses_psycopg(pg_url: str) -> None:
    engine = open_database(pg_url.replace("postgresql+psycopg://", "postgresql://", 1))
    try:
        assert engine.dialect.driver == "psycopg"
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_an_unwritable_folder_is_explained(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as caught:
        open_database(f"sqlite:///{blocker / 'sub' / 'rampart.db'}")
    assert caught.value.message.startswith(f"Cannot create the folder {blocker / 'sub'}")
    _one_sentence(caught.value.message)


def test_a_new_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    engine = open_database(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:  # a write makes SQLite create its -wal file too
            conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
        for file in (path, path.with_name("fresh.db-wal")):
            assert file.stat().st_mode & 0o777 == 0o600, file
    finally:
        engine.dispose()
