"""bags.fm partner fees as its SDK reads and claims them: what a partner config earned (on
tokens launched with the partner key, never a share of swaps), and claiming it with the
transactions bags.fm builds, signed by the partner wallet and landed in order."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import base58
import httpx
import pytest
from solders.keypair import Keypair
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.domain.errors import DataError, VenueError
from rampart.security import wallets
from rampart.security.secrets import KeyBox, generate_key
from rampart.store.db import open_database
from rampart.venues.solana.partner import claim_partner_fees, partner_fees
from rampart.venues.solana.routes import BagsRoute
from rampart.venues.solana.rpc import RpcPool
from rampart.venues.solana.signing import Wallet
from rampart_testkit.solana_sim import start_solana_sim

from ..contracts.service_double import ServiceDouble
from ..contracts.shapes import fixture, shape_errors
from ..served_command import served
from .client_kit import aio
from .venue_kit import chain_sleep

D = Decimal


@aio
async def test_the_client_reads_the_documented_answers() -> None:
    stats, claim = fixture("bags", "partner_stats.json"), fixture("bags", "partner_claim_tx.json")
    svc = ServiceDouble(
        {
            ("GET", "/fee-share/partner-config/stats"): (200, stats["body"]),
            ("POST", "/fee-share/partner-config/claim-tx"): (200, claim["body"]),
        }
    )
    async with svc.client() as http:
        route = BagsRoute("https://public-api-v2.bags.fm/api/v1", http, "k")
        partner = stats["request"]["query"]["partner"]
        fees = await partner_fees(route, partner)
        [(tx, valid)] = await route.partner_claims(partner)
    assert (fees.claimed, fees.unclaimed) == (D("1.25"), D("0.0835"))
    raw = claim["body"]["response"]["transactions"][0]
    assert bytes(tx) == base58.b58decode(raw["transaction"])
    assert valid == raw["blockhash"]["lastValidBlockHeight"]
    assert svc.seen[0].query == stats["request"]["query"]
    assert svc.seen[1].body == claim["request"]["body"]


@aio
async def test_a_wrong_answer_is_a_sentence_not_a_crash() -> None:
    svc = ServiceDouble(
        {("GET", "/fee-share/partner-config/stats"): (200, {"success": True, "response": {}})}
    )
    async with svc.client() as http:
        route = BagsRoute("https://bags.test/api/v1", http, "k")
        with pytest.raises(DataError) as err:
            await partner_fees(route, "x")
    assert str(err.value) == "bags.fm answered something that is not partner fee figures."


@aio
async def test_the_stand_in_answers_in_the_documented_shapes_and_a_claim_lands() -> None:
    async with start_solana_sim(slot_ms=0) as sim, httpx.AsyncClient() as http:
        kp = Keypair()
        partner = str(kp.pubkey())
        sim.fund(partner, lamports=10**7)
        sim.accrue_partner_fees(partner, 500_000_000)
        key = {"x-api-key": sim.api_key}
        r = await http.get(
            sim.bags_url + "/fee-share/partner-config/stats",
            params={"partner": partner},
            headers=key,
        )
        assert shape_errors(fixture("bags", "partner_stats.json")["body"], r.json()) == []
        r = await http.post(
            sim.bags_url + "/fee-share/partner-config/claim-tx",
            json={"partnerWallet": partner},
            headers=key,
        )
        assert shape_errors(fixture("bags", "partner_claim_tx.json")["body"], r.json()) == []

        route = BagsRoute(sim.bags_url, http, sim.api_key)
        rpc = RpcPool([sim.rpc_url("a")], client=http)
        sent = await claim_partner_fees(route, rpc, Wallet(kp), "confirmed", chain_sleep(sim), 0.1)
        assert len(sent) == 1
        fees = await partner_fees(route, partner)
        assert (fees.claimed, fees.unclaimed) == (D("0.5"), D(0))
        assert sim.lamports(partner) == 10**7 + 500_000_000 - 5000  # less the network fee
        with pytest.raises(VenueError, match="No fees to claim"):
            await claim_partner_fees(route, rpc, Wallet(kp), "confirmed", chain_sleep(sim), 0.1)


def test_the_command_shows_a_stored_wallets_partner_fees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, key = f"sqlite:///{tmp_path / 'r.db'}", generate_key()
    kp = Keypair()
    db = open_database(url)
    wallets.store_keypair(db, KeyBox.from_text(key), "operator", kp, 1_700_000_000_000)
    db.dispose()
    for name, value in {
        "RAMPART_STORE__URL": url,
        "RAMPART_MASTER_KEY": key,
        "RAMPART_SOLANA__BAGS_API_KEY": "k-partner",
    }.items():
        monkeypatch.setenv(name, value)
    command = ["solana-sim", "--port", "0", "--slot-ms", "0", "--api-key", "k-partner"]
    with served(command) as sim:
        urls = json.dumps(["https://unused.invalid"])
        monkeypatch.setenv("RAMPART_SOLANA__BAGS_URL", f"{sim.url}/bags/api/v1")
        monkeypatch.setenv("RAMPART_SOLANA__RPC_URLS", urls)
        httpx.post(
            f"{sim.url}/sim/partner-fees",
            json={"partner": str(kp.pubkey()), "lamports": 83_500_000},
            timeout=5,
        )
        result = CliRunner().invoke(app, ["wallet", "partner-fees", "operator"])
        sim.interrupt()
    assert result.exit_code == 0, result.output
    assert str(kp.pubkey()) in result.output and "0.0835" in result.output
    assert str(kp) not in result.output  # the secret never shows
    monkeypatch.delenv("RAMPART_SOLANA__BAGS_API_KEY")
    result = CliRunner().invoke(app, ["wallet", "partner-fees", "operator"])
    assert result.exit_code != 0 and "set 'solana.bags_api_key'" in result.output
    assert "Traceback" not in result.output
