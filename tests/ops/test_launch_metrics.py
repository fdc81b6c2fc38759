"""The metrics the launch plans ask to watch: API requests per route template (no ids),
database pool gauges, slow queries logged, take-profit / stop-loss exits counted."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from rampart.domain.events import TradeClosed
from rampart.domain.positions import ClosedTrade
from rampart.observability.api_metrics import UNMATCHED, install_request_metrics
from rampart.observability.db_metrics import instrument_database
from rampart.observability.launch_sampler import sample_pool
from rampart.observability.metrics import Metrics
from rampart.store.db import open_database
from tests.ops.test_alert_truth import warnings_logged


def test_api_requests_are_counted_per_route_template_without_ids() -> None:
    app = FastAPI()

    @app.get("/api/v1/orders/{client_id}")
    def order(client_id: str) -> dict[str, str]:
        return {"id": client_id}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    registry = CollectorRegistry()
    install_request_metrics(app, registry)
    client = TestClient(app, raise_server_exceptions=False)
    for cid in ("rp-1", "rp-2", "rp-3"):
        assert client.get(f"/api/v1/orders/{cid}").status_code == 200
    assert client.get("/no/such/path/rp-4").status_code == 404
    assert client.get("/boom").status_code == 500

    def count(route: str, status: str) -> float | None:
        labels = {"method": "GET", "route": route, "status": status}
        return registry.get_sample_value("rampart_api_requests_total", labels)

    assert count("/api/v1/orders/{client_id}", "200") == 3
    assert count(UNMATCHED, "404") == 1
    assert count("/boom", "500") == 1
    seen = {s.labels.get("route") for m in registry.collect() for s in m.samples}
    assert not any("rp-" in str(route) for route in seen)  # no ids in the labels
    timed = registry.get_sample_value(
        "rampart_api_request_seconds_count",
        {"method": "GET", "route": "/api/v1/orders/{client_id}"},
    )
    assert timed == 3


def test_slow_queries_are_logged_and_failures_counted(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'q.db'}")
    metrics = Metrics()
    stop = instrument_database(db, metrics, slow_query_ms=0.000001)  # every statement is slow
    with warnings_logged() as logs, db.connect() as conn:
        conn.execute(sa.text("SELECT 1 AS secret_free"))
        with contextlib.suppress(sa.exc.OperationalError):
            conn.execute(sa.text("SELECT * FROM no_such_table"))
    stop()
    slow = [e for e in logs if e["event"] == "slow_query"]
    assert slow and "SELECT 1 AS secret_free" in slow[0]["statement"]
    assert metrics.registry.get_sample_value("rampart_db_errors_total") == 1
    quiet = Metrics()
    stop = instrument_database(db, quiet, slow_query_ms=0)  # off
    with warnings_logged() as logs, db.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    stop()
    assert not [e for e in logs if e["event"] == "slow_query"]
    db.dispose()


def test_the_pool_gauges_follow_the_connections(tmp_path: Path) -> None:
    db = sa.create_engine(f"sqlite:///{tmp_path / 'p.db'}", poolclass=sa.pool.QueuePool)
    metrics = Metrics()

    def state(name: str) -> float | None:
        return metrics.registry.get_sample_value("rampart_db_pool_connections", {"state": name})

    with db.connect():
        sample_pool(db, metrics)
        assert state("checked_out") == 1 and state("size") == 5
    sample_pool(db, metrics)
    assert state("checked_out") == 0 and state("idle") == 1
    db.dispose()


def test_take_profit_and_stop_loss_exits_are_counted() -> None:
    metrics = Metrics()
    for reason in ("take_profit", "stop_loss", "stop_loss", "agent"):
        trade = ClosedTrade(
            account_id="a1",
            symbol="BTC/USDT",
            strategy="trend",
            entry_client_id=f"rp-{reason}",
            opened_at=0,
            closed_at=1,
            qty=Decimal(1),
            entry_price=Decimal(100),
            exit_price=Decimal(101),
            gross_pnl=Decimal(1),
            fees=Decimal(0),
            pnl=Decimal(1),
            exit_reason=reason,
            stop_loss=Decimal(98),
            take_profit=Decimal(104),
            risk=Decimal(2),
        )
        metrics.on_event(TradeClosed(1, trade))

    def legs(leg: str) -> float | None:
        return metrics.registry.get_sample_value("rampart_bracket_exits_total", {"leg": leg})

    assert (legs("take_profit"), legs("stop_loss")) == (1, 2)
    assert metrics.registry.get_sample_value("rampart_trades_total", {"outcome": "win"}) == 4
