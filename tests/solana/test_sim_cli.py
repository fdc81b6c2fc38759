"""``rampart solana-sim``: plain-words refusals of bad input, and a real run until Ctrl-C."""

from __future__ import annotations

import json
import socket
import urllib.request
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.domain.errors import RampartError
from rampart_testkit.solana_sim.markets import parse_market
from tests.served_command import served

from .sim_helpers import SOL, USDC


def test_market_specs_parse_or_say_what_they_should_look_like() -> None:
    assert parse_market(" sol/usdc = 150.5 ") == ("SOL/USDC", Decimal("150.5"))
    for bad in ("SOL/USDC", "SOLUSDC=1", "SOL/USDC=abc", "SOL/USDC=-1", "SOL/SOL=1"):
        with pytest.raises(RampartError):
            parse_market(bad)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--market", "SOL-USDC"], "A market looks like SOL/USDC=150"),
        (["--market", "SOL/USDC=cheap"], "is not a number"),
        (["--market", "SOL/USDC=0"], "must be a positive number"),
        (["--slot-ms", "-1"], "--slot-ms must be zero or a positive"),
        (["--port", "70000"], "--port must be between 0 and 65535"),
        (["--depth", "raydium=5"], "A depth looks like jupiter=1000000"),
        (["--fund", "not-a-key"], "is not a Solana public key"),
    ],
)
def test_bad_input_is_one_plain_sentence(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["solana-sim", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_port_in_use_is_one_plain_sentence() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["solana-sim", "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert f"cannot listen on port {port}" in result.output
    assert "Traceback" not in result.output


def test_serves_until_interrupted() -> None:
    args = [
        "solana-sim",
        "--port",
        "0",
        "--slot-ms",
        "0",
        "--market",
        "SOL/USDC=150",
        "--api-key",
        "k-123",
        "--fund",
        "11111111111111111111111111111112",
    ]
    with served(args) as sim:
        text, base = "".join(sim.startup), sim.url
        for shown in (
            f"{base}/rpc/a",
            f"{base}/rpc/b",
            f"{base}/jup/swap/v1",
            f"{base}/bags/api/v1",
            "Bags API key: k-123",
        ):
            assert shown in text, text
        with urllib.request.urlopen(f"{base}/sim/state", timeout=5) as resp:
            state = json.load(resp)
        funded = state["wallets"]["11111111111111111111111111111112"]
        assert funded["tokens"] == {SOL: 10 * 10**9, USDC: 10_000 * 10**6}
        assert set(state["pools"]) == {"SOL/USDC"}
        rest = sim.interrupt()
        assert sim.proc.returncode == 0 and "Solana stand-in stopped." in rest
