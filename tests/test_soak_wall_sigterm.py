"""A SIGTERM of ``rampart soak --wall`` (an operator's ``kill``, systemd's stop) ends the run
with the report of what ran so far: the final checks are bounded once it is told to stop, and
the signal is heard from the start of its setup on.

The wait on its exit is a bound (a hang fails instead of blocking CI), not a timing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

EXIT_BOUND_S = 120
START_BOUND_S = 120


@pytest.mark.slow
@pytest.mark.timeout(EXIT_BOUND_S + START_BOUND_S + 30)
def test_sigterm_of_a_wall_run_writes_the_report_of_what_ran(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
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
    # Its store exists once the run listens for the signal (the handlers come before the setup).
    waited = 0
    while not (out / "soak.db").exists():
        assert proc.poll() is None, proc.communicate()[0]
        try:
            proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            waited += 1
        assert waited < START_BOUND_S * 2, "the wall run never opened its store"
    proc.send_signal(signal.SIGTERM)
    text, _ = proc.communicate(timeout=EXIT_BOUND_S)
    report = json.loads(next(out.glob("*.json")).read_text())
    assert report["run"]["interrupted"] is True, text
    assert any(out.glob("*.md")), text
    assert not report["passed"]
    assert proc.returncode == 1, text
