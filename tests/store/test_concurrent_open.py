"""Workers and API servers started together on an empty PostgreSQL database: one of
them creates the schema, the others wait for it and find it made; none fails on a table
another is creating at the same instant."""

from __future__ import annotations

import threading

from rampart.store.db import open_database, stored_revision


def test_processes_opening_an_empty_database_at_once_all_get_it(pg_url: str) -> None:
    start = threading.Barrier(4)
    opened: list[str] = []
    failed: list[str] = []

    def open_it() -> None:
        start.wait()
        try:
            engine = open_database(pg_url)
        except Exception as err:  # what the race used to raise: a duplicate pg_type key
            failed.append(f"{type(err).__name__}: {err}")
            return
        try:
            opened.append(str(stored_revision(engine)))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failed == []
    assert len(opened) == 4 and len(set(opened)) == 1
