"""Scaling in and out: a reduction sells part of the position with the rest
under its bracket at every step; an addition buys through the risk engine (the limits of one
position unchanged) and the bracket grows to the whole; a replay's trade counts both."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from rampart.agents.adjust import add_to_position, reduce_position
from rampart.agents.base import AgentView
from rampart.domain.errors import VenueError
from rampart.domain.events import Event, TradeClosed
from rampart.domain.intents import Intent
from rampart.domain.orders import Order, OrderRole
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue

from .helpers import SYMBOL, ScriptedAgent, build, candle, feed, long_intent

D = Decimal
PROTECTIVE = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


class _Watched(PaperVenue):
    """Records whether the position is protected before and after every order call."""

    engine: Engine | None = None
    steps: list[tuple[str, bool]]

    def _check(self, what: str) -> None:
        engine = self.engine
        if engine is not None:
            acct = engine.accounts["a1"]
            pos = acct.ledger.positions.get(SYMBOL)
            if pos is not None:
                self.steps.append((what, engine.executor.is_protected(acct, pos)))

    async def submit(self, order: Order) -> None:
        self._check(f"before {order.role}")
        await super().submit(order)
        self._check(f"after {order.role}")

    async def amend_oco(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        self._check("before amend")
        await super().amend_oco(*args, **kwargs)  # type: ignore[arg-type]
        self._check("after amend")


async def _run(
    later: Callable[[int, AgentView], list[Intent]],
    opening_size: str = "1",
    candles: int = 2,
    stop: str = "0.98",
    close: float = 100,
) -> tuple[Engine, _Watched, list[Event]]:
    """A long at 100 (stop at ``stop`` × 100, target 110, ``opening_size`` of the largest
    size) on the first candle, then ``later``'s intents on the next ``candles - 1`` quiet
    candles closing at ``close``."""

    def script(i: int, view: AgentView) -> list[Intent]:
        if i == 0:
            return [replace(long_intent(view, stop, "1.10"), size_hint=D(opening_size))]
        return later(i, view)

    engine, venue, clock, bus = await build(ScriptedAgent(script), venue_class=_Watched)
    assert isinstance(venue, _Watched)
    venue.steps = []
    events: list[Event] = []
    bus.subscribe(events.append)
    await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
    venue.engine = engine
    later_candles = [candle(i, 100, close + 1, 99.5, close) for i in range(1, candles)]
    await feed(engine, clock, later_candles)
    return engine, venue, events


def _legs(engine: Engine) -> list[tuple[str, Decimal]]:
    acct = engine.accounts["a1"]
    return sorted((o.client_id, o.remaining) for o in acct.working(SYMBOL, PROTECTIVE))


def test_a_reduction_sells_part_and_the_bracket_keeps_the_rest_at_every_step() -> None:
    engine, venue, events = asyncio.run(
        _run(lambda i, view: reduce_position(view, "scripted", D("0.25")) if i == 1 else [])
    )
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    assert pos.qty == D(15) and pos.exits == 1  # 20 held, a quarter sold
    assert [q for _, q in _legs(engine)] == [D(15), D(15)]  # the same pair, lowered in place
    assert [s for s, _ in venue.steps] == [
        "before amend",
        "after amend",
        "before exit",
        "after exit",
    ]
    assert all(ok for _, ok in venue.steps), venue.steps
    assert not acct.rejections and engine.violations == 0
    assert not [e for e in events if isinstance(e, TradeClosed)]


def test_two_reductions_then_the_stop_make_a_trade_of_three_exits() -> None:
    async def run() -> tuple[Engine, list[Event]]:
        engine, _venue, events = await _run(
            lambda i, view: reduce_position(view, "scripted", D("0.5")) if i in (1, 2) else [],
            candles=4,
        )
        clock = engine.clock
        await feed(engine, clock, [candle(4, 100, 100, 97, 97.5)])  # type: ignore[arg-type]
        return engine, events

    engine, events = asyncio.run(run())
    (closed,) = [e.trade for e in events if isinstance(e, TradeClosed)]
    assert (closed.entries, closed.exits) == (1, 3)
    assert closed.qty == D(20) and closed.stop_loss == closed.final_stop == D(98)
    assert engine.violations == 0


def test_a_reduction_leaving_too_little_to_protect_is_refused() -> None:
    engine, _venue, _ = asyncio.run(
        _run(lambda i, view: reduce_position(view, "scripted", D("0.999999")) if i == 1 else [])
    )
    (refused,) = engine.accounts["a1"].rejections
    assert refused.code == "below_min_notional" and "close the" in refused.message
    assert engine.accounts["a1"].ledger.positions[SYMBOL].qty == D(20)


def test_an_addition_grows_the_position_and_its_bracket_covers_the_whole() -> None:
    engine, venue, events = asyncio.run(
        _run(
            lambda i, view: add_to_position(view, "scripted", D("0.25")) if i == 1 else [],
            opening_size="0.25",
        )
    )
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    # 5 BTC bought (a quarter of 20), then a quarter of the 15 the position still had room for.
    assert pos.entries == 2 and D("8.7") < pos.qty < D("8.75")
    whole = engine.venue.instrument(SYMBOL).floor_qty(pos.qty)
    assert [q for _, q in _legs(engine)] == [whole, whole]
    assert (pos.stop_loss, pos.take_profit) == (D(98), D(110))  # the position's bracket
    assert all(ok for _, ok in venue.steps), venue.steps
    assert not acct.rejections and engine.violations == 0
    assert SYMBOL not in acct.guarded  # the pair covers the whole: the monitor let go


def test_an_addition_past_the_largest_position_is_refused() -> None:
    # The opening took the whole of moderate's 20 %: nothing more may be bought.
    engine, _venue, _ = asyncio.run(
        _run(lambda i, view: add_to_position(view, "scripted") if i == 1 else [])
    )
    acct = engine.accounts["a1"]
    (refused,) = acct.rejections
    assert refused.code == "max_position", refused.message
    assert "the moderate profile allows at most" in refused.message, refused.message
    assert acct.ledger.positions[SYMBOL].qty == D(20)


def test_an_addition_that_would_risk_more_than_the_profile_is_refused() -> None:
    # Moderate risks 1 % of 10,000 (100 USDT). Half the largest position (10 BTC) with its stop
    # 5 % under 100 risks 50; at 102 an addition sized alone (9.6 BTC, 7 USDT each to the
    # stop: 67) passes, but the whole would lose about 117 at the stop.
    engine, _venue, _ = asyncio.run(
        _run(
            lambda i, view: add_to_position(view, "scripted") if i == 1 else [],
            opening_size="0.5",
            stop="0.95",
            close=102,
        )
    )
    acct = engine.accounts["a1"]
    (refused,) = acct.rejections
    assert refused.code == "risk_per_trade", refused.message
    # The opening fill at 100.03 put 95 at 5.03 % under it: its stop moved with the fill to 95.03.
    assert "already held" in refused.message and "lose 117.2" in refused.message
    assert "moderate profile allows at most 100.1" in refused.message, refused.message
    assert acct.ledger.positions[SYMBOL].entries == 1


class _RefusesExits(_Watched):
    async def submit(self, order: Order) -> None:
        if order.role is OrderRole.EXIT:
            raise VenueError("the venue refused the sell", code="rejected")
        await super().submit(order)


def test_a_reduction_whose_sell_is_refused_leaves_the_whole_under_the_monitor() -> None:
    async def run() -> Engine:
        def script(i: int, view: AgentView) -> list[Intent]:
            if i == 0:
                return [long_intent(view, "0.98", "1.10")]
            return reduce_position(view, "scripted", D("0.25")) if i == 1 else []

        engine, _venue, clock, _bus = await build(ScriptedAgent(script), venue_class=_RefusesExits)
        _venue.steps = []  # type: ignore[attr-defined]
        await feed(engine, clock, [candle(0, 100, 101, 99, 100), candle(1, 100, 101, 99.5, 100)])
        return engine

    engine = asyncio.run(run())
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    assert pos.qty == D(20) and engine.violations == 0
    assert engine.executor.is_protected(acct, pos)


def test_a_reduction_selling_over_several_candles_leaves_the_rest_alone() -> None:
    # A thin market: the paper venue sells a share of each candle's volume, so the reduction's
    # sell works over several candles, each of which looks at the position's protection.
    async def run() -> Engine:
        def script(i: int, view: AgentView) -> list[Intent]:
            if i == 0:
                return [long_intent(view, "0.98", "1.10")]
            return reduce_position(view, "scripted", D("0.25")) if i == 1 else []

        engine, _venue, clock, _bus = await build(ScriptedAgent(script))
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        thin = [candle(i, 100, 101, 99.5, 100, v=20) for i in range(1, 6)]
        await feed(engine, clock, thin)
        return engine

    engine = asyncio.run(run())
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    assert pos.qty >= D(15), pos.qty  # never more than the quarter asked for
    assert pos.exits == 1 and engine.violations == 0
