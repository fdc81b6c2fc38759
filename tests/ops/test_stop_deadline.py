"""SIGTERM ends a fleet process whatever its event loop waits on (issue 69, goal 4).

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


def _run(mode: str) -> tuple[int, str, str]:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVICE, str(port), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
