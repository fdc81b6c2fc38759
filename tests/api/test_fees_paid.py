"""What investors read as fees paid is what their fills cost, once: the portfolio's
``fees_paid`` equals the sum of the fees of the account's orders (each the sum of its fills),
the sum of the fills the store holds, and closed trades plus open positions.

The ledger's ``fees_paid`` is a counter of its own, outside the equity identity the engine
checks after every fill, so only a comparison with the fills themselves shows it counted wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from rampart.store import queries
from tests.api.conftest import ACCOUNTS, LiveApi

BASE = "/api/v1/accounts"
MAX_ITEMS = 1000


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    # Its own service: these tests only read, so one per module is enough.
    api = LiveApi(tmp_path_factory.mktemp("fees"))
    try:
        yield api.start()
    finally:
        api.stop()


def _money(text: str) -> Decimal:
    assert isinstance(text, str), text  # money crosses the API as exact decimal strings
    return Decimal(text)


@pytest.mark.parametrize("account", [a.id for a in ACCOUNTS])
def test_fees_paid_is_the_sum_of_the_fill_fees(served: LiveApi, account: str) -> None:
    portfolio = served.get(f"{BASE}/{account}/portfolio", who=account)
    assert portfolio.status_code == 200, portfolio.text
    fees_paid = _money(portfolio.json()["fees_paid"])

    orders = served.get(f"{BASE}/{account}/orders", who=account, params={"limit": MAX_ITEMS})
    assert orders.status_code == 200, orders.text
    listed = orders.json()["orders"]
    assert len(listed) < MAX_ITEMS  # the whole history, or the sum below would fall short
    by_orders = sum((_money(o["fees"]) for o in listed), Decimal(0))

    # The store's fill rows, written from the fill events, not from the ledger.
    fills = queries.recent_fills(served.session.db, account, limit=queries.MAX_LIMIT)
    assert len(fills) < queries.MAX_LIMIT
    by_fills = sum((f.fill.fee for f in fills), Decimal(0))

    assert fills and fees_paid > 0  # the warm-up traded, so the check has something to sum
    assert fees_paid == by_orders == by_fills


@pytest.mark.parametrize("account", [a.id for a in ACCOUNTS])
def test_fees_paid_is_closed_trades_plus_open_positions(served: LiveApi, account: str) -> None:
    fees_paid = _money(served.get(f"{BASE}/{account}/portfolio", who=account).json()["fees_paid"])
    trades = served.get(f"{BASE}/{account}/trades", who=account, params={"limit": MAX_ITEMS})
    listed = trades.json()["trades"]
    assert listed and len(listed) < MAX_ITEMS
    closed = sum((_money(t["fees"]) for t in listed), Decimal(0))
    # The positions endpoint shows no fees, so an open position's come from the engine's book.
    ledger = served.engine.accounts[account].ledger
    still_open = sum((p.entry_fees + p.exit_fees for p in ledger.positions.values()), Decimal(0))
    assert fees_paid == closed + still_open


def test_the_sum_still_holds_after_more_trading(served: LiveApi) -> None:
    # Runs last in this module (it trades): the counter keeps growing with the fills only.
    served.trade(240)
    for account in (a.id for a in ACCOUNTS):
        body = served.get(f"{BASE}/{account}/portfolio", who=account).json()
        fills = queries.recent_fills(served.session.db, account, limit=queries.MAX_LIMIT)
        assert _money(body["fees_paid"]) == sum((f.fill.fee for f in fills), Decimal(0))
