"""A page of trades or of the equity curve reads that page from the store, not the account's
whole history (both once read every row and cut the page in Python, so their time grew
with the account's age): the statements carry the limit, and the page is the history's newest
part, the live equity last."""

from __future__ import annotations

import sqlalchemy as sa

from tests.api.conftest import LiveApi

BASE = "/api/v1/accounts/alice"


def test_trades_and_equity_pages_are_read_with_their_limit(shared: LiveApi) -> None:
    every_trade = shared.get(f"{BASE}/trades?limit=500", who="alice").json()["trades"]
    every_point = shared.get(f"{BASE}/equity?limit=1000", who="alice").json()["points"]
    assert len(every_trade) >= 3 and len(every_point) >= 4
    sent: list[str] = []

    def seen(_conn: object, _cur: object, stmt: str, *_rest: object) -> None:
        sent.append(" ".join(stmt.split()).upper())

    db = shared.session.db
    sa.event.listen(db, "before_cursor_execute", seen)
    try:
        trades = shared.get(f"{BASE}/trades?limit=2", who="alice").json()["trades"]
        points = shared.get(f"{BASE}/equity?limit=3", who="alice").json()["points"]
    finally:
        sa.event.remove(db, "before_cursor_execute", seen)
    assert trades == every_trade[:2]
    assert points == every_point[-3:]
    reads = [
        s for s in sent if s.startswith("SELECT") and ("FROM TRADES" in s or "FROM EQUITY" in s)
    ]
    assert len(reads) == 2 and all(" LIMIT " in s for s in reads), reads
