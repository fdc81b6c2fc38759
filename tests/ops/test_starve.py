"""The starvation helper gives a process tree a tenth of the CPU, as 10x oversubscription does,
without burning the rest: a busy child under it gets about a tenth of the CPU time it would
get alone, its own child too, and everything runs freely again afterwards; on a machine already
loaded it runs longer slices, so 10x stays 10x."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from rampart_testkit.starve import LOAD_ENV, Starve

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


def test_on_a_loaded_machine_the_tree_runs_longer_slices_to_keep_its_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 4x already (``make test-loaded``), 10x is 40 % of each window at a quarter of a core;
    a load past 10x starves it enough: it is never stopped, the windows still counted."""
    monkeypatch.setenv(LOAD_ENV, "4")
    assert Starve(1).running == pytest.approx(0.4)
    monkeypatch.setenv(LOAD_ENV, "not a number")
    assert Starve(1).running == pytest.approx(0.1)
    monkeypatch.delenv(LOAD_ENV)
    assert Starve(1).running == pytest.approx(0.1)
    monkeypatch.setenv(LOAD_ENV, "20")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with Starve(proc.pid, window_s=0.02) as starved:
            deadline = time.monotonic() + 30
            while starved.cycles < 3:
                assert time.monotonic() < deadline, "no window was counted"
                assert psutil.Process(proc.pid).status() != psutil.STATUS_STOPPED
                time.sleep(0.005)  # polling the helper's thread, not an event of ours
        assert starved.running == 1.0
    finally:
        proc.kill()
        proc.wait()
