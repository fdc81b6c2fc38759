"""``rampart simulator`` from the command line: starts, serves, stops on Ctrl-C."""

from __future__ import annotations

import json
import re
import select
import signal
import subprocess
import sys
import urllib.request
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from rampart.cli import app
from rampart.cli_sim import parse_balances
from rampart.domain.errors import RampartError


def test_balances_parse_amounts_and_assets() -> None:
    assert parse_balances(["10000USDT", "0.5btc", "1 BTC"]) == {
        "USDT": Decimal(10000),
        "BTC": Decimal("1.5"),
    }
    with pytest.raises(RampartError, match="10000USDT"):
        parse_balances(["USDT10000"])


def test_bad_options_are_one_sentence() -> None:
    result = CliRunner().invoke(app, ["simulator", "--speed", "-1"])
    assert result.exit_code == 2 and "--speed must be" in result.output
    result = CliRunner().invoke(app, ["simulator", "--balance", "lots"])
    assert result.exit_code == 2 and "A balance looks like" in result.output


def test_serves_until_interrupted() -> None:
    code = "from rampart.cli import main; main()"
    args = ["simulator", "--port", "0", "--speed", "0", "--accounts", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = None
        lines = []
        for _ in range(20):
            # Bounded wait for the start-up lines, so a hung process fails the test.
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            assert ready, lines
            line = proc.stdout.readline()
            lines.append(line)
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            if found and url is None:
                url = found.group(0)
            if "Ctrl-C stops" in line:
                break
        assert url is not None, lines
        assert any("api key" in line for line in lines)
        with urllib.request.urlopen(f"{url}/sim/state", timeout=5) as resp:
            state = json.load(resp)
        assert state["accounts"]["sim-1"]["balances"]["USDT"]["free"] == "10000"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "Simulator stopped." in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
