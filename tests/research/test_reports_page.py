"""A research report is listed on the panel's Reports page (and under its own filter) and
shown there with its charts, like the daily and weekly ones."""

from __future__ import annotations

import re

from rampart.reports.store import save_report
from rampart.research.report import KIND
from tests.api.conftest import LiveApi, live  # noqa: F401
from tests.panel.panel_http import ADMIN, sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_a_research_report_is_listed_and_viewable(live: LiveApi) -> None:  # noqa: F811
    report_id = save_report(
        live.session.db,
        kind=KIND,
        scope="trend-XRP_ETH-5m-sharpe",
        period_start=1_570_752_000_000,
        period_end=1_570_968_000_000,
        created_at=1_570_970_000_000,
        markdown="# Research: trend on XRP_ETH-5m\n\n## Verdict\n\n- Do not launch it: it is "
        "likely overfit.\n\n![Overfitting](overfit.png)\n",
        figures={"pbo": 0.62},
        charts={"overfit.png": PNG},
    )
    client = sign_in(live)
    listing = client.get("/panel/reports").text
    # The cell as sent: each carries its column's card label (data-label) from the server.
    assert f'<tr data-report="{report_id}">' in listing
    assert re.search(r"<td( data-label=\"[^\"]*\")?>research</td>", listing)
    only = client.get("/panel/reports", params={"kind": "research"}).text
    assert f'<tr data-report="{report_id}">' in only
    assert 'href="/panel/reports?kind=research"' in listing
    assert (
        f'<tr data-report="{report_id}">'
        not in client.get("/panel/reports", params={"kind": "daily"}).text
    )
    shown = client.get(f"/panel/reports/{report_id}")
    assert shown.status_code == 200
    assert "Do not launch it" in shown.text and "<h1>" in shown.text
    assert f'src="/panel/reports/{report_id}/charts/overfit.png"' in shown.text
    png = client.get(f"/panel/reports/{report_id}/charts/overfit.png")
    assert png.status_code == 200 and png.content == PNG
    api = live.get(f"{ADMIN}/reports", params={"kind": "research"}).json()["reports"]
    assert [r["id"] for r in api] == [report_id]
