"""The panel's top line says whether the service trades: "Trading stopped" while a
TradingStopped incident is open (whoever opened it: the fleet's server holding the ops lease),
else whether the service is ready."""

from __future__ import annotations

import html
import re
from pathlib import Path

import sqlalchemy as sa

from rampart.fleet.alerts import TRADING_STOPPED
from rampart.observability import incidents
from tests.api.conftest import LiveApi
from tests.panel.panel_http import sign_in

TOP = re.compile(r'<p id="top-line"[^>]*>(.*?)</p>', re.S)


def top_line(page: str) -> str:
    found = TOP.search(page)
    assert found is not None, "the overview has a top line"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def test_the_top_line_says_trading_stopped(tmp_path: Path) -> None:
    api = LiveApi(tmp_path)
    try:
        api.start(warm=10)
        client = sign_in(api)
        assert not top_line(client.get("/panel").text).startswith("Trading stopped")
        db = sa.create_engine(f"sqlite:///{api.db_path}")
        incidents.open_incident(
            db, key=TRADING_STOPPED, rule=TRADING_STOPPED, severity="P0",
            summary="No shard of the fleet has traded a new candle for more than 2 s.",
            value=300.0, threshold=120.0, labels={}, now_ms=1_700_000_000_000,
        )  # fmt: skip
        line = top_line(client.get("/panel").text)
        assert line.startswith("Trading stopped (P0 TradingStopped, since 2023-11-14"), line
        assert "has traded a new candle" in line
        db.dispose()
    finally:
        api.stop()
