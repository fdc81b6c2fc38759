"""The scale-out stack: deploy/scale/docker-compose.yml cannot run here (no container
engine), so its services' commands are checked against deploy/scale/plain.sh, and the script is
run: a feed, three workers and two API servers on PostgreSQL and a NATS server it starts
itself. Every shard is held, both servers are ready, one is killed and the other still
answers, and `plain.sh stop` leaves nothing running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from rampart.security.tokens import create_token
from rampart.store.db import open_database
from rampart.store.leases import OPS, lease_table

ROOT = Path(__file__).resolve().parents[2]
SCALE = ROOT / "deploy" / "scale"
PLAIN = SCALE / "plain.sh"
COMPOSE = SCALE / "docker-compose.yml"
RAMPART = str(Path(sys.executable).with_name("rampart"))
HANG_GUARD_S = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _plain(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", str(PLAIN), *args], capture_output=True, text=True, timeout=180, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_compose_file_starts_what_the_plain_script_starts() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    from_compose = {
        name: " ".join(service["command"])
        for name, service in compose.items()
        if service.get("image") == "rampart:latest"
    }
    listed = _plain(["processes"], {**os.environ})
    from_script = dict(line.split(" ", 1) for line in listed.strip().splitlines())
    assert from_compose == from_script
    for name in from_compose:
        if name.startswith("serve-"):
            port = name.removeprefix("serve-")
            assert compose[name]["environment"]["RAMPART_API__PORT"] == port
    settings = yaml.safe_load((SCALE / "rampart-scale.yaml").read_text())
    assert settings["scale"]["replicas"] == 1  # the compose file's cluster asks for 3
    assert compose["feed"]["environment"]["RAMPART_SCALE__REPLICAS"] == "3"


def _get(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as err:
        return err.code, None
    except OSError:
        return 0, None


def _wait_for(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what}")
        time.sleep(0.25)  # polling other processes, not an event of ours


def _ops_holder(db_url: str) -> int | None:
    """The pid of the server holding the live ops lease (its name ends with it)."""
    db = open_database(db_url)
    try:
        holder = lease_table(db, shards_only=False).get(OPS)
    finally:
        db.dispose()
    if holder is None or not holder.live(int(time.time() * 1000)):
        return None
    return int(holder.owner.rsplit("-", 1)[1])


def _shards(env: dict[str, str]) -> dict[str, Any]:
    shown = subprocess.run(
        [RAMPART, "shards", "--json"], capture_output=True, text=True, timeout=60, env=env
    )
    return json.loads(shown.stdout) if shown.returncode == 0 else {"shards": []}


@pytest.mark.slow
def test_the_plain_stack_runs_and_survives_losing_a_server(tmp_path: Path, pg_url: str) -> None:
    settings = yaml.safe_load((SCALE / "rampart-scale.yaml").read_text())
    settings["scale"]["shards"] = 6
    settings["log_format"] = "console"
    config = tmp_path / "scale.yaml"
    config.write_text(yaml.safe_dump(settings))
    ports = [_free_port(), _free_port()]
    env = {
        **os.environ,
        "RAMPART_CONFIG": str(config),
        "RAMPART_STORE__URL": pg_url,
        "RAMPART_RUN_DIR": str(tmp_path / "run"),
        "RAMPART_BIN": RAMPART,
        "NATS_PORT": str(_free_port()),
        "SERVE_PORTS": " ".join(map(str, ports)),
    }
    try:
        _plain(["start"], env)
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        _wait_for(
            "both servers ready", lambda: all(_get(f"{u}/health/ready")[0] == 200 for u in urls)
        )
        _wait_for(
            "every shard held by the three workers",
            lambda: (
                {s["owner"] for s in _shards(env)["shards"] if s["live"]}
                == {"worker-1", "worker-2", "worker-3"}
            ),
        )
        db = open_database(pg_url)
        try:
            token = create_token(db, "admin", None, "ops", int(time.time() * 1000))
        finally:
            db.dispose()
        # One server runs the scheduler (reports, backups), on the ops lease; kill that one.
        pids = tmp_path / "run" / "pids"
        serving = {int((pids / f"serve-{port}").read_text()): port for port in ports}
        _wait_for("the ops lease held", lambda: _ops_holder(pg_url) in serving)
        holder = _ops_holder(pg_url)
        os.kill(holder, signal.SIGKILL)
        other = next(port for pid, port in serving.items() if pid != holder)
        status, shown = _get(f"http://127.0.0.1:{other}/api/v1/admin/accounts", token)
        assert status == 200 and len(shown["accounts"]) == 3  # the three demo accounts
        assert _get(f"http://127.0.0.1:{serving[holder]}/health")[0] == 0  # the killed one
        _wait_for(
            "the other server to take the ops lease",
            lambda: _ops_holder(pg_url) not in (None, holder),
        )
    finally:
        stopped = _plain(["stop"], env)
    assert "stopped" in stopped
    assert not list((tmp_path / "run" / "pids").iterdir())
    table = _shards(env)["shards"]
    assert table and not any(s["live"] for s in table)  # every shard handed back on the way out
