"""SIGTERM ends a fleet process whatever its event loop waits on.

Found in a fleet run: a worker whose event loop waited on one synchronous read from a database
connection gone silent did not stop in 150 s of SIGTERM: the loop never turned to hear it. With
a deadline the signal is heard on a thread of its own, the graceful stop is asked of the loop as
before, and past the deadline the process ends by itself, saying why. Here the loop blocks on a
socket whose peer never answers; a loop that turns stops gracefully, as before."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

HANG_GUARD_S = 60.0
"""Only so that a broken test fails instead of hanging (the child's wait is 10 minutes)."""

SERVICE = """
import asyncio
import socket
import sys
from rampart.observability.logging import configure_logging
from rampart.runtime.shutdown import StopSignals

async def main(port: int, wedged: bool) -> None:
    configure_logging("info", "json")
    stop = asyncio.Event()
    with StopSignals(stop, deadline_s=0.5):
        print("ready", flush=True)
        if wedged:
            peer = socket.create_connection(("127.0.0.1", port))
            peer.settimeout(600)
            peer.recv(1)  # a call on the loop to a peer that never answers
        await stop.wait()
    print("stopped gracefully", flush=True)

asyncio.run(main(int(sys.argv[1]), sys.argv[2] == "wedged"))
"""


RUN = """
import asyncio
import socket
import sys
from rich.console import Console
from rampart.config import load_settings
from rampart.observability.logging import configure_logging
from rampart.wiring.service import Service

async def main(port: int, wedged: bool) -> None:
    configure_logging("info", "json")  # logs on stderr, the test reads stdout
    settings = load_settings(
        store={"url": "sqlite:///rampart.db"}, feed={"speed": 60.0}, api={"port": 0}
    )
    service = Service(settings, Console(file=sys.stderr), view=False)
    await service.open()
    session = service.session
    real = session.process
    told = []

    async def process(candle):
        if not told:
            told.append(candle)
            print("ready", flush=True)
            if wedged:
                peer = socket.create_connection(("127.0.0.1", port))
                peer.settimeout(600)
                peer.recv(1)  # the candle loop's call to a peer that never answers
        await real(candle)

    session.process = process

    async def opened() -> None:
        return None

    service.open = opened  # opened above: run() goes on from there
    await service.run()
    print("stopped gracefully", flush=True)

asyncio.run(main(int(sys.argv[1]), sys.argv[2] == "wedged"))
"""
"""``rampart run`` on the synthetic feed (a candle a second) and a store of its own; its first
candle says it is ready, then, wedged, blocks the loop on the silent peer."""


def _run(mode: str, script: str = SERVICE, cwd: Path | None = None) -> tuple[int, str, str]:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(port), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        if mode == "wedged":
            conn, _ = silent.accept()  # connected, and never a byte sent back
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        silent.close()
    return proc.returncode, out, err


def test_sigterm_ends_a_process_whose_loop_waits_on_a_silent_peer() -> None:
    code, out, err = _run("wedged")
    assert code == 128 + signal.SIGTERM
    assert "stop_deadline_passed" in err
    assert "stopped gracefully" not in out


def test_sigterm_on_a_loop_that_turns_stops_gracefully_as_before() -> None:
    code, out, _err = _run("idle")
    assert code == 0
    assert "stopped gracefully" in out


def test_sigterm_ends_rampart_run_whose_candle_loop_waits_on_a_silent_peer(tmp_path: Path) -> None:
    code, out, err = _run("wedged", RUN, tmp_path)
    assert code == 128 + signal.SIGTERM, err
    assert "stop_deadline_passed" in err + _logs(tmp_path)
    assert "stopped gracefully" not in out


def test_sigterm_on_rampart_run_that_turns_stops_gracefully_as_before(tmp_path: Path) -> None:
    code, out, err = _run("idle", RUN, tmp_path)
    assert code == 0, err
    assert "stopped gracefully" in out
    assert "Stopped cleanly" in err


def _logs(where: Path) -> str:
    """The service's own log files (``rampart run`` logs to ``var/`` under its directory)."""
    return "".join(p.read_text() for p in where.rglob("*.log"))
