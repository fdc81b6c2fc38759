"""``rampart run`` on ``venue.kind: solana`` and ``feed.kind: solana``: the whole service trades
SOL/USDC through the stand-in's routes, on candles and price ticks made from the routes' own
quotes, with the swap journal on the store, the wallet from the settings, RPC metrics, and the
books equal to the chain's balances at the end.

The feed's clock is simulated: each of its sleeps moves the stand-in's pools one step along a
seeded random walk (the market moving between two quotes), so nothing waits on wall time for
candles; confirmations come from the stand-in's own slot timer (a few milliseconds a slot).
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console
from solders.keypair import Keypair

from rampart.agents import registry
from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.store.db import open_database
from rampart.wiring.service import Service
from rampart_testkit.soak.agent import ChurnAgent
from rampart_testkit.solana_sim import SolanaSimHandle, start_solana_sim

START = 1_767_225_600_000  # 2026-01-01 00:00 UTC
CANDLES = 24
POLL_S = 20


class MarketWalk(SimClock):
    """The feed's (and so business) clock. The feed's poll sleep moves time on by its
    interval and the stand-in's SOL/USDC one step; any other sleep on it (the scheduler, the
    alert engine) only yields, so time and the market move with the quotes alone."""

    def __init__(self, price: Decimal) -> None:
        super().__init__(START)
        self.sim: SolanaSimHandle | None = None
        self.price = price
        self.rng = random.Random(7)

    async def sleep(self, seconds: float) -> None:
        if seconds != POLL_S:
            await asyncio.sleep(0.001)
            return
        self.price *= Decimal(1) + Decimal(self.rng.gauss(0, 0.002)).quantize(Decimal("1e-6"))
        if self.sim is not None:
            self.sim.set_price("SOL/USDC", self.price)
        await super().sleep(seconds)


def _settings(tmp_path: Path, sim: SolanaSimHandle, kp: Keypair) -> Any:
    return load_settings(
        store={"url": f"sqlite:///{tmp_path / 'rampart.db'}", "checkpoint_every": 10},
        api={"port": 0},
        feed={"kind": "solana", "symbols": ["SOL/USDC"], "poll_every_s": POLL_S, "timeframe": "1m"},
        venue={"kind": "solana"},
        solana={
            "rpc_urls": [sim.rpc_url("a"), sim.rpc_url("b")],
            "jupiter_url": sim.jupiter_url,
            "jupiter_api_key": sim.jupiter_api_key,
            "bags_url": sim.bags_url,
            "bags_api_key": sim.api_key,
            "confirm_poll_s": 0.005,
            "probe_every_s": 1,
            "markets": {
                "SOL/USDC": {
                    "base_mint": sim.mint("SOL"),
                    "quote_mint": sim.mint("USDC"),
                }
            },
            "keypairs": {"churner": str(kp)},
        },
        accounts=[
            {
                "id": "churner",
                "agent": "churn",
                "profile": "aggressive",
                "capital": "1000",
                "symbols": ["SOL/USDC"],
                "params": {"every": 2, "hold": 4},
            }
        ],
    )


def test_run_trades_sol_through_the_routes_and_the_books_match_the_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry._AGENTS, "churn", ChurnAgent)
    kp = Keypair()
    result: dict[str, Any] = {}

    async def scenario() -> None:
        walk = MarketWalk(Decimal(150))
        # The chain's block times follow the market's (simulated) time, as the candles do.
        async with start_solana_sim(
            slot_ms=2, markets={"SOL/USDC": "150"}, clock=walk.now_ms
        ) as sim:
            walk.sim = sim
            sim.fund(str(kp.pubkey()), lamports=10**9, tokens={"USDC": 1000 * 10**6})
            service = Service(
                _settings(tmp_path, sim, kp),
                Console(file=(tmp_path / "screen.txt").open("w"), width=160),
                max_candles=CANDLES,
                view=False,
                feed_clock=walk,
                install_signals=False,
            )
            result["session"] = await service.run()
            result["state"] = sim.state()
            result["wallet"] = sim.state()["wallets"][str(kp.pubkey())]
            result["mints"] = (sim.mint("SOL"), sim.mint("USDC"))
            result["metrics"] = service.metrics
            result["end"] = walk.now_ms()

    asyncio.run(scenario())
    session = result["session"]
    engine = session.engine
    acct = engine.accounts["churner"]
    state = result["state"]
    sol, usdc = result["mints"]
    landed = [
        t
        for t in state["transactions"]
        if t["err"] is None and t["status"] in ("processed", "confirmed", "finalized")
    ]
    assert len(landed) >= 2, "the churn agent should have bought and sold through the routes"
    # Every swap that landed is one booked fill: none lost, none twice.
    assert acct.ledger.fills_booked == len(landed)
    assert engine.violations == 0
    # The books are the chain's balances, to the base unit.
    wallet = result["wallet"]
    assert acct.ledger.cash == Decimal(wallet["tokens"].get(usdc, 0)).scaleb(-6)
    position = acct.ledger.positions.get("SOL/USDC")
    held = Decimal(wallet["tokens"].get(sol, 0)).scaleb(-9)
    assert (position.qty if position else Decimal(0)) == held
    # The journal is on the store: one filled row per booked fill.
    db = open_database(f"sqlite:///{tmp_path / 'rampart.db'}")
    with db.connect() as conn:
        filled = conn.execute(
            sa.text("SELECT count(*) FROM solana_swaps WHERE status = 'filled'")
        ).scalar_one()
    assert filled == len(landed)
    # One clock: every fill is stamped on the candles' time axis, not the machine's.
    with db.connect() as conn:
        stamps = conn.execute(sa.text("SELECT ts FROM fills")).scalars().all()
    assert len(stamps) == len(landed)
    assert all(START <= ts <= result["end"] for ts in stamps), (START, stamps, result["end"])
    exported = result["metrics"].render()[0].decode()
    assert 'rampart_solana_swaps_total{outcome="filled"' in exported
    assert "rampart_solana_rpc_up" in exported
