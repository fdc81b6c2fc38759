"""Builders shared by the engine tests: a paper venue, a scripted agent, candle paths."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from rampart.agents.base import AgentBase, AgentView
from rampart.agents.registry import make_agent
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.events import Event
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import dec
from rampart.domain.orders import Side
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue

SYMBOL = "BTC/USDT"
INSTRUMENT = Instrument(
    SYMBOL, "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5")
)
MINUTE = 60_000


class ScriptedAgent(AgentBase):
    """Returns whatever the test's script says for the candle index; keeps no other state."""

    name = "scripted"
    warmup = 0

    def __init__(self, script: Callable[[int, AgentView], list[Intent]]) -> None:
        self.script = script
        self.index = -1

    def update(self, candle: Candle) -> None:
        self.index += 1

    def decide(self, view: AgentView) -> list[Intent]:
        return self.script(self.index, view)


def long_intent(
    view: AgentView, stop_factor: str, take_factor: str, agent: str = "scripted"
) -> Intent:
    """A long at the last close with its bracket at ``entry × factor``, rounded to the tick."""
    entry = dec(view.candle.close)
    return Intent(
        view.account_id,
        SYMBOL,
        Side.BUY,
        IntentAction.OPEN,
        entry,
        view.instrument.round_price(entry * Decimal(stop_factor)),
        view.instrument.round_price(entry * Decimal(take_factor)),
        agent=agent,
        ts=view.ts,
    )


def candle(i: int, o: float, h: float, low: float, c: float, v: float = 1e6) -> Candle:
    return Candle(SYMBOL, i * MINUTE, o, h, low, c, v, MINUTE)


async def build(
    agent: ScriptedAgent | None = None,
    capital: str = "10000",
    profile: str = "moderate",
    accounts: Sequence[str] = ("a1",),
    agent_name: str = "scripted",
    venue_class: type[PaperVenue] = PaperVenue,
    *,
    at_once: bool = True,
) -> tuple[Engine, PaperVenue, SimClock, EventBus]:
    """An engine on a paper venue. ``at_once`` (the default here): the venue fills a market
    order when it arrives, at the last close, as an exchange's book does, so an entry decided
    on a candle is held on that candle; the engine's rules these tests pin hold on every venue.
    False: the rule of every run on candles, a market order fills at the next candle's open
    (pinned in tests/venues/test_next_open.py and tests/trading/test_next_open_engine.py)."""
    clock = SimClock(0)
    bus = EventBus()
    venue = venue_class({SYMBOL: INSTRUMENT}, clock=clock)
    venue.core.market_at_once = at_once

    def factory(name: str, params: dict | None) -> object:
        if name == "scripted":
            assert agent is not None
            return agent
        return make_agent(name, params)

    engine = Engine(
        venue=venue,
        clock=clock,
        bus=bus,
        make_agent=factory,  # type: ignore[arg-type]
        profile_for=lambda name: get_profile(name),
        taker_fee=Decimal("0.001"),
    )
    for account_id in accounts:
        spec = AccountSpec(account_id, agent_name, profile, Decimal(capital), (SYMBOL,))
        await engine.add_account(spec)
    return engine, venue, clock, bus


async def feed(engine: Engine, clock: SimClock, candles: Sequence[Candle]) -> None:
    for c in candles:
        clock.set(c.close_ts)
        await engine.on_candle(c)


async def open_long(profile: str) -> tuple[Engine, list[Event]]:
    """One long on account ``a1``: entry 100, stop 98 (2 %), target 104, filled on the first
    candle; the events published from then on."""
    agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.04")] if i == 0 else [])
    engine, _venue, clock, bus = await build(agent, profile=profile)
    events: list[Event] = []
    bus.subscribe(events.append)
    await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
    assert SYMBOL in engine.accounts["a1"].ledger.positions
    return engine, events


async def guard_at(engine: Engine, price: str) -> Decimal:
    """The price moves to ``price`` without a candle reaching the venue (its resting stop does
    not fill: a gap); the guard runs as on a price update. Returns the position's loss there."""
    acct = engine.accounts["a1"]
    engine.marks[SYMBOL] = Decimal(price)
    loss = -acct.ledger.positions[SYMBOL].net_pnl(Decimal(price))
    await engine.guard.account(acct, SYMBOL, engine.clock.now_ms())
    return loss
