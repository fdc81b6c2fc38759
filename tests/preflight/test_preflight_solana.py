"""``rampart preflight`` on a Solana venue, against a loopback server answering with Jupiter's,
bags.fm's and the Solana JSON-RPC's published examples: every check passes on them; a quote
without ``outAmount``, a balance without lamports, an unhealthy node, a blockhash missing, a
body that is not JSON each fail their own check with one sentence and exit 1; a closed port is
"cannot reach", exit 2. Nothing is signed or sent: quotes and reads only."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app

from .conftest import BAGS_KEY, JUPITER_KEY, KEYPAIR, solana_settings, write
from .loopback import Loopback, closed_port, contract, rpc_fixture

runner = CliRunner()
ADDRESS = str(KEYPAIR.pubkey())


def preflight(tmp_path: Path, settings: dict[str, Any], *args: str) -> Any:
    path = write(tmp_path / "rampart.yaml", settings)
    return runner.invoke(app, ["preflight", "--config", str(path), *args])


def checks_of(tmp_path: Path, settings: dict[str, Any], *args: str) -> tuple[int, dict[str, Any]]:
    result = preflight(tmp_path, settings, "--json", *args)
    body = json.loads(result.stdout)
    assert body["exit_code"] == result.exit_code
    return result.exit_code, {c["name"]: c for c in body["checks"]}


def test_the_published_answers_pass_every_check_with_quotes_and_reads_only(
    tmp_path: Path, loopback: Loopback
) -> None:
    result = preflight(tmp_path, solana_settings(loopback.url))
    assert result.exit_code == 0, result.output
    for name in (
        "bags.fm quote",
        "Jupiter quote",
        "RPC getHealth",
        "RPC getLatestBlockhash",
        "balances of alice",
    ):
        assert name in result.stdout
    assert "All 5 checks passed" in result.stdout
    methods = {s.body["method"] for s in loopback.asked("/rpc")}
    assert methods == {"getHealth", "getLatestBlockhash", "getTokenAccountsByOwner", "getBalance"}
    assert not [s for s in loopback.seen if "swap" in s.path]  # no swap transaction asked for
    # Both are asked with their key in the header they document, with the parameters their
    # fixtures show; no key is ever shown.
    bags = loopback.asked("/bags/trade/quote")[0]
    assert bags.headers["x-api-key"] == BAGS_KEY and bags.query["slippageMode"] == "manual"
    jupiter = loopback.asked("/jupiter/quote")[0]
    assert jupiter.headers["x-api-key"] == JUPITER_KEY and jupiter.query["swapMode"] == "ExactIn"
    assert BAGS_KEY not in result.output and JUPITER_KEY not in result.output
    # The wallet is read by its public key, shown shortened.
    owner = next(s for s in loopback.asked("/rpc") if s.body["method"] == "getBalance")
    assert owner.body["params"][0] == ADDRESS
    assert f"{ADDRESS[:4]}…{ADDRESS[-4:]}" in result.stdout


def _quote_without_out(body: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(body)
    out.pop("outAmount")
    return out


def _rpc(name: str, change: Any, key: str | None = None) -> dict[str, Any]:
    body = copy.deepcopy(rpc_fixture(name, key))
    change(body)
    return body


WRONG = [
    pytest.param(
        "jupiter:quote",
        (200, _quote_without_out(contract("jupiter", "quote_exact_in.json")["body"])),
        "Jupiter quote",
        "Jupiter answered something that is not a quote.",
        id="jupiter-quote-without-outAmount",
    ),
    pytest.param(
        "bags:quote",
        (
            200,
            {
                "success": True,
                "response": _quote_without_out(
                    contract("bags", "quote_sell.json")["body"]["response"]
                ),
            },
        ),
        "bags.fm quote",
        "bags.fm answered something that is not a quote.",
        id="bags-quote-without-outAmount",
    ),
    pytest.param(
        "bags:quote",
        (200, b"<html>Cloudflare</html>"),
        "bags.fm quote",
        "bags.fm answered something that is not a quote.",
        id="bags-not-json",
    ),
    pytest.param(
        "jupiter:quote",
        (401, None),
        "Jupiter quote",
        "Jupiter refused the API key.",
        id="jupiter-key-refused",
    ),
    pytest.param(
        "rpc:getBalance",
        (200, _rpc("get_balance", lambda b: b["result"].pop("value"))),
        "balances of alice",
        "The Solana node answered a balance without lamports.",
        id="balance-without-lamports",
    ),
    pytest.param(
        "rpc:getTokenAccountsByOwner",
        (200, _rpc("get_token_accounts_by_owner", lambda b: b["result"].update(value={}))),
        "balances of alice",
        "The Solana node answered token accounts without a list of them.",
        id="token-accounts-not-a-list",
    ),
    pytest.param(
        "rpc:getLatestBlockhash",
        (200, _rpc("get_latest_blockhash", lambda b: b["result"]["value"].pop("blockhash"))),
        "RPC getLatestBlockhash",
        "The node answered getLatestBlockhash without a base58 blockhash and its "
        "lastValidBlockHeight.",
        id="blockhash-missing",
    ),
    pytest.param(
        "rpc:getHealth",
        (200, rpc_fixture("get_health", "unhealthy")),
        "RPC getHealth",
        "The node failed the getHealth call (Node is unhealthy).",
        id="node-unhealthy",
    ),
    pytest.param(
        "rpc:getHealth",
        (200, b"<html>gateway</html>"),
        "RPC getHealth",
        "The node failed the getHealth call (answered something that is not JSON).",
        id="rpc-not-json",
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
    code, checks = checks_of(tmp_path, solana_settings(loopback.url))
    assert code == 1
    assert checks[check]["result"] == "FAIL" and checks[check]["reached"], checks[check]
    assert checks[check]["sentence"] == sentence
    assert all(c["result"] == "OK" for n, c in checks.items() if n != check), checks


def test_a_closed_port_cannot_be_reached_and_exits_2(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = preflight(tmp_path, solana_settings(url))
    assert result.exit_code == 2, result.output
    assert result.stdout.count("Cannot reach 127.0.0.1:") == 4  # two quotes, a node, a wallet
    assert "Could not reach any of the venue's services" in result.stdout


def test_one_node_down_among_others_is_a_failure_not_offline(
    tmp_path: Path, loopback: Loopback
) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    settings = solana_settings(loopback.url, rpc=[f"{loopback.url}/rpc", down])
    result = preflight(tmp_path, settings, "--json")
    assert result.exit_code == 1
    rows = [
        (c["name"], c["endpoint"], c["result"], c["reached"])
        for c in json.loads(result.stdout)["checks"]
    ]
    up = f"{loopback.url.removeprefix('http://')}/rpc"
    assert ("RPC getHealth", up, "OK", True) in rows
    assert ("RPC getHealth", down.removeprefix("http://"), "FAIL", False) in rows
    assert ("balances of alice", up, "OK", True) in rows  # the node that is up served them


def test_wallets_come_from_keypairs_or_addresses_and_a_bad_address_is_one_sentence(
    tmp_path: Path, loopback: Loopback
) -> None:
    settings = solana_settings(loopback.url)
    settings["solana"]["keypairs"] = {}
    code, checks = checks_of(tmp_path, settings)
    assert code == 0 and checks["wallet balances"]["result"] == "SKIP"
    other = "83astBRguLMdt2h5U1Tpdq5tjFoJ6noeGwaY3mDLVcri"
    code, checks = checks_of(tmp_path, settings, "--wallet", other)
    assert code == 0 and checks["balances of 83as…Vcri"]["result"] == "OK"
    result = preflight(tmp_path, settings, "--wallet", "not-an-address")
    assert result.exit_code == 2
    assert "--wallet 'not-an-address' is not a Solana address" in result.output
    assert "Traceback" not in result.output


def test_a_route_listed_without_its_key_is_not_asked_and_says_so(
    tmp_path: Path, loopback: Loopback
) -> None:
    settings = solana_settings(loopback.url)
    del settings["solana"]["jupiter_api_key"]
    code, checks = checks_of(tmp_path, settings)
    assert code == 0
    assert checks["Jupiter quote"]["result"] == "SKIP"
    assert checks["Jupiter quote"]["sentence"] == (
        "Jupiter is listed but has no key (solana.jupiter_api_key): not asked."
    )
    assert checks["bags.fm quote"]["result"] == "OK" and not loopback.asked("/jupiter")
