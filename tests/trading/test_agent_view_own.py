"""An agent's view is its own: whatever one account's agent does to its view,
no other account's agent and no later candle sees it. Before views were copies, ``view.history``
was the engine's own deque: one agent appended a fake future candle and another account's
agent saw it; ``view.position`` was the ledger's own position."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

from rampart.agents.base import AgentBase, AgentView
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue
from tests.trading.helpers import INSTRUMENT, SYMBOL, candle, feed, long_intent

FAKE_TS = 10**12


class Mutator(AgentBase):
    """Buys once, then does everything it can to its view on every candle."""

    name = "mutator"
    warmup = 0

    def update(self, candle: Candle) -> None:
        pass

    def decide(self, view: AgentView) -> list[Intent]:
        fake = Candle(SYMBOL, FAKE_TS, 1.0, 1.0, 1.0, 1.0, 1.0)
        for attempt in (
            lambda: view.history.append(fake),  # type: ignore[attr-defined]
            lambda: view.history.__setitem__(0, fake),  # type: ignore[attr-defined]
            lambda: view.history.clear(),  # type: ignore[attr-defined]
        ):
            with contextlib.suppress(AttributeError, TypeError):
                attempt()
        if view.position is not None:
            view.position.qty = Decimal(0)
            view.position.stop_loss = Decimal(0)
            return []
        return [long_intent(view, "0.98", "1.04", agent=self.name)]


class Watcher(AgentBase):
    """Notes every history it is shown."""

    name = "watcher"
    warmup = 0

    def __init__(self) -> None:
        self.seen: list[tuple[int, ...]] = []

    def update(self, candle: Candle) -> None:
        pass

    def decide(self, view: AgentView) -> list[Intent]:
        self.seen.append(tuple(c.ts for c in view.history))
        return []


async def _run() -> tuple[Engine, Watcher]:
    clock, bus = SimClock(0), EventBus()
    watcher = Watcher()
    agents = {"mutator": Mutator(), "watcher": watcher}
    engine = Engine(
        venue=PaperVenue({SYMBOL: INSTRUMENT}, clock=clock),
        clock=clock,
        bus=bus,
        make_agent=lambda name, _params: agents[name],  # type: ignore[arg-type,return-value]
        profile_for=get_profile,
        taker_fee=Decimal("0.001"),
    )
    # The mutator's account is served first on most candles, the watcher's after it.
    for account, agent in (("a", "mutator"), ("b", "watcher")):
        await engine.add_account(
            AccountSpec(account, agent, "moderate", Decimal(10_000), (SYMBOL,))
        )
    candles = [
        candle(i, 100 + i * 0.1, 101 + i * 0.1, 99 + i * 0.1, 100 + i * 0.1) for i in range(30)
    ]
    await feed(engine, clock, candles)
    return engine, watcher


def test_what_one_agent_does_to_its_view_no_other_account_or_later_candle_sees() -> None:
    engine, watcher = asyncio.run(_run())
    assert len(watcher.seen) == 30
    for n, shown in enumerate(watcher.seen):
        assert shown == tuple(i * 60_000 for i in range(n + 1))  # no fake, nothing lost
    # The engine's own history is untouched too.
    assert [c.ts for c in engine.history[SYMBOL]] == [i * 60_000 for i in range(30)]
    # The mutator's account holds the position it bought, whatever it wrote on its copy.
    position = engine.accounts["a"].ledger.positions[SYMBOL]
    assert position.qty > 0 and position.stop_loss > 0
    assert engine.violations == 0 and not engine.accounts["a"].paused
