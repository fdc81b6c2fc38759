"""The rollout's Sharpe-against-buy-and-hold gate on an exchange's feed: the
service on the exchange simulator records each hour's close as the candles arrive, and the
gate reads buy-and-hold from those closes, so its verdict is conclusive (an exchange's past
candles cannot be re-read like a replayed or synthetic feed's).

The feed's clock reads the simulator's market time, advanced one hourly candle at a time once
the service has traded the last one: nothing waits on the wall clock.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console

from rampart.agents import registry
from rampart.config import load_settings
from rampart.domain.performance import HOUR_MS
from rampart.market.service_feed import closes_of
from rampart.rollout.measure import measure
from rampart.rollout.rules.gates import SHARPE_VS_HOLD, Verdict, default_gates, evaluate
from rampart.store.db import open_database
from rampart.store.models.market import market_closes
from rampart.wiring.service import Service
from rampart_testkit.simulator import start_simulator
from rampart_testkit.soak.agent import ChurnAgent

from .test_service_exchange import MarketClock

HISTORY = 50  # the least the engine warms on
TRADED = 24  # hourly candles traded: past the Sharpe gate's 20 hourly returns


def _settings(tmp_path: Path, sim_url: str) -> Any:
    return load_settings(
        # Paper trading on the exchange's candles: the venue fills on the candles it is given,
        # so there is nothing to reconcile on each hourly candle (the feed is what is tested).
        mode="paper",
        store={"url": f"sqlite:///{tmp_path / 'rampart.db'}", "checkpoint_every": 7},
        api={"enabled": False},
        engine={"history": HISTORY},
        feed={
            "kind": "ccxt",
            "symbols": ["BTC/USDT"],
            "timeframe": "1h",
            "poll_every_s": 0.01,
        },
        # The feed reaches the exchange (the simulator) through the venue's exchange settings.
        venue={"kind": "paper", "exchange": "binance", "api_url": sim_url},
        accounts=[
            {
                "id": "churner",
                "agent": "churn",
                "profile": "aggressive",
                "capital": "10000",
                "symbols": ["BTC/USDT"],
                "params": {"every": 3, "hold": 4},
            }
        ],
    )


def test_an_exchange_feed_records_hourly_closes_and_the_sharpe_gate_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry._AGENTS, "churn", ChurnAgent)
    now = int(datetime.now(UTC).timestamp() * 1000)
    start = (now // HOUR_MS - 2 * HISTORY - TRADED - 10) * HOUR_MS
    out: dict[str, Any] = {}

    async def scenario() -> None:
        async with start_simulator(symbols=["BTC/USDT"], timeframe="1h", start_ms=start) as sim:
            await sim.advance(HISTORY + 5)
            settings = _settings(tmp_path, sim.url)
            service = Service(
                settings,
                Console(file=(tmp_path / "screen.txt").open("w"), width=160),
                max_candles=TRADED,
                view=False,
                feed_clock=MarketClock(sim),
                install_signals=False,
            )

            async def market() -> None:
                while not service.opened.is_set() or not getattr(
                    service.exchange_loop, "warmed", False
                ):
                    if service.stop.is_set():
                        return
                    await asyncio.sleep(0.005)
                out["first"] = sim.exchange.now_ms
                # One new candle whenever the service has traded the last one.
                while not service.stop.is_set():
                    done = service.state.processed
                    await sim.advance(1)
                    while service.state.processed == done and not service.stop.is_set():
                        await asyncio.sleep(0.005)

            await asyncio.gather(service.run(), market())
            out["settings"], out["end"] = settings, sim.exchange.now_ms

    asyncio.run(scenario())
    db = open_database(out["settings"].store.url)
    try:
        with db.connect() as conn:
            stored = conn.execute(sa.select(market_closes.c.ts, market_closes.c.close)).all()
        hours = sorted(int(ts) for ts, _ in stored)
        # The warm-up's history and every traded candle, one row per hour, on hour starts.
        assert len(hours) >= HISTORY + TRADED - 1, len(hours)
        assert len(set(hours)) == len(hours) and all(ts % HOUR_MS == 0 for ts in hours)
        assert all(close > 0 for _, close in stored)

        window = (out["first"] - HOUR_MS, out["end"] + HOUR_MS)
        closes = closes_of(out["settings"], db)
        traded_hours = closes(*window)["BTC/USDT"]
        assert len(traded_hours) >= TRADED - 1
        measured = measure(db, *window, closes=closes)[SHARPE_VS_HOLD]
        assert measured.value is not None, measured
        assert measured.samples >= TRADED - 2, measured  # hourly returns
        assert "buy-and-hold" in measured.detail
        gate = next(g for g in default_gates() if g.metric == SHARPE_VS_HOLD)
        assert evaluate(gate, measured).verdict is not Verdict.INCONCLUSIVE
    finally:
        db.dispose()
