"""``rampart preflight`` as a real process of the installed ``rampart`` script, its settings
file named by ``RAMPART_CONFIG`` as an operator's shell would: the table on the documented
answers, exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import API_KEY, SECRET, ccxt_settings, write
from .loopback import Loopback


def test_the_rampart_script_prints_the_table_and_exits_0(
    tmp_path: Path, loopback: Loopback
) -> None:
    script = Path(sys.executable).with_name("rampart")
    config = write(tmp_path / "testnet.yaml", ccxt_settings(loopback.url))
    env = {**os.environ, "RAMPART_CONFIG": str(config), "COLUMNS": "200"}
    done = subprocess.run(
        [str(script), "preflight"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if " OK " in line]
    assert [line.split("│")[1].strip() for line in lines] == [
        "server time",
        "exchange info",
        "balance of alice",
    ]
    assert "Preflight of the ccxt venue (testnet mode)" in done.stdout
    assert "All 3 checks passed" in done.stdout
    assert API_KEY not in done.stdout + done.stderr and SECRET not in done.stdout + done.stderr
