"""``rampart simulator`` from the command line: starts, serves, stops on Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from decimal import Decimal
from queue import Empty, Queue

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.cli.sim import parse_balances
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
    code = "from rampart.cli.main import main; main()"
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
        # A reader thread, because select() on the pipe cannot see lines already sitting in
        # the text wrapper's buffer; the bounded get() fails a hung process instead.
        queue: Queue[str] = Queue()
        reader = threading.Thread(
            target=lambda: [queue.put(line) for line in proc.stdout or ()], daemon=True
        )
        reader.start()
        for _ in range(20):
            try:
                line = queue.get(timeout=30)
            except Empty:
                raise AssertionError(f"no more start-up lines: {lines}") from None
            lines.append(line)
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            if found and url is None:
                url = found.group(0)
            if "Ctrl-C stops" in line:
                break
        assert url is not None, lines
        assert "api key" in " ".join(" ".join(lines).split()), lines
        with urllib.request.urlopen(f"{url}/sim/state", timeout=5) as resp:
            state = json.load(resp)
        assert state["accounts"]["sim-1"]["balances"]["USDT"]["free"] == "10000"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        reader.join(timeout=10)
        rest = []
        while not queue.empty():
            rest.append(queue.get())
        assert proc.returncode == 0 and "Simulator stopped." in "".join(rest)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
