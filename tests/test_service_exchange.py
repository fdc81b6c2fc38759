"""``rampart run`` with ``venue.kind: ccxt`` and ``feed.kind: ccxt``: the real ccxt client
trades against the exchange simulator on loopback, with the agents warmed on the exchange's
history, the books reconciled at start, every position protected on the exchange, and local
balances equal to the simulator's at the end.

The feed's clock reads the simulator's market time (the market advances on command here),
so nothing waits on the wall clock for candles.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from rampart.agents import registry
from rampart.clock import ms_to_datetime
from rampart.config import load_settings
from rampart.domain.orders import OrderRole
from rampart.security.secrets import generate_key
from rampart.wiring.service import Service
from rampart_testkit.simulator import start_simulator
from rampart_testkit.simulator.runner import SimulatorHandle
from rampart_testkit.simulator.streams import streams_of
from rampart_testkit.soak.agent import ChurnAgent

MINUTE = 60_000
HISTORY = 320


class MarketClock:
    """The simulator's market time; sleeping yields briefly instead of waiting."""

    def __init__(self, sim: SimulatorHandle) -> None:
        self.sim = sim

    def now_ms(self) -> int:
        return self.sim.exchange.now_ms

    def now(self) -> datetime:
        return ms_to_datetime(self.now_ms())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.005))


def _settings(tmp_path: Path, sim_url: str, key: str, secret: str) -> Any:
    return load_settings(
        mode="testnet",
        # A testnet trial on SQLite must say so; testnet also needs a master key.
        store={
            "url": f"sqlite:///{tmp_path / 'rampart.db'}",
            "checkpoint_every": 20,
            "allow_sqlite_on_exchange": True,
        },
        master_key=generate_key(),
        api={"port": 0},
        feed={"kind": "ccxt", "symbols": ["BTC/USDT"], "poll_every_s": 0.01},
        venue={
            "kind": "ccxt",
            "exchange": "binance",
            "api_url": sim_url,
            "request_timeout_s": 5,
            "credentials": {"churner": {"api_key": key, "secret": secret}},
        },
        accounts=[
            {
                "id": "churner",
                "agent": "churn",
                "profile": "aggressive",
                "capital": "10000",
                "symbols": ["BTC/USDT"],
                "params": {"every": 3, "hold": 6},
            }
        ],
    )


def test_run_trades_on_the_simulator_through_ccxt_and_books_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry._AGENTS, "churn", ChurnAgent)
    now = datetime.now(UTC).timestamp() * 1000
    start = (int(now) // MINUTE - HISTORY - 50) * MINUTE
    result: dict[str, Any] = {}

    async def scenario() -> None:
        async with start_simulator(symbols=["BTC/USDT"], start_ms=start) as sim:
            key, secret = sim.create_account({"USDT": "10000"}, account_id="churner")
            await sim.advance(HISTORY)
            service = Service(
                _settings(tmp_path, sim.url, key, secret),
                Console(file=(tmp_path / "screen.txt").open("w"), width=160),
                max_candles=40,
                view=False,
                feed_clock=MarketClock(sim),
                install_signals=False,
            )

            async def market() -> None:
                # One new candle whenever the service has traded the last one.
                while not service.stop.is_set():
                    done = service.state.processed
                    await sim.advance(1)
                    while service.state.processed == done and not service.stop.is_set():
                        await asyncio.sleep(0.005)

            async def started_market() -> None:
                while not service.opened.is_set() or not getattr(
                    service.exchange_loop, "warmed", False
                ):
                    if service.stop.is_set():
                        return
                    await asyncio.sleep(0.005)
                # The accounts' orders by websocket: the service opened the stream itself.
                streams = service.metrics.order_streams
                while streams.counts()["streaming"] < 1 and not service.stop.is_set():
                    await asyncio.sleep(0.005)
                result["ready"] = await service.health.ready()
                await market()

            session = (await asyncio.gather(service.run(), started_market()))[0]
            await sim.idle()
            result["state"] = sim.state()
            result["session"] = session
            result["loop"] = service.exchange_loop
            result["user_streams"] = streams_of(sim.context).opened
            result["metrics"] = service.metrics.render()[0].decode()

    asyncio.run(scenario())
    session = result["session"]
    engine = session.engine
    acct = engine.accounts["churner"]
    assert result["loop"].reconciler.runs >= 1
    # Orders and fills came by the account's stream, which the service started and stopped.
    assert result["user_streams"] >= 1
    assert not session.venue.streams.running
    ready, checks = result["ready"]
    by_name = {c.name: c for c in checks}
    assert ready and by_name["order streams"].detail.startswith("1 accounts streaming, 0 polling")
    assert by_name["feed websocket"].ok and not by_name["order streams"].required
    assert 'rampart_order_stream_accounts{state="streaming",venue="binance"}' in result["metrics"]
    assert engine.violations == 0, "a position was open without a live stop-loss"
    venue_state = result["state"]["accounts"]["churner"]
    assert result["state"]["orders"] > 0, "the churn agent should have traded"
    free_usdt = Decimal(venue_state["balances"]["USDT"]["free"])
    locked_usdt = Decimal(venue_state["balances"]["USDT"]["locked"])
    assert acct.ledger.cash == free_usdt + locked_usdt
    btc = venue_state["balances"].get("BTC", {"free": "0", "locked": "0"})
    held = Decimal(btc["free"]) + Decimal(btc["locked"])
    position = acct.ledger.positions.get("BTC/USDT")
    dust = acct.ledger.dust.get("BTC/USDT", Decimal(0))  # under a lot, written off: still held
    assert (position.qty if position else Decimal(0)) + dust == held
    open_local = {o.client_id for o in acct.orders.values() if o.is_open}
    open_venue = {o["client_id"] for o in venue_state["open_orders"]}
    assert open_local == open_venue
    if position is not None:
        stops = [o for o in acct.orders.values() if o.is_open and o.role is OrderRole.STOP_LOSS]
        assert stops and stops[0].client_id in open_venue
