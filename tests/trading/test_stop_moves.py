"""An agent moves its stop and target: the risk engine lets a stop tighten
and loosen only within the profile; the exchange's stop is amended in place (the paper venue)
or, on a venue that cannot, canceled and placed again with the position monitor holding the new
stop all along; a trailing stop only ever rises."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from rampart.agents.adjust import move_stop, trail_stop
from rampart.agents.base import AgentView
from rampart.domain.intents import Intent
from rampart.domain.orders import Order, OrderRole
from rampart.trading.engine import Engine
from rampart.trading.ports import Amend
from rampart.venues.paper import PaperVenue

from .helpers import SYMBOL, ScriptedAgent, build, candle, feed, long_intent

D = Decimal


def _stop_on_venue(venue: PaperVenue) -> tuple[str, Decimal | None]:
    """The client id and stop price of the one stop-loss resting on the venue."""
    (stop,) = [o for o in venue.core.accounts["a1"].open.values() if o.stop_price is not None]
    return stop.client_id, stop.stop_price


def _script(later: Callable[[int, AgentView], list[Intent]]) -> ScriptedAgent:
    """A long at 100 (stop 98, target 110) on the first candle, then ``later``'s intents."""

    def script(i: int, view: AgentView) -> list[Intent]:
        if i == 0:
            return [long_intent(view, "0.98", "1.10")]
        return later(i, view)

    return ScriptedAgent(script)


async def _moved(
    stop: str, venue_class: type[PaperVenue] = PaperVenue
) -> tuple[Engine, PaperVenue]:
    agent = _script(lambda i, view: move_stop(view, "scripted", stop=D(stop)) if i == 1 else [])
    engine, venue, clock, _bus = await build(agent, venue_class=venue_class)
    await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
    await feed(engine, clock, [candle(1, 100, 102, 99.8, 101)])
    return engine, venue


def test_a_tightened_stop_is_amended_in_place_and_sells_there() -> None:
    async def run() -> None:
        agent = _script(
            lambda i, view: move_stop(view, "scripted", stop=D("99.5")) if i == 1 else []
        )
        engine, venue, clock, _bus = await build(agent)
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        before, _ = _stop_on_venue(venue)
        await feed(engine, clock, [candle(1, 100, 102, 99.8, 101)])
        after, price = _stop_on_venue(venue)
        assert (after, price) == (before, D("99.5"))  # the same order, its stop moved
        acct = engine.accounts["a1"]
        assert acct.ledger.positions[SYMBOL].stop_loss == D("99.5")
        assert not acct.rejections and engine.violations == 0
        # A dip to 99.4 (above the old stop of 98) now sells at the moved stop.
        await feed(engine, clock, [candle(2, 101, 101, 99.4, 100)])
        assert SYMBOL not in acct.ledger.positions
        assert engine.violations == 0

    asyncio.run(run())


def test_a_stop_loosened_past_the_profile_is_refused_in_a_sentence() -> None:
    engine, venue = asyncio.run(_moved("94"))  # 6 % below the entry; moderate allows 5 %
    acct = engine.accounts["a1"]
    (refused,) = acct.rejections
    assert refused.code == "stop_loosened"
    assert "5 %" in refused.message and "94" in refused.message, refused.message
    assert _stop_on_venue(venue)[1] == D(98)
    assert acct.ledger.positions[SYMBOL].stop_loss == D(98)


def test_a_stop_loosened_within_the_profile_moves() -> None:
    engine, venue = asyncio.run(_moved("96"))
    assert not engine.accounts["a1"].rejections
    assert _stop_on_venue(venue)[1] == D(96)


def test_a_stop_at_the_market_is_refused_as_a_close_in_disguise() -> None:
    engine, venue = asyncio.run(_moved("101"))
    (refused,) = engine.accounts["a1"].rejections
    assert refused.code == "bracket_side" and "close the position instead" in refused.message
    assert _stop_on_venue(venue)[1] == D(98)


