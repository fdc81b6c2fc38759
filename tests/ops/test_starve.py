"""The starvation helper gives a process tree a tenth of the CPU, as 10x oversubscription does,
without burning the rest: a busy child under it gets about a tenth of the CPU time it would
get alone, its own child too, and everything runs freely again afterwards."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from rampart_testkit.starve import Starve

BUSY = (
    "import subprocess, sys; subprocess.Popen([sys.executable, '-c', 'while True: pass']); "
    "exec('while True: pass')"
)
LOAD_S = 2.0


def _cpu_s(tree: list[psutil.Process]) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in tree)


def test_a_starved_tree_gets_a_tenth_of_the_cpu_and_runs_freely_after() -> None:
    proc = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        root = psutil.Process(proc.pid)
        deadline = time.monotonic() + 30
        while not root.children():
            assert time.monotonic() < deadline, "the busy child never started"
            time.sleep(0.05)  # polling another process's start, not an event of ours
        tree = [root, *root.children()]
        with Starve(proc.pid) as starved:
            before, started = _cpu_s(tree), time.monotonic()
            time.sleep(LOAD_S)  # the load's length
            used, wall = _cpu_s(tree) - before, time.monotonic() - started
        # Two busy processes could use up to 2 x wall; starved, a tenth of that (the machine
        # may give them less, never more).
        assert used < 0.25 * 2 * wall, (used, wall)
        assert starved.cycles >= LOAD_S / starved.window_s / 2
        assert all(p.status() != psutil.STATUS_STOPPED for p in tree)
    finally:
        for child in psutil.Process(proc.pid).children():
            child.kill()
        proc.kill()
        proc.wait()
