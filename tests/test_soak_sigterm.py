"""A SIGTERM of a plain ``rampart soak`` (simulated days, in one process) ends it within 10 s
with the report of what ran so far, also when the process is starved of CPU ten times: the
loop stops at the next candle and the final checks are bounded from the signal on.

The waits are bounds (a hang fails instead of blocking CI), not timings."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from rampart_testkit.soak import harness
from rampart_testkit.soak.harness import Soak
from rampart_testkit.soak.stop_budget import StopBudget
from rampart_testkit.starve import WINDOW_S, Starve

START_BOUND_S = 60
"""Until the run opens its store (its signal handlers come before its setup)."""
STOP_BOUND_S = 10.0
"""SIGTERM to exit, with the report written: what the operators' guide promises."""
STARVED_S = 4.0
"""How long the run goes on starved before the signal (its setup and first candles)."""


def _soak(tmp_path: Path, out: Path) -> subprocess.Popen[str]:
    """A small soak whose simulated length keeps it running long past the test."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from rampart.cli.main import main; main()",
            "soak",
            "--duration",
            "30d",
            "--accounts",
            "2",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        env=dict(os.environ, COLUMNS="200"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_store(proc: subprocess.Popen[str], out: Path) -> None:
    ends = time.monotonic() + START_BOUND_S
    while not (out / "soak.db").exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < ends, "the soak never opened its store"
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.2)


@pytest.mark.slow
@pytest.mark.timeout(START_BOUND_S + 40)
def test_a_soak_starved_10x_ends_within_10s_of_sigterm_with_its_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _soak(tmp_path, out)
    _wait_for_store(proc, out)
    # The run (simulator and engine in the one process) gets a tenth of the CPU, as at 10x
    # oversubscription.
    with Starve(proc.pid) as starved:
        ends = time.monotonic() + STARVED_S
        while time.monotonic() < ends and proc.poll() is None:
            time.sleep(WINDOW_S)  # the load's length, not a wait on an event
        assert proc.poll() is None, proc.communicate()[0]
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            text, _ = proc.communicate(timeout=STOP_BOUND_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            text, _ = proc.communicate()
            raise AssertionError(
                f"still running {STOP_BOUND_S:g} s after SIGTERM: {text}"
            ) from None
        took = time.monotonic() - sent
        assert starved.cycles >= STARVED_S / WINDOW_S / 2, starved.cycles
    written = list(out.glob("*.json"))
    assert written, f"no report after the SIGTERM (exit {proc.returncode}): {text}"
    report = json.loads(written[0].read_text())
    assert report["run"]["interrupted"] is True, text
    assert not report["passed"], text
    (md,) = out.glob("*.md")
    assert "stopped early" in md.read_text(), text
    assert "stopped early" in text, text
    assert proc.returncode == 1, text
    print(f"starved 10x: exit {took:.2f} s after SIGTERM, report written")


class _Stuck:
    """What ``_finish_in_time`` reads of a soak: its stop, its stats, and final checks that
    never end (a settle that never settles on a starved machine)."""

    def __init__(self, stopped: bool) -> None:
        self.stop = asyncio.Event()
        self.budget = StopBudget(self.stop)
        if stopped:
            self.budget.on_signal()
        self.stats = SimpleNamespace(crashes=[])

    async def _finish(self) -> None:
        await asyncio.Event().wait()


def test_final_checks_after_a_stop_are_cut_short_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "STOPPED_FINISH_S", 0.05)
    run = _Stuck(stopped=True)
    bounded = asyncio.wait_for(Soak._finish_in_time(run), 30)  # type: ignore[arg-type]
    asyncio.run(bounded)  # a bound on a hang, not a timing
    assert len(run.stats.crashes) == 1 and "cut short" in run.stats.crashes[0]


def test_final_checks_of_a_soak_not_stopped_are_not_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harness, "STOPPED_FINISH_S", 0.05)
    run = _Stuck(stopped=False)

    async def go() -> bool:
        task = asyncio.create_task(Soak._finish_in_time(run))  # type: ignore[arg-type]
        done, _ = await asyncio.wait({task}, timeout=0.2)
        task.cancel()
        return bool(done)

    assert asyncio.run(go()) is False
    assert run.stats.crashes == []
