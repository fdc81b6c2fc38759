"""``rampart preflight`` on a Binance venue, run as a user runs it, against a loopback server
that answers with Binance's documented answers (``tests/preflight/loopback.py``): every check
passes on them; each wrong shape, refusal or unreadable body fails its own check with one
sentence and exit 1; a closed port is "cannot reach", exit 2. Only reads are ever sent."""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app

from .conftest import API_KEY, SECRET, ccxt_settings, write
from .loopback import Loopback, binance_fixture, closed_port

runner = CliRunner()


def preflight(tmp_path: Path, settings: dict[str, Any], *args: str) -> Any:
    path = write(tmp_path / "rampart.yaml", settings)
    return runner.invoke(app, ["preflight", "--config", str(path), *args])


def checks_of(tmp_path: Path, url: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """Exit code and the checks by name, from ``--json``."""
    result = preflight(tmp_path, ccxt_settings(url), "--json")
    body = json.loads(result.stdout)
    assert body["exit_code"] == result.exit_code
    return result.exit_code, {c["name"]: c for c in body["checks"]}


def test_the_documented_answers_pass_every_check_with_reads_only(
    tmp_path: Path, loopback: Loopback
) -> None:
    result = preflight(tmp_path, ccxt_settings(loopback.url))
    assert result.exit_code == 0, result.output
    host = loopback.url.removeprefix("http://")
    for name in ("server time", "exchange info", "balance of alice"):
        assert name in result.stdout
    assert result.stdout.count(" OK ") == 3 and host in result.stdout
    assert "All 3 checks passed" in result.stdout
    # Reads only: the time, the markets and the account; never an order.
    assert {(s.method, s.path) for s in loopback.seen} == {
        ("GET", "/api/v3/time"),
        ("GET", "/api/v3/exchangeInfo"),
        ("GET", "/api/v3/account"),
    }
    # The account is read signed, with the key in the header the fixtures document.
    account = loopback.asked("/api/v3/account")[0]
    assert account.headers["x-mbx-apikey"] == API_KEY and "signature" in account.query
    assert API_KEY not in result.output and SECRET not in result.output


def _symbol(change: Any) -> Any:
    info = binance_fixture("exchange_info")
    change(info["symbols"][0])
    return info


def _without(key: str) -> Any:
    return lambda d: d.pop(key)


def _account(change: Any) -> Any:
    body = copy.deepcopy(binance_fixture("account"))
    change(body)
    return body


WRONG = [
    pytest.param(
        "binance:exchangeInfo",
        (200, _symbol(_without("filters"))),
        "exchange info",
        "BTC/USDT: its exchangeInfo entry has no filters (tick size, lot size, minimum notional).",
        id="exchangeInfo-without-filters",
    ),
    pytest.param(
        "binance:exchangeInfo",
        (200, _symbol(lambda s: s.update(filters=[f for f in s["filters"][1:]]))),
        "exchange info",
        "BTC/USDT: its exchangeInfo lacks the price filter (PRICE_FILTER with tickSize).",
        id="exchangeInfo-without-price-filter",
    ),
    pytest.param(
        "binance:exchangeInfo",
        (200, _symbol(lambda s: s.update(status="BREAK"))),
        "exchange info",
        "BTC/USDT: it is not trading (status BREAK).",
        id="symbol-not-trading",
    ),
    pytest.param(
        "binance:exchangeInfo",
        (200, b"<html><body>502 Bad Gateway</body></html>"),
        "exchange info",
        "binance answered exchange info that is not JSON.",
        id="exchangeInfo-not-json",
    ),
    pytest.param(
        "binance:time",
        (200, {"time": 1499827319559}),
        "server time",
        "binance answered the time without serverTime in milliseconds.",
        id="time-without-serverTime",
    ),
    pytest.param(
        "binance:time",
        (200, b"maintenance"),
        "server time",
        "binance answered the time with something that is not JSON.",
        id="time-not-json",
    ),
    pytest.param(
        "binance:account",
        (200, _account(_without("balances"))),
        "balance of alice",
        "The account answer has no balances list.",
        id="account-without-balances",
    ),
    pytest.param(
        "binance:account",
        (200, _account(lambda b: b["balances"][0].pop("free"))),
        "balance of alice",
        "A balance in the account answer is not {asset, free, locked}.",
        id="balance-without-free",
    ),
    pytest.param(
        "binance:account",
        (200, _account(lambda b: b.update(canTrade=False))),
        "balance of alice",
        "This key reads the account but may not trade (canTrade is not true).",
        id="key-cannot-trade",
    ),
    pytest.param(
        "binance:account",
        (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}),
        "balance of alice",
        "binance refused the API key or its signature; check the key, the secret and their "
        "permissions.",
        id="key-refused",
    ),
]


@pytest.mark.parametrize(("endpoint", "answer", "check", "sentence"), WRONG)
def test_each_wrong_answer_fails_its_check_with_one_sentence(
    tmp_path: Path,
    loopback: Loopback,
    endpoint: str,
    answer: tuple[int, Any],
    check: str,
    sentence: str,
) -> None:
    loopback.answer(endpoint, *answer)
    code, checks = checks_of(tmp_path, loopback.url)
    assert code == 1
    assert checks[check]["result"] == "FAIL" and checks[check]["reached"]
    assert checks[check]["sentence"] == sentence
    others = [c for name, c in checks.items() if name != check]
    # The testnet publishes no key restrictions (see test_preflight_keys.py).
    assert all(c["result"] == "OK" or c["name"].startswith("key restr") for c in others), others


def test_a_clock_off_by_more_than_binance_accepts_fails_the_time_check(
    tmp_path: Path, loopback: Loopback
) -> None:
    # Binance's clock a minute behind this machine's: signed requests would be stamped in its
    # future. (A minute, so that how long the request takes cannot matter.)
    loopback.overrides["binance:time"] = lambda seen: (
        200,
        {"serverTime": time.time_ns() // 1_000_000 - 60_000},
    )
    code, checks = checks_of(tmp_path, loopback.url)
    assert code == 1
    sentence = checks["server time"]["sentence"]
    assert re.match(r"This machine's clock is \d+\.\d s ahead of the exchange's, so it ", sentence)
    assert sentence.endswith(
        "(it accepts 1 s ahead and 10 s behind): set this machine's clock (NTP)."
    )


def test_a_closed_port_cannot_be_reached_and_exits_2(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = preflight(tmp_path, ccxt_settings(url))
    assert result.exit_code == 2, result.output
    host = url.removeprefix("http://")
    assert result.stdout.count(f"Cannot reach {host}") == 3
    assert "Could not reach any of the venue's services" in result.stdout
    assert "Traceback" not in result.output


def test_without_keys_the_public_checks_run_and_the_balance_is_skipped(
    tmp_path: Path, loopback: Loopback
) -> None:
    settings = ccxt_settings(loopback.url)
    settings["venue"]["credentials"] = {}
    result = preflight(tmp_path, settings, "--json")
    body = json.loads(result.stdout)
    assert result.exit_code == 0
    assert [c["result"] for c in body["checks"]] == ["OK", "OK", "SKIP"]
    assert not loopback.asked("/api/v3/account")


def test_a_paper_venue_has_nothing_to_check(tmp_path: Path) -> None:
    result = preflight(tmp_path, {"venue": {"kind": "paper"}})
    assert result.exit_code == 2
    assert "venue.kind is paper, which calls no outside service" in result.output
    assert "Traceback" not in result.output
