"""Protections an agent declares refuse its entries as declared, on top of
the operator's breakers (an exit is never refused, an entry let through still meets the risk
engine)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from decimal import Decimal
from types import SimpleNamespace

import pytest

from rampart.agents.base import AgentView
from rampart.agents.protections import (
    CooldownAfterStop,
    DrawdownLock,
    PairLock,
    declared_protections,
)
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.events import Event, IntentProposed, IntentRejected, TradeClosed
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.trading.agent_protections import AgentProtections

from .helpers import SYMBOL, ScriptedAgent, build, candle, feed, long_intent

STOPPED = (100, 100.5, 97, 100)
"""A bar that goes through the 98 stop of a long entered at 100, and closes at 100 again."""
CALM = (100, 100.5, 99.5, 100)


class Protected(ScriptedAgent):
    """Asks for a long (stop 2 %, target 4 %) on every bar it is flat."""

    def __init__(self, protections: Sequence[object]) -> None:
        super().__init__(self._script)
        self.protections = tuple(protections)

    @staticmethod
    def _script(_i: int, view: AgentView) -> list[Intent]:
        if view.position is not None:
            return []
        return [long_intent(view, "0.98", "1.04")]


def _run(protections: Sequence[object], bars: Sequence[tuple[float, ...]]) -> list[Event]:
    async def go() -> list[Event]:
        engine, _venue, clock, bus = await build(Protected(protections))  # type: ignore[arg-type]
        events: list[Event] = []
        bus.subscribe(events.append)
        candles: list[Candle] = [candle(i, *bar) for i, bar in enumerate(bars)]
        await feed(engine, clock, candles)
        return events

    return asyncio.run(go())


def _refused(events: list[Event]) -> list[int]:
    """The minutes (candle index + 1) at which an entry was refused: the first refusal of a
    lock is published with its code, the next ones only counted (an account gate, told once)."""
    codes = {e.code for e in events if isinstance(e, IntentRejected)}
    assert codes <= {"agent_protection"}, codes
    return [e.ts // 60_000 for e in events if isinstance(e, IntentProposed) and not e.trace]


def test_no_protection_declared_refuses_nothing() -> None:
    events = _run((), [CALM, STOPPED, CALM, CALM])
    assert _refused(events) == []


def test_cooldown_after_a_stop_refuses_entries_for_its_candles() -> None:
    # Bar 0 opens, bar 1 stops it out (at minute 2): the entries asked at minutes 2, 3 and 4,
    # the 3 candles from the stop, are refused; the one at minute 5 goes on and opens.
    events = _run((CooldownAfterStop(candles=3),), [CALM, STOPPED, CALM, CALM, CALM, CALM])
    assert _refused(events) == [2, 3, 4]
    rejected = [e for e in events if isinstance(e, IntentRejected)]
    assert "cooldown after a stop-loss" in rejected[0].message
    opened = [e.ts // 60_000 for e in events if isinstance(e, IntentProposed) and e.trace]
    assert opened == [1, 5]


def test_a_cooldown_outlives_a_restart_from_the_checkpoint() -> None:
    bars = [candle(i, *bar) for i, bar in enumerate([CALM, STOPPED, CALM, CALM, CALM])]

    async def go() -> list[Event]:
        engine, _venue, clock, _bus = await build(Protected((CooldownAfterStop(candles=3),)))  # type: ignore[arg-type]
        await feed(engine, clock, bars[:2])  # opened, then stopped at minute 2
        snap = json.loads(json.dumps(engine.snapshot()))  # as a checkpoint stores it
        again, _venue2, clock2, bus2 = await build(Protected((CooldownAfterStop(candles=3),)))  # type: ignore[arg-type]
        events: list[Event] = []
        bus2.subscribe(events.append)
        for bar in bars[:2]:
            again.warm(bar)
        again.load_snapshot(snap)
        await feed(again, clock2, bars[2:])
        return events

    assert _refused(asyncio.run(go())) == [3, 4]


def test_pair_lock_after_losses_in_a_row() -> None:
    # One stop locks nothing; the second (minutes 2 and 4, within 5 candles) locks the pair
    # for 4 candles from it: minutes 4 to 7.
    bars = [CALM, STOPPED, CALM, STOPPED, CALM, CALM, CALM, CALM, CALM]
    events = _run((PairLock(losses=2, within=5, candles=4),), bars)
    trades = [e for e in events if isinstance(e, TradeClosed)]
    assert [t.trade.closed_at // 60_000 for t in trades] == [2, 4]
    assert _refused(events) == [4, 5, 6, 7]


def test_drawdown_lock_refuses_every_entry_once_losses_pass_the_limit() -> None:
    # Each stop loses about 2 % of the position: with the whole account in it, the first loss
    # passes a 0.1 % drawdown limit and locks entries for 2 candles (minutes 2 and 3).
    events = _run(
        (DrawdownLock(max_drawdown=0.001, within=10, candles=2),), [CALM, STOPPED] + [CALM] * 3
    )
    assert _refused(events) == [2, 3]
    rejected = [e for e in events if isinstance(e, IntentRejected)]
    assert "drawdown lock" in rejected[0].message


def test_a_protection_never_refuses_an_exit() -> None:
    class Agent:
        protections = (CooldownAfterStop(candles=100),)

    book = AgentProtections()
    book.add("a1", Agent())
    acct = SimpleNamespace(account_id="a1")
    stop = SimpleNamespace(symbol=SYMBOL, closed_at=0, pnl=Decimal(-1), exit_reason="stop_loss")
    book.on_trade_closed(acct, stop)  # type: ignore[arg-type]
    close = Intent("a1", SYMBOL, Side.SELL, IntentAction.CLOSE, Decimal(100))
    history = [candle(0, *CALM)]
    assert book.refusal(acct, close, 1, history) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("declared", "said"),
    [
        (PairLock, "PairLock's losses must be a whole number of at least 1, not 0"),
        (DrawdownLock, "max_drawdown must be a fraction between 0 and 1"),
        ("cooldown", "declares protection 'cooldown': use CooldownAfterStop"),
    ],
)
def test_a_wrong_protection_is_refused_in_plain_words(declared: object, said: str) -> None:
    agent = SimpleNamespace(name="mine")
    with pytest.raises(ConfigError, match=said):
        if declared is PairLock:
            PairLock(0, 5, 5)
        elif declared is DrawdownLock:
            DrawdownLock(1.5, 5, 5)
        agent.protections = (declared,)
        declared_protections(agent)
