"""A store seeded with known investors, so the people figures have known answers.

Weeks start on Monday 2024-01-01 (W0). Cohort A started in week 0, cohort B in week 1:

| investor | started | connected | invested | traded | active in weeks |
|---|---|---|---|---|---|
| a1 | W0 | paper | yes | yes | 0, 1, 2, 3, 4, 5 (twice in 4 and 5) |
| a2 | W0 | exchange key | yes | yes | 0, 1, 5 |
| a3 | W0 | paper | no | no | — |
| a4 | W0 | no | no | no | — |
| b1 | W1 | demo | yes | no | 2, 3 (equity snapshots only) |
| b2 | W1 | no | no | no | — |

plus an operator account with fills, which is not an investor. NOW is week 6 + 1 day.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from rampart.store import models as m
from rampart.store.models.people import feedback

DAY = 86_400_000
WEEK = 7 * DAY
W0 = 1_704_067_200_000  # Monday 2024-01-01 00:00 UTC
NOW = W0 + 6 * WEEK + DAY

INVESTORS = {
    # account: (telegram id, started, mode)
    "tg-1": (7000001, W0 + 3_600_000, "paper"),
    "tg-2": (7000002, W0 + DAY, "binance"),
    "tg-3": (7000003, W0 + 2 * DAY, "paper"),
    "tg-4": (7000004, W0 + 3 * DAY, ""),
    "tg-5": (7000005, W0 + WEEK + DAY, "demo"),
    "tg-6": (7000006, W0 + WEEK + 2 * DAY, ""),
}
ORDERS = {
    "tg-1": [
        *(W0 + k * WEEK + DAY for k in range(4)),
        W0 + 2 * DAY,
        W0 + 4 * WEEK + 2 * DAY,
        W0 + 5 * WEEK + 3 * DAY,
    ],
    "tg-2": [W0 + 2 * DAY, W0 + WEEK + 3 * DAY, W0 + 5 * WEEK + DAY // 2],
    "engine-btc-1": [W0 + 2 * WEEK, W0 + 5 * WEEK + 3 * DAY],
}
SNAPSHOTS = {"tg-5": [W0 + 2 * WEEK + DAY, W0 + 3 * WEEK + DAY]}
FILLED = {"tg-1": W0 + 2 * DAY + 60_000, "tg-2": W0 + 2 * DAY + 60_000, "engine-btc-1": W0}
SCORES = [(NOW - DAY, 5), (NOW - 2 * DAY, 4), (NOW - 3 * DAY, 2), (NOW - 40 * DAY, 1)]


def _account(account_id: str, created_at: int) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "owner": "operator" if account_id.startswith("engine") else f"telegram:{account_id[3:]}",
        "agent": "trend",
        "profile": "moderate",
        "capital": Decimal(500),
        "quote": "USDT",
        "symbols": ["BTC/USDT"],
        "state": "active",
        "paused": False,
        "created_at": created_at,
        "updated_at": created_at,
    }


def _order(account_id: str, n: int, ts: int) -> dict[str, Any]:
    return {
        "client_id": f"{account_id}-{n}-e",
        "account_id": account_id,
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "limit",
        "role": "entry",
        "qty": Decimal("0.01"),
        "price": Decimal(40000),
        "status": "filled",
        "filled_qty": Decimal("0.01"),
        "avg_fill_price": Decimal(40000),
        "fees": Decimal("0.4"),
        "strategy": "trend",
        "reason": "",
        "created_at": ts,
        "updated_at": ts,
    }


def _fill(account_id: str, ts: int) -> dict[str, Any]:
    return {
        "fill_id": f"{account_id}-f",
        "client_id": f"{account_id}-0-e",
        "account_id": account_id,
        "symbol": "BTC/USDT",
        "side": "buy",
        "qty": Decimal("0.01"),
        "price": Decimal(40000),
        "fee": Decimal("0.4"),
        "liquidity": "maker",
        "role": "entry",
        "strategy": "trend",
        "ts": ts,
    }


def seed(db: sa.Engine) -> None:
    with db.begin() as conn:
        for account, (tid, started, mode) in INVESTORS.items():
            conn.execute(
                m.investors.insert().values(
                    telegram_id=tid,
                    account_id=account,
                    accepted_disclaimer=True,
                    profile="moderate",
                    capital=Decimal(500 if mode else 0),
                    mode=mode,
                    created_at=started,
                )
            )
        conn.execute(
            m.credentials.insert().values(
                account_id="tg-2",
                exchange="binance",
                ciphertext=b"sealed",
                nonce=b"nonce",
                key_id="k1",
                created_at=W0 + DAY + 60_000,
            )
        )
        for account in ("tg-1", "tg-2", "tg-5"):
            conn.execute(m.accounts.insert().values(**_account(account, INVESTORS[account][1] + 1)))
        conn.execute(m.accounts.insert().values(**_account("engine-btc-1", W0 - WEEK)))
        for account, times in ORDERS.items():
            for n, ts in enumerate(times, start=1):
                conn.execute(m.orders.insert().values(**_order(account, n, ts)))
        for account, ts in FILLED.items():
            conn.execute(m.fills.insert().values(**_fill(account, ts)))
        for account, times in SNAPSHOTS.items():
            for ts in times:
                conn.execute(
                    m.equity_snapshots.insert().values(
                        account_id=account,
                        ts=ts,
                        cash=Decimal(500),
                        positions_value=Decimal(0),
                        equity=Decimal(500),
                        realized_pnl=Decimal(0),
                    )
                )
        for ts, score in SCORES:
            conn.execute(feedback.insert().values(account_id="tg-1", score=score, text="", ts=ts))
