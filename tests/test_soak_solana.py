"""The Solana soak: a short run (2 simulated hours, every stand-in fault, a crash right after a
swap is sent, tokens moved out by hand) through the real command line passes every launch
criterion, with each fault kind taking its turn; and the verification catches a swap booked
twice or never booked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rampart.domain.errors import ConfigError
from rampart_testkit.soak import solana_verify as verify
from rampart_testkit.soak.solana_faults import SOLANA_KINDS, parse_solana_faults

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_short_solana_soak_with_every_fault_passes_every_launch_criterion(
    tmp_path: Path,
) -> None:
    out = tmp_path / "soak"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rampart.cli.main",
            "soak",
            "--venue",
            "solana",
            "--duration",
            "2h",
            "--speed",
            "1000",
            "--faults",
            "all",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "soak-solana-report.json").read_text())
    assert report["passed"] is True
    failed = [c["name"] for c in report["criteria"] if not c["pass"]]
    assert failed == []
    assert report["lost"]["total"] == 0 and report["duplicated"]["total"] == 0
    assert report["protection"]["unprotected"] == 0
    assert report["protection"]["position_checks"] > 0
    recon = report["reconciliation"]
    assert recon["checks"] > 0 and recon["checks_passed"] == recon["checks"]
    assert report["memory"]["growth_pct"] < 2
    # Every kind had its episode in two hours, and trading went on through them.
    assert set(report["fault_episodes"]) == set(SOLANA_KINDS)
    swaps = report["swaps"]
    assert swaps["landed_clean"] > 20 and report["fills"] >= swaps["landed_clean"]
    harness = report["harness_faults"]
    assert harness["restarts"] >= 1 and harness["transfers"] == harness["transfers_external"]
    assert harness["node_outages"] == harness["failed_back"] >= 1
    assert "PASS" in done.stdout and "FAIL" not in done.stdout
    # Landing on the chain's own time, rebroadcasts included, and at mainnet's 400 ms a slot.
    landing = report["latency"]["landing"]
    assert landing["n"] == swaps["landed_clean"]
    slots = landing["slots"]
    assert 1 <= slots["p50"] <= slots["p99"] <= slots["max"]
    assert landing["ms_at_400ms_slots"]["p99"] == slots["p99"] * 400


class _Tx:
    def __init__(self, sig: str, err: object = None, landed: int | None = 10) -> None:
        self.signature, self.err, self.landed_slot, self.gone = sig, err, landed, landed is None
        self.sent_slot = 8


class _Rec:
    def __init__(self, sig: str, account: str = "soak-001") -> None:
        self.signature, self.account_id = sig, account


def _judge(booked: dict[str, int], txs: list[_Tx]) -> verify.SwapAccounting:
    book = verify.FillLedger()
    book.booked.update(booked)
    acc = verify.SwapAccounting()
    verify._judge("rp-x", [_Rec(t.signature) for t in txs], txs, book, acc)
    return acc


def test_a_clean_swap_must_be_booked_exactly_once() -> None:
    clean = _judge({"s1": 1}, [_Tx("s1")])
    assert clean.lost == 0 and clean.landing_slots == {2: 1}
    assert _judge({}, [_Tx("s1")]).lost_fills == 1
    assert _judge({"s1": 2}, [_Tx("s1")]).duplicated_fills == 1
    # A failed or never-landed attempt books nothing; two clean swaps for one id is a double.
    failed = _judge({"s1": 1}, [_Tx("s1", err={"InstructionError": [1, {"Custom": 6001}]})])
    assert failed.phantom_fills == 1
    assert _judge({"s1": 1}, [_Tx("s1", landed=None)]).phantom_fills == 1
    assert _judge({"s1": 1, "s2": 1}, [_Tx("s1"), _Tx("s2")]).duplicated_orders == 1


def test_fault_kinds_are_parsed_in_plain_words() -> None:
    assert parse_solana_faults("all") == SOLANA_KINDS
    assert parse_solana_faults("none") == ()
    assert parse_solana_faults("down, restart") == ("down", "restart")
    with pytest.raises(ConfigError, match="Unknown Solana fault kind"):
        parse_solana_faults("down,meteor")
