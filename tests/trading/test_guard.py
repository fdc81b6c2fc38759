"""The position monitor and the breakers' effects, as the guard applies them on price updates.

- a gap past the per-position limit pauses the account as the system, with its figures, and
  closes the position at market;
- a bracket the venue refused is retried after 1, 2, 4 … candles while the monitor holds the
  stop and the target, and once the pair rests the monitor stands down;
- the monitor exits at the stop and at the target, on the price itself, not before;
- losing trades in a row start a cooldown that ends by itself on the clock, each change
  published once with its states.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from rampart.clock import SimClock
from rampart.domain.accounts import TradingState
from rampart.domain.errors import VenueError
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    Event,
    KillSwitchChanged,
    TradeClosed,
)
from rampart.domain.orders import Order, OrderRole
from rampart.domain.positions import ClosedTrade
from rampart.risk.restrictions import COOLDOWN, position_loss
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue

from .helpers import (
    MINUTE,
    SYMBOL,
    ScriptedAgent,
    build,
    candle,
    feed,
    guard_at,
    long_intent,
    open_long,
)

D = Decimal


class RefusingPairs(PaperVenue):
    """Refuses the next ``refuse`` stop-loss/take-profit pairs; counts every pair asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refuse = 0
        self.pairs_asked = 0

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        self.pairs_asked += 1
        if self.refuse > 0:
            self.refuse -= 1
            raise VenueError("the venue refused the pair", code="rejected")
        await super().submit_oco(stop_loss, take_profit)


