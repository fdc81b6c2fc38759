"""Each decision has a deadline in live modes: an agent that blocks is skipped
on that candle with the ``agent_overran`` fault, skipped at once while it is still busy, its
account paused after three in a row, and an agent beside it decides on every candle. Without
the deadline an agent blocking in its decision stalled every account on the engine.

The blocking agents wait on an event the test sets at the end (no wall-time sleep); the deadline
is a liveness bound on real time, so the budget here is short for the blocker and generous for
the others (a loaded machine must not make the fast one late)."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

import pytest

from rampart.agents.base import AgentBase, AgentView
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.events import AgentFaulted, Event, InvariantViolated
from rampart.domain.intents import Intent
from rampart.risk.profiles import get_profile
from rampart.trading.agent_room import RoomRules
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue
from tests.trading.helpers import INSTRUMENT, SYMBOL, candle, feed

CANDLES = 12


class Blocker(AgentBase):
    """Decides only once the test lets it: a sync agent stuck in ``decide``."""

    name = "blocker"
    warmup = 0

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def update(self, candle: Candle) -> None:
        pass

    def decide(self, view: AgentView) -> list[Intent]:
        self.release.wait()
        return []


class AsyncBlocker(Blocker):
    """The same, written async but blocking its event loop (the worst an agent can do)."""

    name = "async_blocker"

    async def decide_async(self, view: AgentView) -> list[Intent]:
        self.release.wait()
        return []


class Fast(AgentBase):
    name = "fast"
    warmup = 0

    def __init__(self) -> None:
        self.asked: list[int] = []

    def update(self, candle: Candle) -> None:
        pass

    def decide(self, view: AgentView) -> list[Intent]:
        self.asked.append(view.candle.ts)
        return []


async def _run(slow: Blocker) -> tuple[Engine, Fast, list[Event]]:
    clock, bus = SimClock(0), EventBus()
    fast = Fast()
    agents = {slow.name: slow, "fast": fast}
    engine = Engine(
        venue=PaperVenue({SYMBOL: INSTRUMENT}, clock=clock),
        clock=clock,
        bus=bus,
        make_agent=lambda name, _params: agents[name],  # type: ignore[arg-type,return-value]
        profile_for=get_profile,
        taker_fee=Decimal("0.001"),
        room=RoomRules(deadline_s=60.0, deadlines={slow.name: 0.05}),
    )
    events: list[Event] = []
    bus.subscribe(events.append)
    for account, agent in (("slow", slow.name), ("quick", "fast")):
        await engine.add_account(
            AccountSpec(account, agent, "moderate", Decimal(10_000), (SYMBOL,))
        )
    await feed(engine, clock, [candle(i, 100, 101, 99, 100) for i in range(CANDLES)])
    return engine, fast, events


@pytest.mark.parametrize("kind", [Blocker, AsyncBlocker])
def test_a_blocked_agent_is_skipped_and_paused_and_the_one_beside_it_decides_every_candle(
    kind: type[Blocker],
) -> None:
    release = threading.Event()
    try:
        engine, fast, events = asyncio.run(_run(kind(release)))
    finally:
        release.set()  # the agent's thread ends
    assert fast.asked == [i * 60_000 for i in range(CANDLES)]
    faults = [e for e in events if isinstance(e, AgentFaulted)]
    assert [(f.account_id, f.kind, f.in_a_row) for f in faults] == [
        ("slow", "overran", 1),
        ("slow", "overran", 2),
        ("slow", "overran", 3),
    ]
    assert "took longer than its 0.05 s deadline" in faults[0].sentence
    # Still busy on the first candle: the next ones skip it at once, with no wait.
    assert all("still deciding on an earlier candle" in f.sentence for f in faults[1:])
    assert [e.account_id for e in events if isinstance(e, InvariantViolated)] == ["slow"]
    assert engine.accounts["slow"].paused and not engine.accounts["quick"].paused
    assert engine.accounts["slow"].rejections[0].code == "agent_deadline"


def test_a_replay_sets_no_deadline_and_keeps_every_agents_decision_times() -> None:
    engine, fast, _ = asyncio.run(_run_without_deadline())
    assert engine.room.rules.deadline_for("fast") is None
    times = engine.room.times["fast"]
    assert times.decisions == CANDLES == len(fast.asked)
    assert 0 < times.percentile_ns(0.5) <= times.percentile_ns(0.99) <= times.slowest_ns


async def _run_without_deadline() -> tuple[Engine, Fast, list[Event]]:
    clock, bus = SimClock(0), EventBus()
    fast = Fast()
    engine = Engine(
        venue=PaperVenue({SYMBOL: INSTRUMENT}, clock=clock),
        clock=clock,
        bus=bus,
        make_agent=lambda _name, _params: fast,  # type: ignore[arg-type,return-value]
        profile_for=get_profile,
        taker_fee=Decimal("0.001"),
    )
    await engine.add_account(AccountSpec("quick", "fast", "moderate", Decimal(10_000), (SYMBOL,)))
    await feed(engine, clock, [candle(i, 100, 101, 99, 100) for i in range(CANDLES)])
    return engine, fast, []
