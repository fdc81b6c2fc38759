"""The same realised PnL as protecting each fill at once.

On a venue that amends (the paper venue), the pair is re-sized in place at every part an
entry fills, so every coin bought rests under the stop and the target at their prices. The
reference protects each fill at once the old way: the pair canceled and placed again at every
part (the venue's amend switched off, every part a re-size). Replayed over real candles with
the demo's participation cap (entries fill in parts over several candles), both book the same
trades at the same realised PnL; before, coins bought above the pair were held by the position
monitor and sold at market once a candle closed past the stop, at another price."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from rampart.config import load_settings
from rampart.trading.ports import Amend
from rampart.trading.protection import Protector
from rampart.venues.paper import PaperVenue
from rampart.wiring.replay import run_replay

from ..conftest import SHARED_DATA

FILE = SHARED_DATA / "ETC_BTC-1m.json"
CANDLES = 3_000
ROWS: list[object] = json.loads(FILE.read_text()) if FILE.exists() else []


def _trades(work: Path, start: int) -> list[tuple[str, str, str]]:
    work.mkdir()
    rows = ROWS[start : start + CANDLES]
    path = work / "ETC_BTC-1m.json"
    path.write_text(json.dumps(rows))
    out = work / "out"
    asyncio.run(
        run_replay(
            path, "trend", "moderate", Decimal(10_000), load_settings(), out_dir=out, chart=False
        )
    )
    db = sqlite3.connect(out / "replay.db")
    try:
        found = db.execute(
            "SELECT opened_at, qty, pnl FROM trades ORDER BY opened_at, closed_at"
        ).fetchall()
        parts = db.execute("SELECT count(*) FROM fills WHERE role = 'entry'").fetchone()[0]
    finally:
        db.close()
    assume(parts > 2 * len(found) > 0)  # entries filling in parts: what this is about
    # By time, not by client id: the reference spends ids on the pairs it places again.
    return [(str(t), str(Decimal(q).normalize()), str(Decimal(p).normalize())) for t, q, p in found]


@pytest.mark.skipif(not ROWS, reason="the shared candle files are not beside the checkout")
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(start=0)  # the first 3,000 candles: 25 trades, one bought above its pair
@given(start=st.integers(min_value=0, max_value=max(len(ROWS) - CANDLES, 0)))
def test_amending_at_every_part_books_what_protecting_each_fill_at_once_books(
    tmp_path_factory: pytest.TempPathFactory, start: int
) -> None:
    """Over spans of the file picked at random (each its own fill sequences and prices)."""
    work = tmp_path_factory.mktemp("span")
    amended = _trades(work / "amend", start)
    # The reference: no amend, and every part a re-size (cancel the pair, place it again).
    with pytest.MonkeyPatch.context() as patch:
        no_amend = dataclasses.replace(PaperVenue.capabilities, amend=Amend.NONE)
        patch.setattr(PaperVenue, "capabilities", no_amend)
        patch.setattr(Protector, "_step_due", lambda *args: True)
        each_fill = _trades(work / "each", start)
    assert amended == each_fill
