"""Alembic migrations: empty to head, idempotent, matching the models, in the URL's schema."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from rampart.domain.errors import StoreError
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.migrate import current_revision, head_revision, upgrade_to_head

TABLES = {
    "accounts",
    "orders",
    "order_transitions",
    "fills",
    "positions",
    "trades",
    "equity_snapshots",
    "intents",
    "rejections",
    "account_events",
    "checkpoints",
}


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _diff(url: str, metadata: sa.MetaData) -> list[object]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, metadata))
    finally:
        engine.dispose()


def test_head_is_the_initial_revision() -> None:
    assert head_revision() == "0001"


def test_upgrade_from_empty_to_head_and_again(db_url: str) -> None:
    assert current_revision(db_url) is None
    assert _tables(db_url) == set()

    assert upgrade_to_head(db_url) == "0001"
    assert current_revision(db_url) == "0001"
    assert _tables(db_url) == TABLES | {"alembic_version"}

    assert upgrade_to_head(db_url) == "0001"  # a second run changes nothing
    assert current_revision(db_url) == "0001"
    assert _tables(db_url) == TABLES | {"alembic_version"}


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    upgrade_to_head(db_url)
    assert _diff(db_url, m.metadata) == []
    # The comparison is not blind: a model with one more column shows up as a difference.
    extended = sa.MetaData(naming_convention=m.NAMING)
    for table in m.metadata.sorted_tables:
        table.to_metadata(extended)
    extended.tables["fills"].append_column(sa.Column("venue_trade_id", sa.String(64)))
    assert [d[0] for d in _diff(db_url, extended)] == ["add_column"]  # type: ignore[index]


def test_open_database_migrates_and_keeps_data_on_reopen(db_url: str) -> None:
    engine = open_database(db_url)
    with engine.begin() as conn:
        conn.execute(m.checkpoints.insert().values(name="x", ts=1, payload={"a": 1}, updated_at=1))
    engine.dispose()
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.select(m.checkpoints.c.payload)).scalar_one() == {"a": 1}
    finally:
        engine.dispose()
    assert current_revision(db_url) == head_revision()


def test_tables_land_in_the_schema_named_by_the_url(pg_url: str) -> None:
    schema = make_url(pg_url).query["options"].split("=")[-1]
    upgrade_to_head(pg_url)
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            found = set(
                conn.execute(
                    sa.text(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
                    ),
                    {"s": schema},
                ).scalars()
            )
    finally:
        engine.dispose()
    assert found == TABLES | {"alembic_version"}


def test_a_database_from_a_newer_rampart_is_refused(db_url: str) -> None:
    upgrade_to_head(db_url)
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    with pytest.raises(StoreError) as caught:
        open_database(db_url)
    assert "written by a newer Rampart (schema revision 0999)" in caught.value.message
    assert current_revision(db_url) == "0999"
