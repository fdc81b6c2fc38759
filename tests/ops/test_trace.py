"""``rampart trace ID`` on a demo trade: the store's path (agent → risk → order → fill → trade)
and the log lines that carry the entry's client id as their ``trace``."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import logging
import re
from pathlib import Path

import sqlalchemy as sa
import structlog
from rich.console import Console
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.config import load_settings
from rampart.observability.log_files import RotatingLogFile, generations
from rampart.store import models as m
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
        # Money as every front shows it (never "fee 1.902433313000").
        fill = next(s.what for s in steps if s.stage == "fill")
        closed = next(s.what for s in steps if s.stage == "trade")
        assert re.search(r"fee \d[\d,]*\.\d\d USDT \(", fill), fill
        assert re.search(r"PnL [+-]?\d[\d,]*\.\d\d USDT after fees \d[\d,]*\.\d\d USDT$", closed), (
            closed
        )
        # A leg's id leads to the same entry.
        with db.connect() as conn:
            leg = conn.execute(
                sa.text("SELECT client_id FROM orders WHERE parent_id = :p"), {"p": trace_id}
            ).first()
        assert leg is not None and trace_steps(db, str(leg[0])) == steps
        # The intent row names its entry: the trace follows the id, not the time.
        with db.connect() as conn:
            carried = conn.execute(
                sa.text("SELECT count(*) FROM intents WHERE client_id = :c"), {"c": trace_id}
            ).scalar_one()
        assert carried == 1
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
    _rotated_logs_are_read_too(tmp_path, log, trace_id, env, result.output)
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


def _lines_shown(output: str) -> int:
    match = re.search(r"(\d+) line\(s\) of", output)
    assert match is not None, output
    return int(match.group(1))


def _text(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()


def _rotated_logs_are_read_too(
    tmp_path: Path, log: Path, trace_id: str, env: dict[str, str], plain_output: str
) -> None:
    """The same lines written through the service's rotating handler, most of them into
    gzip-compressed older files: trace finds every one, and a damaged old file costs only
    its own lines, named in one sentence."""
    rotated = tmp_path / "rotated" / "rampart.log"
    lines = log.read_text().splitlines()
    handler = RotatingLogFile(
        rotated, max_bytes=max(1, log.stat().st_size // 6), max_age_s=1e9, keep=20
    )
    for line in lines:
        handler.write_line(line)
    handler.close()
    olds = [p for p in generations(rotated) if p.suffix == ".gz"]
    assert len(olds) >= 3, olds
    in_gz = [p for p in olds if trace_id in gzip.decompress(p.read_bytes()).decode()]
    assert in_gz, "no line of the trace went into a compressed file"
    result = CliRunner().invoke(app, ["trace", trace_id, "--log", str(rotated)], env=env)
    assert result.exit_code == 0, result.output
    assert _lines_shown(result.output) == _lines_shown(plain_output)

    damaged = in_gz[0]
    damaged.write_bytes(damaged.read_bytes()[:40])
    kept = [p for p in generations(rotated) if p != damaged]
    lost = sum(trace_id in line for line in lines) - sum(
        trace_id in line for p in kept for line in _text(p).splitlines()
    )
    result = CliRunner().invoke(app, ["trace", trace_id, "--log", str(rotated)], env=env)
    assert result.exit_code == 0, result.output
    assert "could not be read to its end" in result.output and damaged.name in result.output
    assert "Traceback" not in result.output
    left = _lines_shown(plain_output) - lost
    assert lost > 0
    if left:
        assert _lines_shown(result.output) == left
    else:
        assert "No line of" in result.output


def test_trace_last_on_a_store_without_orders_is_a_sentence(tmp_path: Path) -> None:
    env = {"RAMPART_STORE__URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = CliRunner().invoke(app, ["trace", "last"], env=env)
    assert result.exit_code == 2, result.output
    assert "No order has been placed yet" in result.output
    assert "Traceback" not in result.output


def _entry(client_id: str, ts: int) -> dict[str, object]:
    return {
        "client_id": client_id,
        "account_id": "alice",
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "market",
        "role": "entry",
        "qty": "0.01",
        "status": "filled",
        "filled_qty": "0.01",
        "avg_fill_price": "100",
        "fees": "0",
        "strategy": "trend",
        "reason": "",
        "created_at": ts,
        "updated_at": ts,
    }


def _intent(client_id: str | None, ts: int, why: str) -> dict[str, object]:
    return {
        "client_id": client_id,
        "account_id": "alice",
        "symbol": "BTC/USDT",
        "side": "buy",
        "action": "open",
        "entry_price": "100",
        "stop_loss": "95",
        "take_profit": "110",
        "size_hint": "1",
        "confidence": 0.5,
        "rationale": why,
        "agent": "trend",
        "ts": ts,
    }


def test_two_intents_in_one_millisecond_are_told_apart_by_their_trace_id(tmp_path: Path) -> None:
    """Two agents on one account and symbol decide in the same millisecond: each entry leads
    to its own intent (matching by account, symbol and time would give both the newest)."""
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        ts = 1_700_000_000_000
        with db.begin() as conn:
            conn.execute(
                sa.insert(m.intents),
                [_intent("e-first", ts, "first idea"), _intent("e-second", ts, "second idea")],
            )
            conn.execute(sa.insert(m.orders), [_entry("e-first", ts), _entry("e-second", ts)])
        for client_id, why in (("e-first", "first idea"), ("e-second", "second idea")):
            steps = trace_steps(db, client_id)
            assert steps is not None
            agent = [s.what for s in steps if s.stage == "agent"]
            assert len(agent) == 1 and agent[0].endswith(why), (client_id, agent)
        # A row from before the trace id (migration 0030) is still found by time.
        with db.begin() as conn:
            conn.execute(sa.insert(m.intents), [_intent(None, ts + 5, "older row")])
            conn.execute(sa.insert(m.orders), [_entry("e-old", ts + 9)])
        old = trace_steps(db, "e-old")
        assert old is not None and any(s.what.endswith("older row") for s in old)
    finally:
        db.dispose()
