"""The service soak's clock step: a process started through the clock shim reads the host clock
moved by the offset the run writes, and back when it writes 0; the monotonic clock is left alone."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rampart_testkit.soak_service.clock_shim import offset_reader

PROBE = """
import sys, time
from pathlib import Path
from rampart_testkit.soak_service.clock_shim import install
install(Path(sys.argv[1]))
print(time.time_ns() // 1_000_000, int(time.time() * 1000), time.monotonic())
"""


def _probe(offset_file: Path) -> tuple[int, int]:
    before = time.time_ns() // 1_000_000
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(offset_file)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    return int(out[0]) - before, int(out[1]) - before


def test_a_process_started_through_the_shim_sees_the_host_clock_stepped(tmp_path: Path) -> None:
    offset = tmp_path / "clock-offset-ms"
    offset.write_text("-60000")
    ns_step, s_step = _probe(offset)
    # Set back a minute, less the few hundred ms the probe took to start.
    assert -60_000 <= ns_step < -50_000 and -60_000 <= s_step < -50_000
    offset.write_text("0")
    ns_step, s_step = _probe(offset)
    assert 0 <= ns_step < 10_000 and 0 <= s_step < 10_000


def test_the_offset_is_read_again_and_a_missing_or_bad_file_is_no_step(tmp_path: Path) -> None:
    path = tmp_path / "clock-offset-ms"
    read = offset_reader(path)
    assert read() == 0
    path.write_text("1500")
    deadline = time.monotonic() + 5
    while read() == 0 and time.monotonic() < deadline:  # read again within REREAD_S
        time.sleep(0.05)
    assert read() == 1_500_000_000
    path.write_text("soon")
    deadline = time.monotonic() + 5
    while read() != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read() == 0
