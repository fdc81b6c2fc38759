"""``rampart trace ID`` on a demo trade: the store's path (agent → risk → order → fill → trade)
and the log lines that carry the entry's client id as their ``trace``."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path

import sqlalchemy as sa
import structlog
from rich.console import Console
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.config import load_settings
from rampart.store.db import open_database
from rampart.store.trace import trace_steps
from rampart.wiring.service import Service


def test_trace_follows_a_demo_trade_through_the_store_and_the_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rampart.db'}"
    settings = load_settings(
        store={"url": url}, feed={"speed": 1e9}, api={"enabled": False}, alerts={"enabled": False}
    )
    service = Service(
        settings, Console(file=io.StringIO()), max_candles=1500, view=False, install_signals=False
    )
    before = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with structlog.testing.capture_logs() as entries:
            asyncio.run(asyncio.wait_for(service.run(), 300))
    finally:
        structlog.configure(wrapper_class=before)
    log = tmp_path / "rampart.log"
    log.write_text("".join(json.dumps(e, default=str) + "\n" for e in entries))

    db = open_database(url)
    try:
        with db.connect() as conn:
            trade = conn.execute(sa.text("SELECT entry_client_id FROM trades LIMIT 1")).first()
        assert trade is not None, "the demo closed no trade in 1,500 candles"
        trace_id = str(trade[0])
        steps = trace_steps(db, trace_id)
        assert steps is not None
        stages = [s.stage for s in steps]
        for stage in ("agent", "risk", "order", "fill", "trade"):
            assert stage in stages, (stage, stages)
        assert stages.index("agent") < stages.index("risk") < stages.index("trade")
        # A leg's id leads to the same entry.
        with db.connect() as conn:
            leg = conn.execute(
                sa.text("SELECT client_id FROM orders WHERE parent_id = :p"), {"p": trace_id}
            ).first()
        assert leg is not None and trace_steps(db, str(leg[0])) == steps
    finally:
        db.dispose()

    traced = [e for e in entries if e.get("trace") == trace_id]
    assert {e["event"] for e in traced} >= {
        "trace_intent",
        "trace_order",
        "trace_fill",
        "trace_trade",
    }

    env = {"RAMPART_STORE__URL": url}
    result = CliRunner().invoke(app, ["trace", trace_id, "--log", str(log)], env=env)
    assert result.exit_code == 0, result.output
    for word in ("agent", "risk", "order", "fill", "trade", "trace_intent", "trace_trade"):
        assert word in result.output, word
    missing = CliRunner().invoke(app, ["trace", "rp-nope"], env=env)
    assert missing.exit_code == 2 and "No order 'rp-nope' in the store" in missing.output
    # "last" (the README's tour): the trade closed last, whatever its id.
    db = open_database(url)
    try:
        with db.connect() as conn:
            newest = conn.execute(
                sa.text("SELECT entry_client_id FROM trades ORDER BY closed_at DESC, id DESC")
            ).first()
    finally:
        db.dispose()
    assert newest is not None
    last = CliRunner().invoke(app, ["trace", "last", "--log", str(log)], env=env)
    assert last.exit_code == 0, last.output
    assert f"Trace {newest[0]}" in " ".join(last.output.split())


def test_trace_last_on_a_store_without_orders_is_a_sentence(tmp_path: Path) -> None:
    env = {"RAMPART_STORE__URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = CliRunner().invoke(app, ["trace", "last"], env=env)
    assert result.exit_code == 2, result.output
    assert "No order has been placed yet" in result.output
    assert "Traceback" not in result.output
