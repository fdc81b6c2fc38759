"""A shard taken over on an exchange makes its first decision in its take, on the newest candle,
however many candles it missed.

The take used to warm every candle after the checkpoint, the newest included, so the candles
that came while it opened were all the take could still decide on: a shard whose open was
quicker than a candle, or whose worker was behind the market, waited for the worker's next
candle round, behind the rounds of its other shards (4.6 s of a 6.4 s takeover in the overload
bench, up to 12.6 s before). The missed candles only warm the agents, never one decision each,
and the books are reconciled with the venue before that first decision, as before.

The real ccxt client against the exchange simulator, the shard's store on PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from rampart.domain.candles import Candle
from rampart.fleet.shard import ShardTrader
from rampart.wiring.venue_kinds import load_instruments
from rampart_testkit.simulator import start_simulator
from rampart_testkit.simulator.runner import SimulatorHandle
from tests.scale.test_take_check_later import (
    SYMBOL,
    _holder_with_a_position,
    _settings,
    _stopped,
    _trader,
)

MISSED = 5


class Spied:
    """The candles a trader's session warms and decides on, and what the books and the
    exchange said at each decision."""

    def __init__(self, trader: ShardTrader, sim: SimulatorHandle) -> None:
        self.warmed: list[Candle] = []
        self.decided: list[tuple[Candle, Decimal, Decimal]] = []
        session = trader.session
        warm, process = session.warm, session.process

        def warm_spy(candle: Candle) -> tuple[Candle, ...]:
            self.warmed.append(candle)
            return warm(candle)

        async def process_spy(candle: Candle, *args: Any, **kw: Any) -> tuple[Candle, ...]:
            held = trader.engine.accounts["a1"].ledger.positions.get(SYMBOL)
            qty = held.qty if held is not None else Decimal(0)
            self.decided.append((candle, qty, _stopped(sim)))
            return await process(candle, *args, **kw)

        session.warm = warm_spy  # type: ignore[method-assign]
        session.process = process_spy  # type: ignore[method-assign]


async def _candles(sim: SimulatorHandle, count: int) -> list[Candle]:
    """The next ``count`` candles of the market, as the worker's stream brings them."""
    came: list[Candle] = []
    for _ in range(count):
        await sim.advance(1)
        came.extend(sim.exchange.tape_last())
    return came


def test_a_taken_shard_that_missed_candles_decides_once_on_the_newest_in_its_take(
    pg_url: str,
) -> None:
    async def go() -> None:
        async with start_simulator(symbols=[SYMBOL]) as sim:
            await sim.advance(3)
            settings = _settings(pg_url, sim)
            held = await _holder_with_a_position(settings, sim)
            missed = await _candles(sim, MISSED)  # the holder is gone; the market goes on
            newest = missed[-1]

            taker = _trader(settings, sim, await load_instruments(settings, [SYMBOL]))
            spied = Spied(taker, sim)
            assert await taker.take(missed) == 0
            assert spied.decided == []  # the take's pass first
            assert taker.engine.data_ts[SYMBOL] < newest.close_ts  # left for its decision
            # What the worker's take does next, under the shard's lock: no candle round awaited.
            assert await taker.catch_up(missed) == 1
            lot = taker.engine.venue.instrument(SYMBOL).floor_qty(held)
            # One decision, on the books reconciled: the position booked and under its stop.
            assert spied.decided == [(newest, held, lot)]
            assert spied.warmed == missed[:-1]  # the missed ones only warm the agents
            assert taker.engine.data_ts[SYMBOL] == newest.close_ts
            assert await taker.catch_up(missed) == 0  # decided once: the round skips it too
            assert not await taker.trade(newest)
            await taker.drop()

    asyncio.run(go())


def test_a_shard_taken_before_its_first_checkpoint_decides_on_the_newest_in_its_take(
    pg_url: str,
) -> None:
    """A kill -9 seconds after a fleet's start: the shard had no checkpoint yet (12 s from
    claim to first decision in the overload bench, the worker's candle rounds awaited)."""

    async def go() -> None:
        async with start_simulator(symbols=[SYMBOL]) as sim:
            settings = _settings(pg_url, sim)
            recent = await _candles(sim, MISSED)
            taker = _trader(settings, sim, await load_instruments(settings, [SYMBOL]))
            spied = Spied(taker, sim)
            assert await taker.take(recent) == 0
            assert spied.warmed == recent[:-1] and spied.decided == []
            assert await taker.catch_up(recent) == 1
            assert [c for c, *_ in spied.decided] == [recent[-1]]
            await taker.drop()

    asyncio.run(go())
