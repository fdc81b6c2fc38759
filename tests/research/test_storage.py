"""Where studies live: Optuna's journal beside a SQLite store, Optuna's RDB tables on
PostgreSQL in a schema of their own (never beside Rampart's ``alembic_version``); a search on
PostgreSQL with two worker processes, continued by a second run."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from rampart.domain.errors import ConfigError
from rampart.research.search import run_search
from rampart.research.storage import spec_for
from rampart.store.db import open_database
from tests.research.test_objectives import Constraints, Stand, plan


def test_sqlite_store_keeps_a_journal_beside_it() -> None:
    spec = spec_for("sqlite:///var/rampart.db")
    assert (spec.kind, spec.where) == ("journal", "var/rampart.optuna.log")
    assert spec_for("sqlite:///x.db", "/tmp/other.log").where == "/tmp/other.log"
    with pytest.raises(ConfigError, match="store is in memory"):
        spec_for("sqlite://")


def test_postgresql_store_gets_a_schema_of_its_own() -> None:
    spec = spec_for("postgresql+psycopg://u@h:5432/db")
    assert spec.kind == "rdb" and spec.schema == "rampart_optuna"
    assert (
        "search_path%3Drampart_optuna" in spec.where or "search_path=rampart_optuna" in spec.where
    )
    moved = spec_for("postgresql+psycopg://u@h/db?options=-csearch_path%3Dt_1")
    assert moved.schema == "t_1_optuna"


@pytest.mark.pg
def test_a_search_on_postgresql_with_two_workers_continues(pg_url: str) -> None:
    db = open_database(pg_url)  # Rampart's tables, alembic_version among them
    spec = spec_for(pg_url)
    admin = sa.create_engine(pg_url.split("?")[0])
    try:
        p = plan(Constraints(), "sharpe")
        first = run_search(replace(p, jobs=2, trials=6), spec, Stand())
        assert all(len(f.trials) == 6 for f in first)
        more = run_search(replace(p, jobs=2, trials=9), spec, Stand())
        assert all(len(f.trials) == 9 for f in more)
        # the first six trials of each fold are the ones the first run made
        for a, b in zip(first, more, strict=True):
            assert [(t.params, t.value) for t in a.trials] == [
                (t.params, t.value) for t in b.trials[:6]
            ]
        with admin.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names(schema=spec.schema))
        assert {"studies", "trials", "alembic_version"} <= tables
        with db.connect() as conn:
            assert "trials" not in sa.inspect(conn).get_table_names()  # not beside ours
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{spec.schema}" CASCADE'))
        admin.dispose()
        db.dispose()
