"""A new database is created from the models and stamped; it must equal the migrated one.

``open_database`` on a brand-new, empty database runs ``metadata.create_all`` and writes the
head revision instead of every migration one by one. Both paths are reflected here (tables,
columns with types, nullability and defaults, primary keys, foreign keys, indexes, unique and
check constraints) and must give the same schema, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from rampart.store import models as m
from rampart.store.db import create_fresh, open_database, script_head
from rampart.store.migrate import current_revision, head_revision, upgrade, upgrade_to_head
from tests.conftest import fresh_pg_schema


@pytest.fixture
def other_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty database on the same backend as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'other.db'}"
        return
    with fresh_pg_schema(os.environ["RAMPART_TEST_PG_URL"]) as url:
        yield url


def _sorted(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=repr)


def _schema(url: str) -> dict[str, Any]:
    """Everything the inspector reports about every table, in comparable form."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            insp = sa.inspect(conn)
            out: dict[str, Any] = {}
            for table in sorted(insp.get_table_names()):
                columns = [
                    {
                        "name": c["name"],
                        "type": str(c["type"].compile(dialect=engine.dialect)),
                        "nullable": c["nullable"],
                        "default": c.get("default"),
                        "autoincrement": c.get("autoincrement"),
                    }
                    for c in insp.get_columns(table)
                ]
                out[table] = {
                    "columns": sorted(columns, key=lambda c: c["name"]),
                    "order": [c["name"] for c in columns],
                    "pk": insp.get_pk_constraint(table),
                    "fks": _sorted(insp.get_foreign_keys(table)),
                    "indexes": _sorted(insp.get_indexes(table)),
                    "unique": _sorted(insp.get_unique_constraints(table)),
                    "checks": _sorted(insp.get_check_constraints(table)),
                }
            return out
    finally:
        engine.dispose()


APPENDED = {
    "positions": ["bought_value", "entries", "exits", "last_buy", "last_sell"],
    "trades": ["final_stop", "entries", "exits"],
    "solana_swaps": ["platform_fee_mint", "best_route", "route_cost"],
}
"""Columns a later migration added with ADD COLUMN, so a migrated table has them last while
the model (and so a fresh database) declares them among the others. Only their position
differs; Rampart names its columns in every statement, and backups copy whole databases."""


def _migrated_order(fresh: list[str], table: str) -> list[str]:
    late = APPENDED.get(table, [])
    return [c for c in fresh if c not in late] + late


def test_a_fresh_database_has_the_migrated_schema(db_url: str, other_url: str) -> None:
    upgrade_to_head(db_url)  # every migration, one by one
    engine = open_database(other_url)  # new and empty: created from the models, stamped
    engine.dispose()
    migrated, fresh = _schema(db_url), _schema(other_url)
    assert set(fresh) == set(migrated) == set(m.metadata.tables) | {"alembic_version"}
    for table in sorted(migrated):
        # Everything the inspector reports is equal: types, nullability, defaults, keys,
        # indexes, constraints. Column positions are equal but for the known appended ones.
        assert migrated[table]["order"] == _migrated_order(fresh[table]["order"], table), table
        del migrated[table]["order"], fresh[table]["order"]
        assert fresh[table] == migrated[table], table
    assert current_revision(other_url) == current_revision(db_url) == head_revision()


def test_the_comparison_sees_a_difference(db_url: str, other_url: str) -> None:
    upgrade_to_head(db_url)
    engine = open_database(other_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE INDEX ix_extra ON fills (ts)"))
    engine.dispose()
    assert _schema(other_url) != _schema(db_url)


def test_the_fast_path_reads_the_same_head_as_alembic() -> None:
    assert script_head() == head_revision()


def test_an_existing_database_still_migrates(db_url: str) -> None:
    upgrade(db_url, "0005")
    engine = open_database(db_url)  # not empty: migrated from 0005, never re-created
    try:
        assert create_fresh(engine) is False
    finally:
        engine.dispose()
    assert current_revision(db_url) == head_revision()


def test_a_stamped_database_is_not_created_again(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                m.checkpoints.insert().values(name="x", ts=1, payload={"a": 1}, updated_at=1)
            )
        assert create_fresh(engine) is False
    finally:
        engine.dispose()
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.select(m.checkpoints.c.payload)).scalar_one() == {"a": 1}
    finally:
        engine.dispose()
