"""The live feed's hourly closes: buffered by the store writer, read by the rollout's gates.

An exchange's (or a DEX's) past candles are not ours to re-read when a rollout stage is
judged, so the service keeps the last close of each UTC hour per symbol as candles arrive.
Writes are upserts on (symbol, hour): a candle seen twice (a warm-up after a restart, a
reconnect that replays the last candle) changes nothing but the close it carries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from rampart.store.models.market import market_closes

__all__ = ["ClosesKey", "close_rows", "hour_of", "market_closes", "stored_closes", "upsert_closes"]

HOUR_MS = 3_600_000

ClosesKey = tuple[str, int]
"""(symbol, the UTC hour's start in ms)."""


def hour_of(ts: int) -> int:
    """The start of the UTC hour ``ts`` (ms) falls in."""
    return ts - ts % HOUR_MS


def close_rows(closes: dict[ClosesKey, float]) -> list[dict[str, Any]]:
    return [{"symbol": s, "ts": ts, "close": c} for (s, ts), c in closes.items()]


def upsert_closes(insert: Callable[[sa.Table], Any]) -> Any:
    """INSERT … ON CONFLICT (symbol, ts) DO UPDATE the close (the newest candle of the hour)."""
    stmt = insert(market_closes)
    return stmt.on_conflict_do_update(
        index_elements=["symbol", "ts"], set_={"close": stmt.excluded.close}
    )


def stored_closes(db: sa.Engine) -> Callable[[int, int], dict[str, list[tuple[int, float]]]]:
    """Closes per symbol over ``[start, end)`` (hour starts), oldest first, from the store."""

    def closes(start: int, end: int) -> dict[str, list[tuple[int, float]]]:
        t = market_closes.c
        query = (
            sa.select(t.symbol, t.ts, t.close)
            .where(t.ts >= start, t.ts < end)
            .order_by(t.symbol, t.ts)
        )
        found: dict[str, list[tuple[int, float]]] = {}
        with db.connect() as conn:
            for symbol, ts, close in conn.execute(query).all():
                found.setdefault(str(symbol), []).append((int(str(ts)), float(str(close))))
        return found

    return closes
