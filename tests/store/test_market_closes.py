"""The live feed's hourly closes: buffered by the writer, one row per symbol and
hour (the hour's newest candle wins), written again without change, read back per window."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.market_closes import HOUR_MS, stored_closes
from rampart.store.models.market import market_closes
from rampart.store.writer import StoreWriter

H0 = 1_800_000_000_000 - 1_800_000_000_000 % HOUR_MS
MIN = 60_000


def _rows(db: sa.Engine) -> list[tuple[str, int, float]]:
    t = market_closes.c
    with db.connect() as conn:
        query = sa.select(t.symbol, t.ts, t.close).order_by(t.symbol, t.ts)
        return [(str(s), int(ts), float(c)) for s, ts, c in conn.execute(query).all()]


def test_the_newest_close_of_each_hour_is_kept_and_a_replay_changes_nothing(
    db: sa.Engine, writer: StoreWriter
) -> None:
    for minute, close in ((0, 100.0), (30, 101.0), (59, 102.0)):  # one hour, three candles
        writer.record_close("BTC/USDT", H0 + minute * MIN, close)
    writer.record_close("BTC/USDT", H0 + HOUR_MS, 103.0)
    writer.record_close("ETH/USDT", H0 + 5 * MIN, 10.0)
    assert writer.pending == 3  # buffered per (symbol, hour), not per candle
    writer.flush()
    expected = [
        ("BTC/USDT", H0, 102.0),
        ("BTC/USDT", H0 + HOUR_MS, 103.0),
        ("ETH/USDT", H0, 10.0),
    ]
    assert _rows(db) == expected
    # A restart warms on candles already seen: the same rows, no duplicate-key error.
    writer.record_close("BTC/USDT", H0 + 59 * MIN, 102.0)
    writer.record_close("ETH/USDT", H0 + 5 * MIN, 10.0)
    writer.flush()
    assert _rows(db) == expected
    closes = stored_closes(db)
    assert closes(H0, H0 + HOUR_MS) == {"BTC/USDT": [(H0, 102.0)], "ETH/USDT": [(H0, 10.0)]}
    assert closes(H0 + HOUR_MS, H0 + 2 * HOUR_MS) == {"BTC/USDT": [(H0 + HOUR_MS, 103.0)]}
    assert closes(H0 - HOUR_MS, H0) == {}
