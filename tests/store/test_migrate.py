"""Alembic migrations: empty to head, idempotent, matching the models, in the URL's schema."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from rampart.domain.errors import StoreError
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.migrate import current_revision, head_revision, upgrade, upgrade_to_head

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
    "incidents",
    "incident_events",
    "api_tokens",
    "reconciliation_repairs",
    "investors",
    "credentials",
    "ops_events",
    "uptime_spans",
    "scheduler_runs",
    "service_clock",
    "rollout_state",
    "rollout_transitions",
    "rollout_evaluations",
    "llm_calls",
    "ml_models",
    "ml_model_transitions",
    "reports",
    "report_charts",
    "audit_log",
    "audit_head",
    "notify_prefs",
    "notify_outbox",
    "bot_inbox",
    "bot_replies",
    "solana_swaps",
    "alert_pending",
    "panel_sessions",
    "feedback",
    "support_tickets",
    "agent_configs",
    "terms_acceptances",
    "request_budget",
    "scale_state",
    "scale_workers",
    "shard_leases",
    "market_closes",
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


def test_head_is_the_newest_revision() -> None:
    assert head_revision() == "0037_position_counts"


def test_upgrade_from_empty_to_head_and_again(db_url: str) -> None:
    assert current_revision(db_url) is None
    assert _tables(db_url) == set()

    assert upgrade_to_head(db_url) == head_revision()
    assert current_revision(db_url) == head_revision()
    assert _tables(db_url) == TABLES | {"alembic_version"}

    assert upgrade_to_head(db_url) == head_revision()  # a second run changes nothing
    assert current_revision(db_url) == head_revision()
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


def test_0002_backfills_bought_value_of_open_positions(db_url: str) -> None:
    upgrade(db_url, "0001")
    assert current_revision(db_url) == "0001"
    engine = sa.create_engine(db_url)
    pg = engine.dialect.name == "postgresql"
    raw: type = Decimal if pg else str  # money columns hold NUMERIC on PostgreSQL, text on SQLite
    old = {
        "account_id": "alice",
        "symbol": "ETH/BTC",
        "strategy": "trend",
        "entry_client_id": "e-1",
        "opened_at": 1,
        "updated_at": 1,
    }
    amounts = {
        "qty": "0.3",
        "avg_price": "0.09120666666666666666666666667",
        "stop_loss": "0.088",
        "take_profit": "0.097",
        "realized_gross": "0",
        "entry_fees": "0",
        "exit_fees": "0",
        "bought_qty": "0.3",
        "sold_qty": "0",
        "sold_value": "0",
        "initial_stop": "0.088",
    }
    columns = ", ".join([*old, *amounts])
    values = ", ".join(f":{k}" for k in [*old, *amounts])
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"INSERT INTO positions ({columns}) VALUES ({values})"),
            {**old, **{k: raw(v) for k, v in amounts.items()}},
        )
    engine.dispose()

    upgrade_to_head(db_url)

    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            value = conn.execute(sa.select(m.positions.c.bought_value)).scalar_one()
    finally:
        engine.dispose()
    assert value == Decimal("0.09120666666666666666666666667") * Decimal("0.3")
    assert _diff(db_url, m.metadata) == []