class _Watched(PaperVenue):
    """Records, at every order the engine sends or cancels, whether the position was then
    protected (before the call and after it): the invariant at each step of a move."""

    engine: Engine | None = None
    steps: list[tuple[str, bool]]

    def _check(self, what: str) -> None:
        engine = self.engine
        if engine is None:
            return
        acct = engine.accounts["a1"]
        pos = acct.ledger.positions.get(SYMBOL)
        if pos is not None:
            self.steps.append((what, engine.executor.is_protected(acct, pos)))

    async def cancel(self, account_id: str, client_id: str) -> None:
        self._check("before cancel")
        await super().cancel(account_id, client_id)
        self._check("after cancel")

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        self._check("before pair")
        await super().submit_oco(stop_loss, take_profit)
        self._check("after pair")

    async def amend_oco(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        self._check("before amend")
        await super().amend_oco(*args, **kwargs)  # type: ignore[arg-type]
        self._check("after amend")


class _NoAmend(_Watched):
    capabilities = replace(PaperVenue.capabilities, amend=Amend.NONE)


def _watched_move(venue_class: type[_Watched], after: int = 0) -> tuple[Engine, _Watched]:
    """The move on candle 1, then ``after`` quiet candles."""

    async def run() -> tuple[Engine, _Watched]:
        agent = _script(
            lambda i, view: (
                move_stop(view, "scripted", stop=D("99.5"), take_profit=D(108)) if i == 1 else []
            )
        )
        engine, venue, clock, _bus = await build(agent, venue_class=venue_class)
        watched = venue
        assert isinstance(watched, _Watched)
        watched.steps = []
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        watched.engine = engine
        await feed(engine, clock, [candle(1, 100, 102, 99.8, 101)])
        await feed(engine, clock, [candle(2 + i, 101, 102, 100.5, 101) for i in range(after)])
        return engine, watched

    return asyncio.run(run())


def test_a_move_on_a_venue_that_amends_never_leaves_the_position_unprotected() -> None:
    engine, venue = _watched_move(_Watched)
    assert [s for s, _ in venue.steps] == ["before amend", "after amend"]
    assert all(ok for _, ok in venue.steps)
    assert _stop_on_venue(venue)[1] == D("99.5")
    assert engine.violations == 0


def test_a_move_canceled_and_placed_again_is_held_by_the_monitor_at_every_step() -> None:
    engine, venue = _watched_move(_NoAmend, after=1)
    kinds = [s for s, _ in venue.steps]
    assert "before cancel" in kinds and kinds[-2:] == ["before pair", "after pair"], kinds
    assert all(ok for _, ok in venue.steps), venue.steps
    acct = engine.accounts["a1"]
    legs = acct.working(SYMBOL, (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT))
    assert sorted((o.stop_price or o.price) for o in legs) == [D("99.5"), D(108)]
    # The new pair rests: the monitor lets go on the next candle, as after any re-placement.
    assert SYMBOL not in acct.guarded
    assert engine.violations == 0


def test_a_trailing_stop_rises_with_the_price_and_never_falls() -> None:
    async def run() -> list[Decimal | None]:
        agent = _script(lambda i, view: trail_stop(view, "scripted", fraction=D("0.02")))
        engine, venue, clock, _bus = await build(agent)
        stops: list[Decimal | None] = []
        path = [
            (100, 101, 99, 100),
            (100, 102.5, 99.9, 102),
            (102, 104.5, 101.9, 104),
            (104, 104, 102.5, 103),
            (103, 103.5, 102.2, 102.5),
            (102.5, 106.5, 102.4, 106),
        ]
        for i, (o, h, low, c) in enumerate(path):
            await feed(engine, clock, [candle(i, o, h, low, c)])
            stops.append(_stop_on_venue(venue)[1])
        assert engine.violations == 0
        assert not engine.accounts["a1"].rejections
        return stops

    stops = asyncio.run(run())
    assert stops == [D(98), D("99.96"), D("101.92"), D("101.92"), D("101.92"), D("103.88")]
