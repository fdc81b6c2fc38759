"""What ``TradingSession.process`` does with ``record``: a live feed's loop keeps each traded
close for its hour (the rollout's buy-and-hold reads it back); a replay keeps none. The same
one path either way: the candle is traded both times."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rampart.domain.candles import Candle
from rampart.store.db import open_database
from rampart.store.market_closes import stored_closes

from .replay_helpers import trend_session

HOUR = 3_600_000


def _traded(tmp_path: Path, *, record: bool) -> tuple[dict[str, list[tuple[int, float]]], int]:
    db = tmp_path / f"rec-{record}.db"
    session = trend_session(db, checkpoint_every=1, ride_out_outages=True, name="rec")

    async def run() -> int:
        await session.open()
        try:
            for i, close in enumerate((100.0, 101.5)):
                candle = Candle("BTC/USDT", i * HOUR, close, close + 1, close - 1, close, 5.0, HOUR)
                session.clock.set(candle.close_ts)  # type: ignore[attr-defined]
                await session.process(candle, record=record)
            return session.engine.candles_seen
        finally:
            session.close()

    seen = asyncio.run(run())
    store = open_database(f"sqlite:///{db}")
    try:
        return stored_closes(store)(0, 10 * HOUR), seen
    finally:
        store.dispose()


def test_a_live_feeds_candles_keep_their_closes_and_a_replays_keep_none(tmp_path: Path) -> None:
    kept, seen = _traded(tmp_path, record=True)
    assert kept == {"BTC/USDT": [(0, 100.0), (HOUR, 101.5)]}
    assert seen == 2
    kept, seen = _traded(tmp_path, record=False)
    assert kept == {}
    assert seen == 2  # traded all the same
