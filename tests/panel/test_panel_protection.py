"""The panel's account page says what protects each position beside its stop-loss: the
exchange, or UNPROTECTED (since when) once the stop rests nowhere; never a bare stop price."""

from __future__ import annotations

import html
from pathlib import Path

from rampart.domain.orders import OrderRole
from tests.api.conftest import LiveApi
from tests.panel.panel_http import sign_in


def _protection_cells(page: str) -> list[str]:
    cells = page.split('data-figure="protection"')[1:]
    return [html.unescape(c.split(">", 1)[1].split("</td>", 1)[0]) for c in cells]


def test_the_account_page_says_what_protects_each_position(tmp_path: Path) -> None:
    live = LiveApi(tmp_path).start()
    try:
        _check(live)
    finally:
        live.stop()


def _check(live: LiveApi) -> None:
    client = sign_in(live)
    page = client.get("/panel/accounts/bob").text
    assert _protection_cells(page) == ["protected by the exchange"]
    assert 'data-protection="exchange"' in page

    acct = live.engine.accounts["bob"]

    def lose_the_stop() -> None:
        live.engine.executor.hold_protection.add("bob")
        for o in acct.working("ETH/USDT", (OrderRole.STOP_LOSS,)):
            del acct.orders[o.client_id]

    live.call(lose_the_stop)
    page = client.get("/panel/accounts/bob").text
    (cell,) = _protection_cells(page)
    assert cell.startswith('<strong class="bad">UNPROTECTED (since ') and cell.endswith(
        "UTC)</strong>"
    )
    assert 'data-figure="chart-protection" data-protection="unprotected"' in page
    # The open trades of every account say it too.
    trades = client.get("/panel/trades").text
    assert 'data-figure="protection" data-protection="unprotected"' in trades
