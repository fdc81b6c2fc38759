"""Modes on the Solana venue: paper mode only on the loopback stand-in, testnet and live only on
the chain's own prices (``feed.kind: solana``), and the venue reconciled by the loop that reads
the chain's prices."""

from __future__ import annotations

import pytest

from rampart.config import load_settings
from rampart.domain.errors import ConfigError
from rampart.security.secrets import generate_key
from rampart.trading.reconcile.schedule import reconciled_by
from rampart.wiring.venue_kinds import VENUE_KINDS, check_trading_mode, mode_problems

LOCAL = ["http://127.0.0.1:8899/rpc/a", "http://localhost:8899/rpc/b"]
PG = "postgresql+psycopg://rampart@127.0.0.1:1/rampart"


def test_paper_mode_refuses_a_real_rpc_node() -> None:
    settings = load_settings(
        venue={"kind": "solana"},
        solana={
            "rpc_urls": ["http://127.0.0.1:8899/rpc/a", "https://rpc.example.org/"],
            "jupiter_api_key": "k",
        },
    )
    with pytest.raises(ConfigError) as err:
        check_trading_mode(settings)
    assert err.value.message == (
        "Mode paper would send real swaps through https://rpc.example.org/: point "
        "'solana.rpc_urls' at the stand-in (`rampart solana-sim`), or set 'mode' to testnet "
        "(devnet) or live."
    )


def test_paper_mode_on_the_loopback_stand_in_is_accepted() -> None:
    settings = load_settings(
        venue={"kind": "solana"}, solana={"rpc_urls": LOCAL, "jupiter_api_key": "k"}
    )
    assert mode_problems(settings) == []


def test_a_solana_venue_with_no_route_key_is_refused_in_one_sentence() -> None:
    settings = load_settings(venue={"kind": "solana"}, solana={"rpc_urls": LOCAL})
    assert [p.sentence for p in mode_problems(settings)] == [
        "The solana venue has no route it can ask: set 'solana.jupiter_api_key' (Jupiter "
        "answers only with a key) or 'solana.bags_api_key'."
    ]
    bags_alone = load_settings(
        venue={"kind": "solana"}, solana={"rpc_urls": LOCAL, "bags_api_key": "b"}
    )
    assert mode_problems(bags_alone) == []


@pytest.mark.parametrize("mode", ["testnet", "live"])
def test_exchange_modes_trade_on_the_chains_own_prices(mode: str) -> None:
    base = {
        "mode": mode,
        "master_key": generate_key(),
        "store": {"url": PG},
        "solana": {"jupiter_api_key": "k"},
    }
    wrong = load_settings(venue={"kind": "solana"}, feed={"kind": "synthetic"}, **base)
    assert [p.sentence for p in mode_problems(wrong)] == [
        f"Mode {mode} must trade on the chain's own prices, not synthetic candles: set "
        "'feed.kind' to solana."
    ]
    right = load_settings(venue={"kind": "solana"}, feed={"kind": "solana"}, **base)
    assert mode_problems(right) == []
    # A ccxt venue still needs the exchange's candles, not the chain's prices.
    ccxt = load_settings(venue={"kind": "ccxt"}, feed={"kind": "solana"}, **base)
    assert "set 'feed.kind' to ccxt" in mode_problems(ccxt)[0].sentence


def test_the_solana_venue_is_reconciled_by_the_loop_that_reads_its_prices() -> None:
    solana = VENUE_KINDS["solana"]
    assert (solana.own_books, solana.feed) == (True, "solana")
    assert reconciled_by(solana.own_books, live_feed=True) == "exchange loop"
    assert reconciled_by(solana.own_books, live_feed=False) == "reconcile loop"
    assert reconciled_by(VENUE_KINDS["paper"].own_books, live_feed=True) is None


def test_doctor_says_where_swaps_go_and_what_is_reconciled() -> None:
    from rampart.wiring.doctor import check_mode, check_reconciliation

    keys = {"bags_api_key": "b", "jupiter_api_key": "j"}
    settings = load_settings(
        venue={"kind": "solana"}, feed={"kind": "solana"}, solana={"rpc_urls": LOCAL, **keys}
    )
    assert check_mode(settings).message == (
        "paper: swaps through bags, jupiter on Solana (2 RPC nodes), on the chain's own prices."
    )
    # A route without its key is not asked, and no key at all is the refusal run would print.
    bags_only = load_settings(
        venue={"kind": "solana"},
        feed={"kind": "solana"},
        solana={"rpc_urls": LOCAL, "bags_api_key": "b"},
    )
    assert "swaps through bags on Solana" in check_mode(bags_only).message
    keyless = load_settings(
        venue={"kind": "solana"}, feed={"kind": "solana"}, solana={"rpc_urls": LOCAL}
    )
    assert check_mode(keyless).message.startswith("The solana venue has no route it can ask")
    assert check_reconciliation(settings).message.startswith(
        "the wallets' balances on chain are reconciled at start"
    )
