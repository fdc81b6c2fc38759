"""``rampart simulator`` from the command line: starts, serves, stops on Ctrl-C."""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.cli.sim import parse_balances
from rampart.domain.errors import RampartError
from tests.served_command import served


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
    with served(["simulator", "--port", "0", "--speed", "0", "--accounts", "1"]) as sim:
        assert "api key" in " ".join(" ".join(sim.startup).split()), sim.startup
        with urllib.request.urlopen(f"{sim.url}/sim/state", timeout=5) as resp:
            state = json.load(resp)
        assert state["accounts"]["sim-1"]["balances"]["USDT"]["free"] == "10000"
        rest = sim.interrupt()
        assert sim.proc.returncode == 0 and "Simulator stopped." in rest
