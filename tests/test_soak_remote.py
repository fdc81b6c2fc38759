"""The remote soak, run as an operator runs it against a testnet: the exchange simulator is
started as a process of its own on 127.0.0.1 (as if it were the remote exchange: market time
on the wall clock, accounts made by it, funded with coins the soak did not buy), ``rampart
preflight`` checks it, and ``rampart soak --remote`` trades on it for a few seconds of wall
time through the settings alone (URL, keys, symbols, 1-second candles), with no simulator
control: the report's criteria pass and its figures agree with the exchange's own state."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from rampart.cli.main import app
from tests.served_command import served

ROOT = Path(__file__).resolve().parents[1]
SOAK = ROOT / "src" / "rampart_testkit" / "soak"
DURATION_S = 8
"""Wall time the soak trades: at 1-second candles, each account enters a few times."""


def settings_for(url: str, startup: list[str]) -> dict[str, Any]:
    keys = re.findall(r"account (\S+): api key (\S+) secret (\S+)", "".join(startup))
    assert len(keys) == 2, startup
    return {
        "mode": "testnet",
        "venue": {
            "kind": "ccxt",
            "exchange": "binance",
            "api_url": url,
            "rate_limit_ms": 5,  # the simulator takes requests faster than Binance's weights
            "credentials": {a: {"api_key": k, "secret": s} for a, k, s in keys},
        },
        "feed": {
            "kind": "ccxt",
            "symbols": ["BTC/USDT", "ETH/USDT"],
            "timeframe": "1s",
            "poll_every_s": 0.25,
            "stale_after_s": 5,
        },
    }


def simulator_state(url: str) -> Any:
    with urllib.request.urlopen(f"{url}/sim/state", timeout=10) as answer:
        return json.load(answer)


@pytest.mark.slow
def test_a_remote_soak_against_the_simulator_as_an_exchange_passes_on_its_answers(
    tmp_path: Path,
) -> None:
    simulator = [
        "simulator",
        "--port",
        "0",
        "--timeframe",
        "1s",
        "--accounts",
        "2",
        "--balance",
        "10000USDT",
        "--balance",
        "0.5BTC",  # coins on the account before the soak, as a testnet account has
    ]
    with served(simulator) as sim:
        config = tmp_path / "testnet.yaml"
        config.write_text(yaml.safe_dump(settings_for(sim.url, sim.startup)))
        checked = CliRunner().invoke(app, ["preflight", "--config", str(config)])
        assert checked.exit_code == 0, checked.output
        out = tmp_path / "soak"
        done = subprocess.run(
            [
                str(Path(sys.executable).with_name("rampart")),
                "soak",
                "--remote",
                "--config",
                str(config),
                "--duration",
                f"{DURATION_S}s",
                "--reconcile-every",
                "3s",
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "200"},
        )
        state = simulator_state(sim.url)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "soak-report.json").read_text())
    names = {c["name"]: c["pass"] for c in report["criteria"]}
    assert all(names.values()) and len(names) == 10, report["criteria"]
    for name in names:
        assert f"PASS  {name}" in done.stdout
    # It traded: orders and fills, every one of them on the exchange, none lost or twice.
    assert report["orders"] >= 4 and report["fills"] >= 2
    assert report["lost"]["total"] == 0 and report["duplicated"]["total"] == 0
    assert report["fills"] == report["fills_on_exchange"]
    assert report["orders_on_exchange"] >= report["orders"] - report["lost"]["unresolved"]
    rec = report["reconciliation"]
    assert rec["accuracy_pct"] == 100.0 and rec["checks"] >= 2 and rec["runs"]["start"] == 1
    # The coins already on the account were held apart, never traded or counted.
    assert rec["repairs"]["holdings_apart"] == 1
    assert report["protection"]["position_checks"] >= 1
    assert report["run"]["traded_s"] >= DURATION_S and not report["run"]["interrupted"]
    # Judged by what the exchange answered: only Binance's API was used, and no account was
    # made or funded (the simulator still has the two it started with).
    assert report["exchange"]["testnet"] and report["exchange"]["host"] == sim.url[7:]
    assert set(report["exchange"]["accounts"].values()) == {"sim-1", "sim-2"}
    assert state["requests"] and all(p.startswith("/api/v3/") for p in state["requests"])
    assert len(state["accounts"]) == 2
    md = (out / "soak-report.md").read_text()
    assert "launch plan's 24-hour testnet criteria" in md and "Overall: PASS" in md


def test_the_remote_soak_never_reaches_for_the_simulator() -> None:
    """No simulator control: the remote mode's modules import nothing of the simulator (what
    they know of the exchange is its API, through ccxt)."""
    for name in ("remote.py", "remote_venue.py", "remote_report.py"):
        tree = ast.parse((SOAK / name).read_text())
        imported = [
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        ] + [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
        assert not [m for m in imported if "simulator" in m or m.endswith("harness")], name


@pytest.mark.parametrize(
    ("settings", "args", "sentence"),
    [
        (
            {"venue": {"kind": "paper"}},
            [],
            "A remote soak trades on an exchange through ccxt",
        ),
        (
            {
                "mode": "live",
                "venue": {"kind": "ccxt", "credentials": {"a": {"api_key": "k", "secret": "s"}}},
            },
            [],
            "never on a live account",
        ),
        (
            {"mode": "testnet", "venue": {"kind": "ccxt"}},
            [],
            "API keys under venue.credentials; there are none",
        ),
        (
            {"mode": "testnet", "venue": {"kind": "ccxt"}},
            ["--faults", "all"],
            "--remote injects no faults",
        ),
        (
            {"mode": "testnet", "venue": {"kind": "ccxt"}},
            ["--speed", "100"],
            "--remote runs on the wall clock",
        ),
    ],
)
def test_a_remote_soak_that_cannot_run_says_why_in_one_sentence(
    tmp_path: Path, settings: dict[str, Any], args: list[str], sentence: str
) -> None:
    config = tmp_path / "rampart.yaml"
    config.write_text(yaml.safe_dump(settings))
    result = CliRunner().invoke(
        app, ["soak", "--remote", "--config", str(config), "--out", str(tmp_path), *args]
    )
    assert result.exit_code == 2
    assert sentence in result.output and "Traceback" not in result.output
