"""A trace across real processes: ``rampart worker`` and ``rampart feed`` run as
processes of their own with ``tracing.exporter: file``; the only way a candle's trace id gets
from one to the other is the ``traceparent`` in the NATS message's headers. Each writes its
own spans file; ``rampart trace ID`` reads both and shows an order's path from the feed's
publish of the candle to the worker's decision and order.

What is asserted is outcomes; the waits are bounded only so that a broken run fails instead of
hanging."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.observability.span_file import read_spans, span_files
from rampart.store.db import open_database
from rampart.store.leases import lease_table
from tests.scale.nats_server import NatsServer, nats_server

HANG_GUARD_S = 120.0


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    with nats_server(tmp_path / "nats") as server:
        yield server


def rampart(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    code = "from rampart.cli.main import main; main()"
    # The code under test, whatever the processes' working directory (a relative PYTHONPATH).
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    path = os.pathsep.join(str(Path(p).resolve()) for p in paths if p)
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": path},
    )


def wait_for(what: str, done: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not done():
        if proc.poll() is not None:
            raise AssertionError(f"{what}: the process ended: {proc.stdout.read()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what}")
        time.sleep(0.2)  # polling other processes' state, not waiting on an event of ours


def held(db: sa.Engine) -> list[int]:
    now = int(time.time() * 1000)
    try:
        return [s for s, h in lease_table(db).items() if h.live(now) and h.owner == "w1"]
    except sa.exc.OperationalError:
        return []  # the worker has not made the table yet


def count(db: sa.Engine, sql: str) -> int:
    try:
        with db.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar_one())
    except sa.exc.OperationalError:
        return 0  # the worker has not made the table yet


def test_an_order_in_the_worker_process_is_traced_to_the_feed_process(
    tmp_path: Path, nats: NatsServer
) -> None:
    url = f"sqlite:///{tmp_path / 'rampart.db'}"
    settings: dict[str, Any] = {
        "store": {"url": url, "checkpoint_every": 5},
        "feed": {
            "kind": "synthetic",
            "symbols": ["BTC/USDT", "ETH/USDT"],
            "seed": 7,
            "speed": 1_000_000,
        },
        "accounts": [
            {
                "id": f"acct-{i}",
                "agent": "trend" if i % 2 else "breakout",
                "profile": "aggressive",
                "symbols": ["BTC/USDT", "ETH/USDT"],
            }
            for i in range(4)
        ],
        "alerts": {"enabled": False},
        "api": {"enabled": False},
        "scale": {"nats_url": nats.url, "shards": 2, "lease_s": 6.0, "renew_every_s": 0.5},
        "tracing": {"exporter": "file", "directory": "var"},
    }
    config = tmp_path / "scale.yaml"
    config.write_text(yaml.safe_dump(settings))
    db = open_database(url)
    worker = rampart(["worker", "--config", str(config), "--name", "w1"], tmp_path)
    try:
        # Every shard held before the first candle: each candle is traded as it arrives.
        wait_for(
            "both shards held",
            lambda: len(held(db)) == 2,
            worker,
        )
        feed = rampart(["feed", "--config", str(config), "--max-candles", "700"], tmp_path)
        assert feed.wait(HANG_GUARD_S) == 0, feed.stdout.read()  # type: ignore[union-attr]
        wait_for("an order stored", lambda: count(db, "SELECT count(*) FROM orders") > 0, worker)
    finally:
        worker.send_signal(signal.SIGTERM)  # its spans are flushed as it exits
        worker.wait(HANG_GUARD_S)
        db.dispose()
    files = span_files(tmp_path / "var")
    assert sorted(f.name.split("-")[1] for f in files) == ["feed", "worker"], files
    spans = list(read_spans(files))
    published = {s["trace_id"]: s for s in spans if s["name"] == "candle.publish"}
    assert {s["service"] for s in published.values()} == {"rampart-feed"}
    traded = [s for s in spans if s["name"] == "candle.trade"]
    assert traded and {s["service"] for s in traded} == {"rampart-worker"}
    for span in traded:  # a child of the feed's publish, in the feed's trace
        assert span["parent_id"] == published[span["trace_id"]]["span_id"]
    orders = [s for s in spans if s["name"] == "order.submit"]
    assert orders and all(s["trace_id"] in published for s in orders)
    client_id = orders[0]["attributes"]["rampart.client_id"]

    env = {"RAMPART_STORE__URL": url}
    log = tmp_path / "var" / "rampart-worker-w1.log"
    shown = CliRunner().invoke(app, ["trace", client_id, "--log", str(log)], env=env)
    assert shown.exit_code == 0, shown.output
    table = shown.output[shown.output.index(f"Spans of {client_id}") :]
    rows = [line for line in table.splitlines() if "│" in line]
    cells = [[c.strip() for c in row.split("│")[1:-1]] for row in rows]
    named = [(c[1], c[2].split(" ")[0], c[4]) for c in cells if c[1]]
    # A market order fills at the next candle's open, so its fill sits in that candle's trace: the
    # order's own trace is the one its submit belongs to, read in the order the table shows it.
    trace = next(t for _, span, t in named if span == "order.submit")
    in_trace = [(process, span) for process, span, t in named if t == trace]
    assert in_trace[:4] == [
        ("feed", "candle.publish"),
        ("worker", "candle.trade"),
        ("worker", "decision"),
        ("worker", "order.submit"),
    ], table
    assert json.dumps(named)  # the rows as read, for the failure message above
