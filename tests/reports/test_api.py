"""Reports over HTTP against a live service: an investor's own weekly summary (their token,
their account only), the operator's list, one report and its PNG charts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from rampart.reports.period import ms_day
from tests.api.conftest import LiveApi

BASE = "/api/v1/accounts"


def test_weekly_summary_and_admin_reading(live: LiveApi) -> None:
    trades = live.get(f"{BASE}/alice/trades?limit=1000", who="alice").json()["trades"]
    assert trades
    day = ms_day(trades[0]["closed_at"])
    monday = day - timedelta(days=day.weekday())
    # Synthetic candles carry their own dates; the week must be over on the ops clock.
    live.ops.set(max(live.ops.now_ms(), trades[0]["closed_at"] + 8 * 86_400_000))
    got = live.get(f"{BASE}/alice/reports/weekly?date={day.isoformat()}", who="alice")
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["kind"], body["scope"]) == ("investor_weekly", "alice")
    start, end = body["period_start"], body["period_end"]
    assert ms_day(start) == monday and end - start == 7 * 86_400_000
    mine = [t for t in trades if start <= t["closed_at"] < end]
    assert body["figures"]["trades"] == len(mine)
    assert Decimal(body["figures"]["net_pnl"]) == sum((Decimal(t["pnl"]) for t in mine), Decimal(0))
    assert body["charts"] == ["equity.png", "pnl_by_strategy.png"]
    assert "Account alice" in body["markdown"]

    assert live.get(f"{BASE}/bob/reports/weekly", who="alice").status_code == 403
    bad = live.get(f"{BASE}/alice/reports/weekly?date=2024-02-30", who="alice")
    assert bad.status_code == 400
    assert bad.json() == {
        "error": "'2024-02-30' is not a date; write it as YYYY-MM-DD, e.g. 2024-03-01."
    }

    assert live.get("/api/v1/admin/reports", who="alice").status_code == 403
    listed = live.get("/api/v1/admin/reports").json()["reports"]
    assert [(r["id"], r["kind"], r["scope"]) for r in listed] == [
        (body["id"], "investor_weekly", "alice")
    ]
    one = live.get(f"/api/v1/admin/reports/{body['id']}").json()
    assert one["markdown"] == body["markdown"] and one["figures"] == body["figures"]
    png = live.get(f"/api/v1/admin/reports/{body['id']}/charts/equity.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert live.get(f"/api/v1/admin/reports/{body['id']}/charts/nope.png").status_code == 404
    missing = live.get("/api/v1/admin/reports/999")
    assert missing.status_code == 404 and missing.json() == {"error": "There is no report 999."}
