"""The alert engine waits on no write of its own while the store does not answer: each would
hold the service's loop for the database's lock wait (SQLite's 5 s), and a store outage of
15 s then ended before DatabaseDown's ``for`` had run (the engine was writing its pending timer
when the outage ended: the page never left). After a write the store did not answer, the engine
tries none for ``STORE_RETRY_MS`` of ops time; when the service's own write is refused (its
``on_store`` hook), none at all until a write is taken again, then at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from rampart.observability.alerts.engine import STORE_RETRY_MS
from rampart.observability.incidents import list_incidents
from rampart.observability.launch_sampler import store_state_hook
from rampart.store.db import open_database
from tests.ops.alert_harness import STEP_S, Harness

FOR_S = 5  # DatabaseDown's ``for`` (the default rules')


def test_after_a_write_the_store_did_not_answer_none_is_tried_for_a_while() -> None:
    tries: list[int] = []

    def locked() -> Any:
        tries.append(1)
        raise sqlite3.OperationalError("database is locked")

    h = Harness(sa.create_engine("sqlite://", creator=locked))
    h.metrics.database_up(False)
    h.evaluate()
    assert len(tries) == 1  # the first read found it locked
    h.advance(FOR_S)  # within the retry span: the page leaves, nothing is tried
    assert [n.kind for n in h.of("DatabaseDown")] == ["firing"]
    assert len(tries) == 1
    assert FOR_S + STEP_S >= STORE_RETRY_MS / 1000
    h.advance(STEP_S)  # the retry span over: one try, found locked again
    assert len(tries) == 2
    h.advance(STEP_S)
    assert len(tries) == 2


def test_a_write_the_service_saw_refused_stops_the_engines_until_one_is_taken(
    tmp_path: Path,
) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    statements: list[str] = []
    sa.event.listen(db, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        h = Harness(db)
        on_store = store_state_hook(h.metrics, h.engine)
        on_store(False)  # the service's checkpoint was refused
        h.evaluate()
        h.advance(FOR_S)
        assert [n.kind for n in h.of("DatabaseDown")] == ["firing"]
        assert statements == []  # the store was not asked: its lock wait would hold the loop
        on_store(True)  # a checkpoint landed: the incident owed is written at once
        h.advance(1)
        assert statements
        (saved,) = list_incidents(db, "open")
        assert saved.rule == "DatabaseDown"
    finally:
        db.dispose()
