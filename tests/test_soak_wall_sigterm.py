"""A SIGTERM of ``rampart soak --wall`` (an operator's ``kill``, systemd's stop) ends the run
with the report of what ran so far: the final checks are bounded once it is told to stop, and
the signal is heard from the start of its setup on.

The wait on its exit is a bound (a hang fails instead of blocking CI), not a timing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from rampart_testkit.soak import remote
from rampart_testkit.soak.remote import RemoteSoak
from rampart_testkit.soak.stop_budget import StopBudget
from rampart_testkit.starve import WINDOW_S, Starve

EXIT_BOUND_S = 120
START_BOUND_S = 120


def _wall_run(tmp_path: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from rampart.cli.main import main; main()",
            "soak",
            "--wall",
            "20m",
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
    """Its store exists once the run listens for the signal (the handlers come before the
    setup)."""
    waited = 0
    while not (out / "soak.db").exists():
        assert proc.poll() is None, proc.communicate()[0]
        try:
            proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            waited += 1
        assert waited < START_BOUND_S * 2, "the wall run never opened its store"


@pytest.mark.slow
@pytest.mark.timeout(EXIT_BOUND_S + START_BOUND_S + 30)
def test_sigterm_of_a_wall_run_writes_the_report_of_what_ran(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _wall_run(tmp_path, out)
    _wait_for_store(proc, out)
    proc.send_signal(signal.SIGTERM)
    text, _ = proc.communicate(timeout=EXIT_BOUND_S)
    written = list(out.glob("*.json"))
    assert written, f"no report after the SIGTERM (exit {proc.returncode}): {text}"
    report = json.loads(written[0].read_text())
    assert report["run"]["interrupted"] is True, text
    assert any(out.glob("*.md")), text
    assert not report["passed"]
    assert proc.returncode == 1, text


class _Stuck:
    """What ``_finish_in_time`` reads of a run: its stop, its stats, and final checks that
    never end (an exchange that does not answer on a starved machine)."""

    def __init__(self, stopped: bool) -> None:
        self.stop = asyncio.Event()
        self.budget = StopBudget(self.stop)
        if stopped:
            self.budget.on_signal()
        self.stats = SimpleNamespace(crashes=[])
        self.finished = False

    async def _finish(self, reader: object) -> None:
        await asyncio.Event().wait()


def test_final_checks_after_a_stop_are_cut_short_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "STOPPED_FINISH_S", 0.05)
    run = _Stuck(stopped=True)
    bounded = asyncio.wait_for(RemoteSoak._finish_in_time(run, None), 30)  # type: ignore[arg-type]
    asyncio.run(bounded)  # a bound on a hang, not a timing
    assert len(run.stats.crashes) == 1 and "cut short" in run.stats.crashes[0]


def test_final_checks_of_a_run_not_stopped_are_not_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "STOPPED_FINISH_S", 0.05)
    run = _Stuck(stopped=False)

    async def go() -> bool:
        task = asyncio.create_task(RemoteSoak._finish_in_time(run, None))  # type: ignore[arg-type]
        done, _ = await asyncio.wait({task}, timeout=0.2)
        task.cancel()
        return bool(done)

    assert asyncio.run(go()) is False
    assert run.stats.crashes == []


STOP_BOUND_S = 10.0
"""SIGTERM to exit, with the report written: what the operators' guide promises."""
STARVED_S = 6.0
"""How long the run goes on starved before the signal (its setup and first candles)."""


@pytest.mark.slow
@pytest.mark.timeout(START_BOUND_S + 60)
def test_a_wall_run_starved_10x_ends_within_10s_of_sigterm_with_its_report(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    proc = _wall_run(tmp_path, out)
    _wait_for_store(proc, out)
    # The run and its simulator get a tenth of the CPU, as at 10x oversubscription.
    with Starve(proc.pid) as starved:
        ends = time.monotonic() + STARVED_S
        while time.monotonic() < ends and proc.poll() is None:
            time.sleep(WINDOW_S)  # the load's length, not a wait on an event
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
    assert json.loads(written[0].read_text())["run"]["interrupted"] is True, text
    assert any(out.glob("*.md")), text
    print(f"starved 10x: exit {took:.2f} s after SIGTERM, report written")
