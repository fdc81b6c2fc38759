"""The engine loop beats while it waits for its next candle: on 1m polled candles it
beat only when a candle came, so readiness (a heartbeat older than ``ops.worker_stale_s``, 30 s)
was red for ~25 s of every minute. A feed that yields nothing here: the loop must beat anyway,
and is woken by the beat itself, not by time passing in the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest

import rampart.loops.exchange as exchange_loop
from rampart.clock import SimClock
from rampart.loops.candle import LoopState
from rampart.loops.exchange import ExchangeLoop


def test_the_exchange_loop_beats_while_no_candle_comes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exchange_loop, "IDLE_BEAT_S", 0.01)

    async def go() -> int:
        never = asyncio.Event()

        async def quiet() -> AsyncIterator[object]:
            await never.wait()  # a 1m candle not yet closed
            yield None

        session = SimpleNamespace(
            opinions=None, settings=SimpleNamespace(venue=SimpleNamespace(reconcile_concurrency=1))
        )
        loop = ExchangeLoop(
            session,  # type: ignore[arg-type]
            lambda since: None,  # type: ignore[arg-type,return-value]
            clock=SimClock(0), feed_clock=SimClock(0), lock=asyncio.Lock(), state=LoopState(),
            metrics=None, symbols=[], timeframe_ms=60_000, history=0, reconnects=None,  # type: ignore[arg-type]
        )  # fmt: skip
        stop, beaten, beats = asyncio.Event(), asyncio.Event(), []

        def beat() -> None:
            beats.append(1)
            if len(beats) >= 3:
                beaten.set()
                stop.set()

        waiting = asyncio.ensure_future(loop._next(quiet(), stop, beat))
        await asyncio.wait({waiting, asyncio.ensure_future(beaten.wait())}, timeout=60,
                           return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        stop.set()  # (a loop that never beat is stopped here, and fails below)
        assert await waiting is None  # stopped while waiting, no candle
        return len(beats)

    assert asyncio.run(go()) >= 3
