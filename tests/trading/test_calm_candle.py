"""``Engine.calm``: a candle on which the guard's pass was the last thing to touch an account
ends with the equity the guard worked out (``acct.breakers.last_equity``), which the replay's
and a trial's equity curves read instead of working it out again; any candle on which
something followed the guard is not calm, so the curve works its equity out afresh."""

from __future__ import annotations

import asyncio

from rampart.domain.candles import Candle
from rampart.trading.engine import Engine

from .helpers import SYMBOL, ScriptedAgent, build, candle, feed, long_intent


class QuietScripted(ScriptedAgent):
    """Scripted, and quiet on the candles its script has nothing for (as a rule agent is)."""

    def __init__(self, speaks_on: int) -> None:
        super().__init__(lambda i, view: [long_intent(view, "0.98", "1.04")] if i == 0 else [])
        self.speaks_on = speaks_on

    def update(self, c: Candle) -> None:
        super().update(c)
        self.quiet = self.index != self.speaks_on


def _run(candles: list[Candle], speaks_on: int) -> tuple[Engine, list[bool], list[bool]]:
    """Each candle fed: whether it was calm, and whether the guard's equity was the closing one."""

    async def go() -> tuple[Engine, list[bool], list[bool]]:
        engine, _venue, clock, _bus = await build(QuietScripted(speaks_on))
        calm, closing = [], []
        for c in candles:
            await feed(engine, clock, [c])
            calm.append(engine.calm is c)
            acct = engine.accounts["a1"]
            closing.append(acct.breakers.last_equity == acct.ledger.equity(engine.marks))
            if engine.calm is c:  # what a curve then reads is the equity to the last digit
                equity = acct.ledger.equity(engine.marks)
                assert acct.breakers.last_equity == equity
                assert str(acct.breakers.last_equity) == str(equity)
        return engine, calm, closing

    return asyncio.run(go())


def test_a_candle_with_an_order_is_not_calm_and_a_held_quiet_one_is() -> None:
    # The entry on the first candle (filled at once), then a held position the guard reads.
    bars = [candle(0, 100, 101, 99, 100), candle(1, 100, 101, 99.5, 100.5)]
    bars.append(candle(2, 100.5, 102, 100, 101.5))
    engine, calm, closing = _run(bars, speaks_on=0)
    assert SYMBOL in engine.accounts["a1"].ledger.positions
    assert calm == [False, True, True]
    # The entry filled after the guard's pass, its fee paid: the guard's equity was not the
    # candle's closing equity, which is why that candle is not calm.
    assert closing == [False, True, True]


def test_a_candle_whose_agent_speaks_is_not_calm_even_when_it_sends_nothing() -> None:
    bars = [candle(i, 100, 101, 99, 100) for i in range(3)]
    engine, calm, _closing = _run(bars, speaks_on=1)  # index 1 speaks, its script sends nothing
    assert engine.accounts["a1"].ledger.positions == {}
    assert calm == [True, False, True]


def test_a_candle_whose_stop_fills_is_not_calm() -> None:
    # Entry at 100 with its stop at 98: the third bar trades through it.
    bars = [candle(0, 100, 101, 99, 100), candle(1, 100, 101, 99.5, 100.5)]
    bars.append(candle(2, 99, 99.5, 97, 97.5))
    engine, calm, _closing = _run(bars, speaks_on=0)
    assert SYMBOL not in engine.accounts["a1"].ledger.positions
    assert calm == [False, True, False]
