"""A shard taken over on an exchange makes its first decision in its take, on the newest candle,
however many candles it missed (issue 69, goal 5).

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
from rampart.wiring.venues import load_instruments
from rampart_testkit.simulator import start_simulator
from tests.scale.test_take_check_later import (
    SYMBOL,
    _holder_with_a_position,
    _settings,
    _stopped,
    _trader,
)

MISSED = 5


def test_a_taken_shard_that_missed_candles_decides_once_on_the_newest_in_its_take(
    pg_url: str,
) -> None:
    async def go() -> None:
        async with start_simulator(symbols=[SYMBOL]) as sim:
            await sim.advance(3)
            settings = _settings(pg_url, sim)
            held = await _holder_with_a_position(settings, sim)
            missed: list[Candle] = []
            for _ in range(MISSED):  # the holder is gone; the worker's market stream goes on
                await sim.advance(1)
                missed.extend(sim.exchange.tape_last())
            newest = missed[-1]

            taker = _trader(settings, sim, await load_instruments(settings, [SYMBOL]))
            session = taker.session
            warmed: list[Candle] = []
            decided: list[tuple[Candle, Decimal, Decimal]] = []
            warm, process = session.warm, session.process

            def warm_spy(candle: Candle) -> tuple[Candle, ...]:
                warmed.append(candle)
                return warm(candle)

            async def process_spy(candle: Candle, *args: Any, **kw: Any) -> tuple[Candle, ...]:
                # What the books and the exchange say when the shard decides.
                position = taker.engine.accounts["a1"].ledger.positions[SYMBOL].qty
                decided.append((candle, position, _stopped(sim)))
                return await process(candle, *args, **kw)

            session.warm = warm_spy  # type: ignore[method-assign]
            session.process = process_spy  # type: ignore[method-assign]
            assert await taker.take(missed) == 0
            assert decided == []  # the take's pass first
            assert taker.engine.data_ts[SYMBOL] < newest.close_ts  # left for its decision
            # What the worker's take does next, under the shard's lock: no candle round awaited.
            assert await taker.catch_up(missed) == 1
            lot = taker.engine.venue.instrument(SYMBOL).floor_qty(held)
            assert decided == [(newest, held, lot)]  # one decision, on the books reconciled
            assert warmed == missed[:-1]  # the missed ones only warm the agents
            assert taker.engine.data_ts[SYMBOL] == newest.close_ts
            assert await taker.catch_up(missed) == 0  # decided once: the round skips it too
            assert not await taker.trade(newest)
            await taker.drop()

    asyncio.run(go())
