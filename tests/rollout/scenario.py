"""A small world for the rollout tests: real candles (ETC/BTC, 1m rolled up to 15m, ten days),
a paper venue, an engine writing to a real store, investors and a recording messenger."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from rampart.agents.base import AgentBase, AgentView
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.errors import VenueError
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import dec
from rampart.domain.orders import Order, OrderRole, Side
from rampart.risk.profiles import get_profile
from rampart.rollout.controller import RolloutController
from rampart.rollout.rules.gates import PROFIT, SHARPE_VS_HOLD, default_gates
from rampart.rollout.settings import RolloutConfig
from rampart.store.db import open_database
from rampart.store.ops_records import UptimeRecorder
from rampart.store.writer import StoreWriter
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue

SYMBOL = "ETC/BTC"
BAR_MS = 15 * 60_000
HOUR_MS = 3_600_000


def load_bars(path: Path, days: int = 10) -> list[Candle]:
    """1m rows rolled up to 15m bars (gaps in the minutes simply make a bar from fewer)."""
    rows = json.loads(path.read_text())
    bars: dict[int, list[list[float]]] = {}
    for row in rows:
        bars.setdefault(int(row[0]) // BAR_MS * BAR_MS, []).append(row)
    out = []
    for ts in sorted(bars):
        group = bars[ts]
        out.append(
            Candle(
                SYMBOL,
                ts,
                float(group[0][1]),
                max(float(r[2]) for r in group),
                min(float(r[3]) for r in group),
                float(group[-1][4]),
                sum(float(r[5]) for r in group),
                BAR_MS,
            )
        )
    start = out[0].ts
    return [c for c in out if c.ts < start + days * 24 * HOUR_MS]


class Trader(AgentBase):
    """Opens a long with a ±1.5 % bracket whenever flat: a steady stream of orders."""

    name = "steady"
    warmup = 0

    def update(self, candle: Candle) -> None:
        del candle

    def decide(self, view: AgentView) -> list[Intent]:
        if view.position is not None:
            return []
        entry = dec(view.candle.close)
        inst = view.instrument
        return [
            Intent(
                view.account_id,
                SYMBOL,
                Side.BUY,
                IntentAction.OPEN,
                entry,
                inst.round_price(entry * Decimal("0.985")),
                inst.round_price(entry * Decimal("1.015")),
                agent=self.name,
                ts=view.ts,
            )
        ]


@dataclass
class Recorder:
    """The Messenger port, recording what investors and operators were told."""

    accounts: list[tuple[str, str]] = field(default_factory=list)
    operators: list[str] = field(default_factory=list)

    async def tell_account(self, account_id: str, html: str) -> bool:
        self.accounts.append((account_id, html))
        return True

    async def tell_operators(self, html: str, attachments: Sequence[Path] = ()) -> bool:
        del attachments
        self.operators.append(html)
        return True


class Faults:
    """Refuses a share of entry orders while on: an exchange having a bad day."""

    def __init__(self, venue: PaperVenue) -> None:
        self.on = False
        self.count = 0
        self._submit = venue.submit
        venue.submit = self.submit  # type: ignore[method-assign]

    async def submit(self, order: Order) -> Any:
        if self.on and order.role is OrderRole.ENTRY:
            self.count += 1
            raise VenueError("Service unavailable (injected).", "unavailable")
        return await self._submit(order)


@dataclass
class World:
    clock: SimClock
    engine: Engine
    venue: PaperVenue
    db: sa.Engine
    writer: StoreWriter
    uptime: UptimeRecorder
    faults: Faults
    messenger: Recorder
    controller: RolloutController


INVESTORS = (
    # id, owner, capital (BTC)
    ("alice-1", "alice", "0.1"),
    ("bob-1", "bob", "0.15"),
    ("carol-1", "carol", "0.5"),
    ("dave-1", "dave", "5"),
)


def stages_config(**overrides: Any) -> RolloutConfig:
    data: dict[str, Any] = {
        "enabled": True,
        "approval": "auto",
        "evaluate_every_s": 3600,
        "gates": safety_gates(),
        "stages": [
            {
                "name": "internal",
                "users": ["alice", "bob"],
                "max_users": 2,
                "symbols": [SYMBOL],
                "min_capital": "0.01",
                "max_capital": "0.2",
                "min_duration_h": 24,
            },
            {
                "name": "limited",
                "users": ["alice", "bob", "carol"],
                "max_users": 10,
                "min_capital": "0.01",
                "max_capital": "1",
                "min_duration_h": 48,
            },
            {"name": "open", "min_capital": "0.01", "max_capital": "2"},
        ],
    }
    data.update(overrides)
    return RolloutConfig.model_validate(data)


def safety_gates() -> list[dict[str, Any]]:
    """The default gates without the two that judge returns (trading profitable, Sharpe
    against buy-and-hold): these scenarios test promotion and rollback on operational signals;
    tests/rollout/test_launch_gates.py tests the return gates on their own."""
    return [
        {
            "name": g.name,
            "metric": g.metric,
            "threshold": g.threshold,
            "comparison": g.comparison.value,
            "min_samples": g.min_samples,
            "failure_limit": g.failure_limit,
            "unit": g.unit,
        }
        for g in default_gates()
        if g.metric not in (PROFIT, SHARPE_VS_HOLD)
    ]


async def build_world(db_url: str, start_ms: int, price: float, cfg: RolloutConfig) -> World:
    clock = SimClock(start_ms)
    bus = EventBus()
    inst = Instrument.for_price(SYMBOL, price)
    venue = PaperVenue({SYMBOL: inst}, clock=clock)
    # The launch is judged on its operational signals as on an exchange, where a market order
    # fills when it arrives (the paper fill model, the next open, is pinned in tests/venues).
    venue.core.market_at_once = True
    faults = Faults(venue)
    engine = Engine(
        venue=venue,
        clock=clock,
        bus=bus,
        make_agent=lambda name, params: Trader(),  # type: ignore[arg-type,return-value]
        profile_for=lambda name: get_profile(name),
        taker_fee=Decimal("0.001"),
    )
    for account_id, owner, capital in INVESTORS:
        spec = AccountSpec(
            account_id, "steady", "aggressive", Decimal(capital), (SYMBOL,), owner, "BTC"
        )
        await engine.add_account(spec)
    db = open_database(db_url)
    writer = StoreWriter(db)
    bus.subscribe(writer)
    uptime = UptimeRecorder(db)
    uptime.start(start_ms)
    messenger = Recorder()

    async def flush() -> None:
        writer.flush()

    controller = RolloutController(
        cfg,
        db,
        clock,
        engine=engine,
        messenger=lambda: messenger,
        uptime_grace_ms=HOUR_MS,
        before_measure=flush,
    )
    return World(clock, engine, venue, db, writer, uptime, faults, messenger, controller)
