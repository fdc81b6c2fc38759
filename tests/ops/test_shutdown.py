"""SIGTERM and SIGINT on a supervised process: stop, finish the work in hand, exit 0."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

# A small supervised service: one worker beating until stop, then persisting before it ends.
SERVICE = """
import asyncio
import sys
from rampart.clock import WallClock
from rampart.observability.logging import configure_logging
from rampart.runtime.shutdown import StopSignals
from rampart.runtime.supervisor import Supervisor

async def main() -> None:
    configure_logging("info", "json")  # logs on stderr, the test reads stdout
    stop = asyncio.Event()
    done = []

    async def worker(beat):
        print("ready", flush=True)
        while not stop.is_set():
            beat()
            await asyncio.sleep(0.01)
        print("draining", flush=True)
        # In-flight work, still going when the second signal lands; the test ends it.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        done.append("persisted")

    sup = Supervisor(
        WallClock(), initial_backoff_s=0.1, max_backoff_s=1, stale_after_s=30, drain_timeout_s=60
    )
    sup.add("worker", worker)
    with StopSignals(stop) as signals:
        await sup.run(stop)
    print(f"stopped on {signals.received}: {done}", flush=True)

asyncio.run(main())
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_drains_the_work_in_hand_and_exits_zero(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVICE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(sig)
        assert proc.stdout.readline().strip() == "draining"
        proc.send_signal(sig)  # impatience while draining changes nothing
        out, err = proc.communicate("in-flight work done\n", timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip() == f"stopped on {sig.name}: ['persisted']"
    assert '"event": "stop requested"' in err and '"event": "already stopping' in err
