"""On a candle where every agent is quiet, what the engine itself sends (the position
monitor's exit at a crossed stop) is still answered and booked within that candle; on a
candle where nothing happened at all the executor is asked for work once, not a second time
after the guard found nothing to do."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.agents.base import AgentView
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent
from rampart.domain.orders import OrderRole
from rampart.trading.execution import Executor

from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent, candle
from .test_new_venue import MinimalDex, _engine, _long_once


class QuietAfterEntry(ScriptedAgent):
    """Speaks on its first candle only (the entry); quiet on every later one."""

    def update(self, candle: Candle) -> None:
        super().update(candle)
        self.quiet = self.index > 0

    def decide(self, view: AgentView) -> list[Intent]:
        return _long_once(self.index, view)


def test_the_monitors_exit_on_a_quiet_candle_is_booked_within_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[int] = []
    real = Executor.has_work

    def has_work(self: Executor) -> bool:
        asked.append(1)
        return real(self)

    monkeypatch.setattr(Executor, "has_work", has_work)

    async def scenario() -> tuple[bool, MinimalDex, int]:
        clock = SimClock(0)
        venue = MinimalDex(INSTRUMENT, clock)
        engine = _engine(venue, clock, QuietAfterEntry(lambda i, view: []))
        await engine.add_account(
            AccountSpec("a1", "scripted", "moderate", Decimal(10_000), (SYMBOL,))
        )
        clock.set(60_000)
        await engine.on_candle(candle(0, 100, 100, 100, 100))
        clock.set(120_000)
        await engine.on_candle(candle(1, 100, 100, 99, 99))  # quiet, nothing crossed
        asked.clear()
        await engine.on_candle(candle(1, 100, 100, 99, 99))  # the same: asked once
        quiet_asks = len(asked)
        venue.price = Decimal("97.5")
        clock.set(180_000)
        await engine.on_candle(candle(2, 99, 99, 97.5, 97.5))  # quiet, the stop crossed
        return SYMBOL in engine.accounts["a1"].ledger.positions, venue, quiet_asks

    still_open, venue, quiet_asks = asyncio.run(scenario())
    assert [o.role for o in venue.sent] == [OrderRole.ENTRY, OrderRole.EXIT]
    assert not still_open  # the exit's fill booked before the candle ended
    assert quiet_asks == 1
