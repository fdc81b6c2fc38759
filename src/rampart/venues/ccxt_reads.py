"""The venue's own reads outside order history, each named with its budget lane: the markets
(market data) and an account's balances (what reconciliation compares)."""

from __future__ import annotations

from typing import Any

from rampart.venues import ccxt_mapping as mapping
from rampart.venues.budget_lanes import Lane
from rampart.venues.ccxt_accounts import check_markets
from rampart.venues.ccxt_errors import CcxtCaller, Op


async def load_markets(caller: CcxtCaller, client: Any, reload: bool = False) -> dict[str, Any]:
    """The exchange's markets: ccxt's cached ones, or read again with ``reload``."""
    return await caller.call(
        client,
        "load_markets",
        Op.READ,
        lambda: client.load_markets(reload),
        check=check_markets,
        lane=Lane.MARKET,
    )


async def fetch_balance(caller: CcxtCaller, client: Any) -> Any:
    return await caller.call(
        client,
        "fetch_balance",
        Op.READ,
        lambda: client.fetch_balance(),
        check=mapping.check_balance,
        lane=Lane.RECONCILE,
    )


__all__ = ["fetch_balance", "load_markets"]
