"""``rampart preflight`` reads each key's restrictions (Binance's
``GET /sapi/v1/account/apiRestrictions``): a key that can withdraw fails with one sentence naming
the account and what to turn off; a key not pinned to an IP address passes with a warning;
restrictions that cannot be read fail unless the operator accepts them, never a crash. Against
the exchange simulator (keys made safe and unsafe by the test) and against Binance's published
example (loopback)."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from rampart.cli.main import app
from rampart_testkit.simulator import start_simulator
from tests.contracts.binance.shapes import example, wire

from .conftest import ccxt_settings, write
from .loopback import Loopback

runner = CliRunner()


def _preflight(tmp_path: Path, settings: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    path = write(tmp_path / "rampart.yaml", settings)
    result = runner.invoke(app, ["preflight", "--config", str(path), "--json"])
    body = json.loads(result.stdout)
    return result, {c["name"]: c for c in body["checks"]} | {"exit": body["exit_code"]}


def _live(url: str, keys: dict[str, tuple[str, str]]) -> dict[str, Any]:
    settings = ccxt_settings(url)
    settings["mode"] = "live"  # Binance's testnet has no /sapi: restrictions are live-only
    settings["venue"]["credentials"] = {
        name: {"api_key": key, "secret": secret} for name, (key, secret) in keys.items()
    }
    settings["accounts"] = [{"id": name, "symbols": ["BTC/USDT"]} for name in keys]
    return settings


def test_the_simulators_keys_refused_warned_and_passed_as_they_may(tmp_path: Path) -> None:
    async def go() -> tuple[Any, dict[str, Any]]:
        async with start_simulator() as sim:
            await sim.advance(2)
            keys = {
                "safe": sim.create_account({"USDT": "100"}),
                "unpinned": sim.create_account({"USDT": "100"}, ip_restrict=False),
                "withdrawer": sim.create_account({"USDT": "100"}, withdrawals=True),
            }
            return await asyncio.to_thread(_preflight, tmp_path, _live(sim.url, keys))

    result, checks = asyncio.run(go())
    assert result.exit_code == 1 == checks["exit"]
    bad = checks["key restrictions of withdrawer"]
    assert bad["result"] == "FAIL"
    assert bad["sentence"].startswith("The key of withdrawer can withdraw funds: turn off ")
    assert "withdrawals for it on Binance's API management page" in bad["sentence"]
    warn = checks["key restrictions of unpinned"]
    assert warn["result"] == "WARN" and "not restricted to an IP address" in warn["sentence"]
    assert checks["key restrictions of safe"]["result"] == "OK"
    # The restrictions are checked after the balance, which passed for every key.
    assert all(checks[f"balance of {n}"]["result"] == "OK" for n in ("safe", "unpinned"))


def test_a_safe_key_passes_and_an_unpinned_one_only_warns(tmp_path: Path) -> None:
    async def go() -> tuple[Any, dict[str, Any]]:
        async with start_simulator() as sim:
            await sim.advance(2)
            keys = {"safe": sim.create_account({"USDT": "100"}),
                    "unpinned": sim.create_account({"USDT": "1"}, ip_restrict=False)}  # fmt: skip
            return await asyncio.to_thread(_preflight, tmp_path, _live(sim.url, keys))

    result, checks = asyncio.run(go())
    assert result.exit_code == 0, result.output
    assert "1 with a warning" in json.loads(result.stdout)["summary"]


def _published(loopback: Loopback, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    from .conftest import API_KEY, SECRET

    return _preflight(tmp_path, _live(loopback.url, {"alice": (API_KEY, SECRET)}))


def test_binances_published_examples_warn_and_refuse(tmp_path: Path, loopback: Loopback) -> None:
    # The published example: reading only, no IP restriction -> a warning, exit 0.
    result, checks = _published(loopback, tmp_path)
    assert checks["key restrictions of alice"]["result"] == "WARN"
    assert result.exit_code == 0
    asked = loopback.asked("/sapi/v1/account/apiRestrictions")
    assert len(asked) == 1 and "signature" in asked[0].query  # signed, as USER_DATA is
    # The same answer with withdrawals on: refused.
    withdrawing = wire(example("api_restrictions", "withdrawal-enabled")["response"])
    loopback.answer("binance:sapi/account/apiRestrictions", 200, withdrawing)
    result, checks = _published(loopback, tmp_path)
    assert checks["key restrictions of alice"]["result"] == "FAIL"
    assert "The key of alice can withdraw funds" in checks["key restrictions of alice"]["sentence"]
    assert result.exit_code == 1


def test_restrictions_that_cannot_be_read_fail_unless_accepted(
    tmp_path: Path, loopback: Loopback
) -> None:
    """Once, preflight exited 0 on a key whose restrictions could not be read, so a key
    that can withdraw got through. Refused now (exit 1) unless the operator accepts such keys
    in so many words (``venue.accept_unread_key_rights``)."""
    from .conftest import API_KEY, SECRET

    odd = copy.deepcopy(wire(example("api_restrictions")["response"]))
    del odd["enableWithdrawals"]
    for status, body in ((200, odd), (500, {"code": -1000, "msg": "An unknown error"}),
                         (200, b"<html>gateway</html>")):  # fmt: skip
        loopback.answer("binance:sapi/account/apiRestrictions", status, body)
        result, checks = _published(loopback, tmp_path)
        check = checks["key restrictions of alice"]
        assert check["result"] == "FAIL", (status, check)
        assert check["sentence"].startswith("The restrictions of alice's key could not be read")
        assert "set venue.accept_unread_key_rights" in check["sentence"]
        assert "Traceback" not in result.output and result.exit_code == 1
        accepting = _live(loopback.url, {"alice": (API_KEY, SECRET)})
        accepting["venue"]["accept_unread_key_rights"] = True
        result, checks = _preflight(tmp_path, accepting)
        assert checks["key restrictions of alice"]["result"] == "WARN", (status, checks)
        assert result.exit_code == 0