def _protective(engine: Engine) -> list[Order]:
    return list(
        engine.accounts["a1"].open_orders(
            SYMBOL, roles=(OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
        )
    )


def test_a_gap_past_the_per_position_limit_pauses_the_account_and_closes_the_position() -> None:
    async def scenario() -> None:
        engine, events = await open_long("moderate")
        acct = engine.accounts["a1"]
        profile = acct.profile
        # 20 coins (the moderate profile's 20 % of 10,000 at 100): a fall to 95 loses about
        # 100, inside the 2 % limit; a gap to 85 about 300, past it.
        quiet = await guard_at(engine, "95")
        assert D(0) < quiet < profile.position_loss_limit * acct.ledger.equity(engine.marks)
        assert not acct.paused and not any(isinstance(e, KillSwitchChanged) for e in events)
        equity = acct.ledger.equity({SYMBOL: D(85)})
        now = engine.clock.now_ms()
        lost = await guard_at(engine, "85")
        assert lost > profile.position_loss_limit * equity
        assert acct.paused and engine.controls.paused_by["a1"] == "system"
        assert acct.pause_reason == f"{SYMBOL} position lost more than the per-position limit"
        assert acct.pause_restriction == position_loss(SYMBOL, lost, equity, profile, "USDT", now)
        assert SYMBOL not in acct.ledger.positions  # closed at market
        (pause,) = [e for e in events if isinstance(e, KillSwitchChanged)]
        assert (pause.scope, pause.engaged, pause.actor, pause.flatten) == (
            "a1",
            True,
            "system",
            True,
        )
        (exit_order,) = [o for o in acct.recent_orders if o.role is OrderRole.EXIT]
        assert exit_order.reason == f"paused: {acct.pause_reason}"

    asyncio.run(scenario())


def test_a_refused_bracket_is_retried_after_one_then_two_candles_and_the_monitor_stands_down() -> (
    None
):
    async def scenario() -> None:
        agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.04")] if i == 0 else [])
        engine, venue, clock, _bus = await build(agent, venue_class=RefusingPairs)
        assert isinstance(venue, RefusingPairs)
        venue.refuse = 2
        acct = engine.accounts["a1"]
        asked: list[int] = []
        guarded: list[bool] = []
        for i in range(6):
            await feed(engine, clock, [candle(i, 100, 101, 99, 100)])
            asked.append(venue.pairs_asked)
            guarded.append(SYMBOL in acct.guarded)
        # Candle 0: the entry fills, the pair is refused. Candle 1: tried again at once (one
        # refusal waits one candle: the next), refused. Candle 2: waiting. Candle 3: accepted.
        # Candle 4: the pair is seen resting, the monitor stands down; nothing more is sent.
        assert asked == [1, 2, 2, 3, 3, 3]
        assert guarded == [True, True, True, True, False, False]
        assert acct.bracket_book.refusal(SYMBOL) is None
        assert sorted(o.role.value for o in _protective(engine)) == ["stop_loss", "take_profit"]

    asyncio.run(scenario())


def test_a_refused_pair_is_not_asked_again_for_the_same_quantity_before_its_wait() -> None:
    async def scenario() -> tuple[list[int], bool]:
        agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.04")] if i == 0 else [])
        engine, venue, clock, _bus = await build(agent, venue_class=RefusingPairs)
        assert isinstance(venue, RefusingPairs)
        venue.refuse = 2
        acct = engine.accounts["a1"]
        asked = []
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        asked.append(venue.pairs_asked)
        # Another report for the symbol at the same instant asks for protection again: the
        # venue refused this very quantity a moment ago, so nothing is sent.
        await engine.executor.ensure_protection(acct, SYMBOL)
        asked.append(venue.pairs_asked)
        await feed(engine, clock, [candle(1, 100, 101, 99, 100)])  # its turn: refused again
        asked.append(venue.pairs_asked)
        clock.set(clock.now_ms() + 1)  # a later instant, the wait of one candle not over
        await engine.executor.ensure_protection(acct, SYMBOL)
        asked.append(venue.pairs_asked)
        return asked, SYMBOL in acct.guarded

    asked, guarded = asyncio.run(scenario())
    assert asked == [1, 1, 2, 2] and guarded


@pytest.mark.parametrize(
    ("close", "exits"),
    [("98", True), ("97.5", True), ("98.01", False), ("103.99", False), ("104", True)],
)
def test_the_monitor_exits_a_guarded_position_on_its_stop_and_its_target(
    close: str, exits: bool
) -> None:
    async def scenario() -> None:
        agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.04")] if i == 0 else [])
        engine, venue, clock, _bus = await build(agent, venue_class=RefusingPairs)
        assert isinstance(venue, RefusingPairs)
        venue.refuse = 1_000  # no pair ever rests: the monitor alone holds stop and target
        acct = engine.accounts["a1"]
        await feed(engine, clock, [candle(0, 100, 100, 100, 100)])
        assert SYMBOL in acct.guarded and not _protective(engine)
        c = float(close)
        await feed(engine, clock, [candle(1, 100, max(100, c), min(100, c), c)])
        monitor_exits = [
            o
            for o in acct.recent_orders
            if o.role is OrderRole.EXIT and o.reason == "position monitor"
        ]
        assert (SYMBOL not in acct.ledger.positions) is exits
        # A closed position leaves nothing behind: no monitor and no back-off for the next one.
        assert (SYMBOL in acct.guarded) is not exits
        assert (acct.bracket_book.refusal(SYMBOL) is not None) is not exits
        assert len(monitor_exits) == (1 if exits else 0)

    asyncio.run(scenario())


async def _losing_trades(count: int) -> tuple[list[Event], Engine]:
    """``count`` long trades each stopped out: entry on an even candle at 100, the stop at 98
    filled on the next by a low of 97."""
    agent = ScriptedAgent(
        lambda i, view: [long_intent(view, "0.98", "1.04")] if i % 2 == 0 and i < 2 * count else []
    )
    engine, _venue, clock, bus = await build(agent)
    events: list[Event] = []
    bus.subscribe(events.append)
    await feed(
        engine,
        clock,
        [
            candle(i, 100, 100, 100, 100) if i % 2 == 0 else candle(i, 100, 100, 97, 99)
            for i in range(2 * count)
        ],
    )
    return events, engine


def _trades(events: list[Event]) -> list[ClosedTrade]:
    return [e.trade for e in events if isinstance(e, TradeClosed)]


def test_three_losses_in_a_row_start_a_cooldown_published_once_with_its_states() -> None:
    events, engine = asyncio.run(_losing_trades(3))
    acct = engine.accounts["a1"]
    trades = _trades(events)
    assert len(trades) == 3 and all(t.pnl < 0 for t in trades)
    assert acct.state is TradingState.REDUCING and acct.breakers.halted_by == COOLDOWN
    (trip,) = [e for e in events if isinstance(e, BreakerTripped)]
    assert trip.account_id == "a1" and trip.breaker == COOLDOWN
    assert trip.ts == trades[-1].closed_at
    (change,) = [e for e in events if isinstance(e, AccountStateChanged)]
    assert (change.old, change.new) == (TradingState.ACTIVE, TradingState.REDUCING)
    assert change.account_id == "a1" and change.reason == trip.message


def test_two_losses_start_nothing() -> None:
    events, engine = asyncio.run(_losing_trades(2))
    assert len(_trades(events)) == 2
    assert engine.accounts["a1"].state is TradingState.ACTIVE
    assert not [e for e in events if isinstance(e, (BreakerTripped, AccountStateChanged))]


def test_the_cooldown_ends_by_itself_on_the_clock_exactly_when_it_is_due() -> None:
    async def scenario() -> None:
        _events, engine = await _losing_trades(3)
        acct = engine.accounts["a1"]
        until = acct.breakers.cooldown_until_ms
        clock = engine.clock
        assert isinstance(clock, SimClock)
        bus_events: list[Event] = []
        engine.bus.subscribe(
            lambda e: (
                bus_events.append(e)
                if isinstance(e, (AccountStateChanged, BreakerTripped))
                else None
            )
        )
        last = until // MINUTE - 1  # the candle closing one minute before the end
        await feed(engine, clock, [candle(last - 1, 100, 100, 100, 100)])
        assert clock.now_ms() == until - MINUTE
        assert acct.state is TradingState.REDUCING and not bus_events
        await feed(engine, clock, [candle(last, 100, 100, 100, 100)])
        assert clock.now_ms() == until
        assert acct.state is TradingState.ACTIVE
        (change,) = bus_events
        assert isinstance(change, AccountStateChanged)  # an end is no new trip
        assert (change.old, change.new) == (TradingState.REDUCING, TradingState.ACTIVE)
        assert change.ts == until

    asyncio.run(scenario())
