"""The trading service as the API and panel benchmarks run it in their own process: a
TradingSession on simulated candle time with many accounts, its metrics and health, and the
ApiContext the service builds over them (figures stamped with the business clock)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SYMBOLS = ["BTC/USDT", "ETH/USDT"]
AGENTS = ["trend", "mean_reversion", "breakout"]
PROFILES = ["conservative", "moderate", "aggressive"]


@dataclass
class BenchService:
    settings: Any
    clock: Any
    """The business clock: set to each candle's close as the feed advances."""
    ops: Any
    """Wall time, as the service's operations clock."""
    session: Any
    ctx: Any


async def open_service(
    accounts: int,
    speed: float,
    work: Path,
    store_url: str | None = None,
    checkpoint_every: int | None = None,
) -> BenchService:
    """``accounts`` accounts cycling through the agents and profiles on SYMBOLS, the store in
    ``work`` (or at ``store_url``), the API on a free port, the feed at ``speed``."""
    import asyncio

    from rampart.api.context import ApiContext
    from rampart.clock import SimClock, WallClock
    from rampart.config import load_settings
    from rampart.observability.metrics import Metrics
    from rampart.operator.control import Operator
    from rampart.runtime import probes
    from rampart.runtime.health import Health
    from rampart.wiring.instruments import instruments_for
    from rampart.wiring.session import TradingSession

    settings = load_settings(
        store={
            "url": store_url or f"sqlite:///{work / 'rampart.db'}",
            **({"checkpoint_every": checkpoint_every} if checkpoint_every else {}),
        },
        api={"port": 0, "rate_per_minute": 10**7},
        feed={"symbols": SYMBOLS, "speed": speed},
        accounts=[
            {
                "id": f"acct-{i:04d}",
                "agent": AGENTS[i % 3],
                "profile": PROFILES[(i // 3) % 3],
                "symbols": SYMBOLS,
                "capital": 10_000,
                "owner": f"investor-{i}",
            }
            for i in range(accounts)
        ],
    )
    clock, ops = SimClock(0), WallClock()
    session = TradingSession(
        settings,
        clock,
        instruments_for(SYMBOLS),
        db_url=settings.store.url,
        checkpoint_name="run",
        accounts=list(settings.accounts),
        checkpoint_every=settings.store.checkpoint_every,
    )
    await session.open()
    session.finish_resume()
    metrics = Metrics()
    session.bus.subscribe(metrics.on_event)
    health = Health()
    health.add("database", probes.database_probe(session.db))
    health.add("feed", probes.feed_probe(session.engine, ops, 60))
    operator = Operator(session, asyncio.Lock(), feed_symbols=SYMBOLS, business=clock)
    ctx = ApiContext.build(settings, operator, ops, health, metrics, business=clock)
    return BenchService(settings, clock, ops, session, ctx)
