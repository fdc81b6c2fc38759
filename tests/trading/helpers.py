"""Builders shared by the engine tests: a paper venue, a scripted agent, candle paths."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from rampart.agents.base import AgentView
from rampart.agents.registry import make_agent
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
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


class ScriptedAgent:
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
) -> tuple[Engine, PaperVenue, SimClock, EventBus]:
    clock = SimClock(0)
    bus = EventBus()
    venue = PaperVenue({SYMBOL: INSTRUMENT}, clock=clock)

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
