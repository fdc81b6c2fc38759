"""Two ``rampart feed`` processes on one NATS: only the leader publishes. The leader
frozen (SIGSTOP) → the standby publishes within 10 s; the frozen one woken → it stands by and
leaves the lease to the other; that one killed (kill -9) → the first publishes again within
10 s. At the end the stream holds every candle exactly once: no gap, no duplicate."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rampart.messaging.feed_lease import read_holder
from rampart.messaging.nats_link import connect
from tests.scale.feed_helpers import (
    HANG_GUARD_S,
    SYMBOLS,
    assert_exactly_once,
    feed_settings,
    stream_candles,
    stream_count,
)
from tests.scale.nats_server import NatsServer, require_nats

TAKEOVER_S = 10.0
"""The bound: a standby publishes within this long of the leader's fault."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    nats = NatsServer(tmp_path / "nats")
    require_nats(nats)
    yield nats
    nats.stop()


def start_feed(name: str, config: Path, cwd: Path) -> subprocess.Popen[bytes]:
    code = "from rampart.cli.main import main; main()"
    out = (cwd / f"{name}.out").open("wb")
    return subprocess.Popen(
        [sys.executable, "-c", code, "feed", "--config", str(config), "--name", name],
        cwd=cwd,
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
    )


def output(name: str, cwd: Path) -> str:
    return (cwd / f"{name}.out").read_text(errors="replace")


def wait_for(what: str, done: Callable[[], bool]) -> float:
    """Poll another process's state; the seconds it took (a hang guard bounds it)."""
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > HANG_GUARD_S:
            raise AssertionError(f"still waiting for {what}")
        time.sleep(0.1)  # polling other processes, not waiting on an event of ours
    return time.monotonic() - started


def holder(url: str) -> str:
    async def read() -> str:
        nc = await connect(url, "test-lease")
        try:
            _seq, held = await read_holder(nc.jetstream())
            return held.owner if held is not None else ""
        finally:
            await nc.close()

    return asyncio.run(read())


def count(url: str) -> int:
    try:
        return asyncio.run(stream_count(url))
    except Exception:  # the stream does not exist yet
        return 0


def test_a_standby_feed_takes_over_within_ten_seconds(server: NatsServer, tmp_path: Path) -> None:
    settings = feed_settings(server.url, speed=300.0)
    config = tmp_path / "rampart.yaml"
    config.write_text(
        json.dumps(
            {
                "feed": {"kind": "synthetic", "symbols": SYMBOLS, "seed": 7, "speed": 300.0},
                "alerts": {"enabled": False},
                "api": {"enabled": False},
                "scale": {"nats_url": server.url, "renew_every_s": 0.5, "feed_lease_s": 2.0},
            }
        )
    )
    a = start_feed("a", config, tmp_path)
    b: subprocess.Popen[bytes] | None = None
    try:
        wait_for("feed a to publish", lambda: count(server.url) >= 6)
        assert holder(server.url) == "a"
        b = start_feed("b", config, tmp_path)
        wait_for("feed b to stand by", lambda: "Feed b:" in output("b", tmp_path))

        # The leader frozen: the standby publishes within 10 s.
        os.kill(a.pid, signal.SIGSTOP)
        frozen_at = count(server.url)
        took = wait_for(
            "feed b to publish",
            lambda: holder(server.url) == "b" and count(server.url) > frozen_at + 2,
        )
        print(f"standby published {took:.1f} s after the leader froze")
        assert took <= TAKEOVER_S

        # The frozen leader woken stands by: the lease stays with b.
        os.kill(a.pid, signal.SIGCONT)
        wait_for("feed a to stand by", lambda: "a: lost the leader lease" in output("a", tmp_path))
        assert holder(server.url) == "b"

        # The new leader killed: the first one publishes within 10 s.
        os.kill(b.pid, signal.SIGKILL)
        b.wait(timeout=HANG_GUARD_S)
        killed_at = count(server.url)
        took = wait_for(
            "feed a to publish again",
            lambda: holder(server.url) == "a" and count(server.url) > killed_at + 2,
        )
        print(f"standby published {took:.1f} s after the leader was killed")
        assert took <= TAKEOVER_S
        a.send_signal(signal.SIGTERM)
        assert a.wait(timeout=HANG_GUARD_S) == 0, output("a", tmp_path)
    finally:
        for proc in (a, b):
            if proc is not None and proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
                proc.wait(timeout=HANG_GUARD_S)

    candles = asyncio.run(stream_candles(server.url))
    assert_exactly_once(candles, settings)
