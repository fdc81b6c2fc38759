"""Revenue and fees in the panel and over the API: the operator sees the weeks and
each investor's, the same rows as CSV; an investor's token is refused; a bad number of weeks
is a 422 in words."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from rampart.reports.revenue_text import CSV_COLUMNS
from rampart.store import models as m
from tests.api.conftest import LiveApi
from tests.panel.panel_http import sign_in

ADMIN = "/api/v1/admin"


def test_the_operator_reads_revenue_by_week_and_its_csv(live: LiveApi) -> None:
    with live.session.db.begin() as conn:
        conn.execute(
            m.investors.insert(),
            {"telegram_id": 42, "account_id": "alice", "accepted_disclaimer": True,
             "profile": "moderate", "capital": "10000", "mode": "paper", "created_at": 0},
        )  # fmt: skip
    live.trade(120)
    body = live.get(f"{ADMIN}/revenue?weeks=2").json()
    assert len(body["weeks"]) == 2 and body["as_of"] == live.clock.now_ms()
    mine = [i for i in body["investors"] if i["account_id"] == "alice"]
    assert mine and {i["account_id"] for i in body["investors"]} == {"alice"}
    # alice's fills were paid in USDT: each week's exchange fees hold hers among them.
    assert any(w["exchange_fees"] for w in body["weeks"])
    answer = live.get(f"{ADMIN}/revenue.csv?weeks=2")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 1 + 2 + len(mine)
    page = sign_in(live).get("/panel/revenue?weeks=2")
    assert page.status_code == 200 and "Revenue and fees" in page.text
    assert 'data-investor="alice"' in page.text and page.text.count("data-week=") == 2
    panel_csv = sign_in(live).get("/panel/revenue.csv?weeks=2")
    assert panel_csv.text == answer.text


def test_an_investor_may_not_read_revenue_and_bad_weeks_are_refused(live: LiveApi) -> None:
    assert live.get(f"{ADMIN}/revenue", who="alice").status_code == 403
    assert sign_in(live, "alice").get("/panel/revenue").status_code == 403
    refused = live.get(f"{ADMIN}/revenue?weeks=0")
    assert refused.status_code == 422 and "weeks" in refused.text
    with live.session.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(m.investors)).scalar() == 0
