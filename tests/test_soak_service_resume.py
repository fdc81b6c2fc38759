"""A service soak resumed after a host restart: the soak and its processes killed at once
(SIGKILL to the whole process group, as a host that went down), the same command started again
continues the day where it stopped, and the report covers both parts; and the judge of the part
before the restart, against the simulator's last record of its trades.

Waits are bounds on a process (a hang fails instead of blocking), never timings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rampart_testkit.soak_service.evidence import Part
from rampart_testkit.soak_service.state import REPAIR_MS, SETTLE_MS, earlier_part, split_books

RUN_BOUND_S = 240
ARGS = ("--hours", "2", "--kills", "0", "--faults", "none", "--backup-every", "0.5")


def _soak(tmp: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from rampart.cli.main import main; main()",
            "soak",
            "--service",
            "--out",
            str(tmp / "out"),
            "--report",
            str(tmp / "report.md"),
            *ARGS,
        ],
        cwd=tmp,
        env=dict(os.environ, COLUMNS="200"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the "host" killed at once
    )


def _row(text: str, starts: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| {starts}"))


@pytest.mark.slow
@pytest.mark.timeout(2 * RUN_BOUND_S + 30)
def test_a_run_killed_with_its_host_resumes_into_one_report_of_both_parts(
    tmp_path: Path,
) -> None:
    saved = tmp_path / "out" / "service" / "soak-state.json"
    first = _soak(tmp_path)
    assert first.stdout is not None
    for line in first.stdout:  # an hour of the day done and the simulator's record saved
        hours = line.split(" of ", 1)[0]
        if hours.replace(".", "", 1).isdigit() and float(hours) >= 0.8:
            state = json.loads(saved.read_text())
            if state["record_ms"] and any(state["sim_trades"].values()):
                break
    else:
        pytest.fail(f"the soak ended before the restart: {first.wait()}")
    os.killpg(first.pid, signal.SIGKILL)  # the soak, the service and the simulator at once
    first.wait(timeout=30)
    assert not (tmp_path / "report.md").exists()

    second = _soak(tmp_path)
    out, _ = second.communicate(timeout=RUN_BOUND_S)
    report = (tmp_path / "report.md").read_text()
    assert "Resumed once after a host restart" in report, out + report
    assert "Service starts: 2" in report, report
    assert "host restart" in _row(report, "1 |") and "| stop |" in _row(report, "2 |"), report
    simulated = float(report.split("- Simulated: ", 1)[1].split(" h", 1)[0])
    assert simulated >= 2.0, report
    recon = _row(report, "100 % reconciliation")
    assert "| PASS |" in recon and "across 2 parts" in recon, report
    matched = int(recon.split("| PASS | ", 1)[1].split("/", 1)[0])
    assert matched > 0, report
    assert "| PASS |" in _row(report, "0 critical failures"), report
    assert "| PASS |" in _row(report, "audit chain intact"), report
    assert json.loads(saved.read_text())["status"] == "done"


def test_the_part_before_a_restart_is_judged_up_to_the_simulator_s_last_record() -> None:
    record = 100 * 60_000
    early, late = record - SETTLE_MS - 1, record - SETTLE_MS + 1
    part = Part(
        resumed_at="2026-11-29 15:00 UTC",
        business_ms=record + 60_000,
        record_ms=record,
        sim_trades={"sim-1": [["1", early], ["2", early], ["3", late]]},
        book_fills={"sim-1": [["c1:1", early], ["c2:2", early], ["c4:4", late]]},
    )
    assert earlier_part(part) == (2, [], [], 2)  # 3 and 4: after the record's settled part
    part.book_fills["sim-1"].pop(1)
    part.book_fills["sim-1"].append(["c9:9", early])
    assert earlier_part(part) == (1, ["sim-1:2"], ["sim-1:9"], 2)


def test_the_last_part_s_fills_are_those_no_earlier_part_held() -> None:
    restart = 100 * 60_000
    part = Part("t", restart, 0, {}, {"sim-1": [["c1:1", 0]]})
    book = {"sim-1": [["c1:1", 0], ["c7:1", restart], ["c8:2", restart + 60_000]]}
    assert split_books(book, [part]) == ({"sim-1": ["1", "2"]}, [])


def test_only_a_repair_just_after_a_restart_is_the_restart_s_and_not_a_phantom_fill() -> None:
    restart = 100 * 60_000
    part = Part("t", restart, 0, {}, {})
    soon, later = restart + REPAIR_MS // 2, restart + REPAIR_MS + 60_000
    book = {"sim-1": [["adj-1-BTCUSDT-1", soon], ["adj-2-BTCUSDT-2", later]]}
    trades, repairs = split_books(book, [part])
    assert repairs == ["sim-1:adj-1-BTCUSDT-1"]
    assert trades == {"sim-1": ["adj-2-BTCUSDT-2"]}  # judged: the simulator never made it
