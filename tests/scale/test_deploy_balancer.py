"""The API traffic follows a blue-green deploy through a real HAProxy: the shipped
``deploy/lb/haproxy.cfg`` on loopback in front of two stand-in API servers (blue: the old
version, green: the new), and ``rampart deploy start|step|step|rollback`` driving its weights
through the weights file and the runtime API. Of 100 requests after each command, green answers
10, 50, 100, then 0; HAProxy started again from the weights file keeps the step's share.

Round robin over weights out of 100 is exact, so the tolerance is ±2 requests (for a request
HAProxy retried on the other colour); the count of requests is bounded (500 in all). Without
the haproxy binary the test skips, and fails in CI (.ci/run installs Debian's package)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.clock import SimClock
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases
from tests.conftest import IN_CI

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "lb" / "haproxy.cfg"
REQUESTS = 100
TOLERANCE = 2
START_WITHIN_S = 20.0
"""A bound on HAProxy starting (a hang guard, not a wait)."""


def _stand_in(colour: str) -> ThreadingHTTPServer:
    """An API server of one colour: every path answers 200 with its colour."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = colour.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _weights_env(path: Path) -> dict[str, str]:
    """The weights file as HAProxy's environment (what systemd's EnvironmentFile= reads)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


@contextlib.contextmanager
def _haproxy(env: dict[str, str], log: Path, port: int) -> Iterator[None]:
    binary = shutil.which("haproxy")
    if binary is None:
        if IN_CI:
            pytest.fail("haproxy is not installed; .ci/run installs Debian's package")
        pytest.skip("haproxy is not installed")
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [binary, "-db", "-f", str(CONFIG)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_WITHIN_S
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"HAProxy did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)  # polling for the listener, bounded by the deadline above
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _greens(port: int) -> int:
    """Of REQUESTS requests through the balancer, how many the green server answered."""
    count = 0
    for _ in range(REQUESTS):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as r:
            count += r.read() == b"green"
    return count


def test_the_api_traffic_follows_the_deploy_through_haproxy(tmp_path: Path) -> None:
    blue, green = _stand_in("blue"), _stand_in("green")
    url = f"sqlite:///{tmp_path / 'rampart.db'}"
    db = open_database(url)
    try:
        clock = SimClock(0)
        clock.set(int(time.time() * 1000))  # the command line's clock is the wall's
        ShardLeases(db, "blue", clock, 600_000, version="v1").beat()
        ShardLeases(db, "green", clock, 600_000, version="v2", role="standby").beat()
    finally:
        db.dispose()
    weights, sock, port = tmp_path / "lb" / "weights.env", tmp_path / "admin.sock", _free_port()
    env = {
        "RAMPART_STORE__URL": url,
        "RAMPART_SCALE__LEASE_S": "600",
        "RAMPART_ROLLOUT__GATES": "[]",  # gated by its holds only here (gates: tests/rollout)
        "RAMPART_ROLLOUT__DEPLOY__BALANCER__WEIGHTS_FILE": str(weights),
        "RAMPART_ROLLOUT__DEPLOY__BALANCER__RUNTIME_API": f"unix:{sock}",
    }
    lb = {
        "RAMPART_LB_SOCKET": str(sock),
        "RAMPART_LB_BIND": f"127.0.0.1:{port}",
        "RAMPART_LB_BLUE1": f"127.0.0.1:{blue.server_port}",
        "RAMPART_LB_BLUE2": f"127.0.0.1:{blue.server_port}",
        "RAMPART_LB_GREEN1": f"127.0.0.1:{green.server_port}",
        "RAMPART_LB_GREEN2": f"127.0.0.1:{green.server_port}",
    }
    cli = CliRunner()

    def deploy(*args: str, code: int = 0) -> str:
        done = cli.invoke(app, ["deploy", *args], env=env)
        assert done.exit_code == code, done.output
        return done.output

    # Before any deploy, with HAProxy not yet running: the weights file sends nothing to green.
    said = deploy("balance", code=1)
    assert "did not answer" in said and f"The weights file {weights} has the new" in said
    try:
        with _haproxy({**lb, **_weights_env(weights)}, tmp_path / "haproxy.log", port):
            assert _greens(port) == 0
            said = deploy("start", "--to", "v2", "--holds", "0s,0s,0s")
            assert "10 % of the API requests to the new version" in said
            assert abs(_greens(port) - 10) <= TOLERANCE
            deploy("step")
            assert abs(_greens(port) - 50) <= TOLERANCE
        # HAProxy restarted from the weights file alone keeps the step's share.
        with _haproxy({**lb, **_weights_env(weights)}, tmp_path / "haproxy.log", port):
            assert abs(_greens(port) - 50) <= TOLERANCE
            deploy("step")
            assert _greens(port) == REQUESTS  # blue at weight 0: not one request
            said = deploy("rollback", "--reason", "test")
            assert "0 % of the API requests" in said
            assert _greens(port) == 0
    finally:
        blue.shutdown()
        green.shutdown()
    assert "RAMPART_LB_GREEN_WEIGHT=0" in weights.read_text()


def test_a_balancer_that_does_not_answer_is_said_in_a_sentence(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rampart.db'}"
    env = {
        "RAMPART_STORE__URL": url,
        "RAMPART_ROLLOUT__DEPLOY__BALANCER__RUNTIME_API": f"unix:{tmp_path / 'nobody.sock'}",
    }
    done = CliRunner().invoke(app, ["deploy", "balance"], env=env)
    assert done.exit_code == 1
    assert "HAProxy's runtime API at unix:" in done.output and "did not answer" in done.output
    assert "Traceback" not in done.output
