"""A store filled with known rows (trades, fills, orders, snapshots, incidents, uptime, LLM
calls) around one ISO week, and the rows themselves as plain dicts for the tests to recompute
every figure from."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from rampart.reports.period import day_ms
from rampart.store import models as m
from rampart.store.llm_calls import LlmCall, record_call
from rampart.store.models.ops import uptime_spans

WEEK_MONDAY = date(2024, 3, 4)
MON = day_ms(WEEK_MONDAY)
DAY = 86_400_000
HOUR = 3_600_000
ACCOUNTS = ("alice", "bob", "carol")
STRATEGIES = ("trend", "breakout", "mean_reversion")
SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")
STATUSES = ("new", "submitted", "filled", "canceled", "rejected", "expired", "unknown")


@dataclass
class Rows:
    trades: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    llm: list[tuple[int, Decimal]] = field(default_factory=list)


def _price(rng: random.Random, lo: int, hi: int) -> Decimal:
    return Decimal(rng.randint(lo * 100, hi * 100)) / 100


def fill_store(engine: sa.Engine, seed: int = 11) -> Rows:
    """About two weeks of activity: the week of WEEK_MONDAY plus days either side."""
    rng = random.Random(seed)
    rows = Rows()
    lo, hi = MON - 3 * DAY, MON + 9 * DAY
    with engine.begin() as conn:
        for acct in ACCOUNTS:
            conn.execute(
                m.accounts.insert().values(
                    account_id=acct,
                    owner=acct,
                    agent="trend",
                    profile="moderate",
                    capital=Decimal(10000),
                    quote="USDT",
                    symbols=["BTC/USDT"],
                    state="active",
                    paused=False,
                    created_at=lo,
                    updated_at=lo,
                )
            )
        for i in range(120):
            acct = rng.choice(ACCOUNTS)
            entry = _price(rng, 90, 110)
            stop = entry - _price(rng, 1, 5)
            target = entry + _price(rng, 1, 12)
            qty = Decimal(rng.randint(1, 300)) / 100
            exit_price = rng.choice([stop, target, _price(rng, 90, 110)])
            gross = (exit_price - entry) * qty
            fees = (entry + exit_price) * qty * Decimal("0.001")
            closed = rng.randint(lo, hi)
            row = {
                "account_id": acct,
                "symbol": "BTC/USDT",
                "strategy": rng.choice(STRATEGIES),
                "entry_client_id": f"e-{i}",
                "opened_at": closed - HOUR,
                "closed_at": closed,
                "qty": qty,
                "entry_price": entry,
                "exit_price": exit_price,
                "gross_pnl": gross,
                "fees": fees,
                "pnl": gross - fees,
                "exit_reason": "target",
                "stop_loss": stop,
                "take_profit": target,
                "risk": (entry - stop) * qty,
            }
            conn.execute(m.trades.insert().values(**row))
            rows.trades.append(row)
        for i in range(300):
            row = {
                "fill_id": f"f-{i}",
                "client_id": f"c-{i}",
                "account_id": rng.choice(ACCOUNTS),
                "symbol": rng.choice(SYMBOLS),
                "side": "buy",
                "qty": Decimal(rng.randint(1, 500)) / 100,
                "price": _price(rng, 1, 300),
                "fee": Decimal("0.01"),
                "liquidity": "taker",
                "role": "entry",
                "strategy": "trend",
                "ts": rng.randint(lo, hi),
            }
            conn.execute(m.fills.insert().values(**row))
            rows.fills.append(row)
        for i in range(400):
            ts = rng.randint(lo, hi)
            row = {
                "client_id": f"o-{i}",
                "account_id": rng.choice(ACCOUNTS),
                "symbol": "BTC/USDT",
                "side": "buy",
                "type": "limit",
                "role": "entry",
                "qty": Decimal(1),
                "price": Decimal(100),
                "stop_price": None,
                "status": rng.choices(STATUSES, weights=(1, 2, 20, 6, 2, 1, 1))[0],
                "filled_qty": Decimal(0),
                "avg_fill_price": Decimal(0),
                "fees": Decimal(0),
                "venue_order_id": None,
                "oco_group": None,
                "parent_id": None,
                "strategy": "trend",
                "reason": "",
                "created_at": ts,
                "updated_at": ts,
            }
            conn.execute(m.orders.insert().values(**row))
            rows.orders.append(row)
        for _ in range(60):
            row = {
                "account_id": rng.choice(ACCOUNTS),
                "symbol": "BTC/USDT",
                "agent": "trend",
                "side": "buy",
                "code": rng.choice(("risk_per_trade", "max_open", "reward_risk")),
                "message": "refused",
                "entry_price": Decimal(100),
                "stop_loss": Decimal(99),
                "take_profit": Decimal(102),
                "ts": rng.randint(lo, hi),
            }
            conn.execute(m.rejections.insert().values(**row))
            rows.rejections.append(row)
        for _ in range(30):
            row = {
                "scope": rng.choice(ACCOUNTS),
                "kind": rng.choice(("breaker", "state")),
                "old": "active",
                "new": "halted",
                "reason": "daily loss",
                "actor": "risk",
                "flatten": False,
                "ts": rng.randint(lo, hi),
            }
            conn.execute(m.account_events.insert().values(**row))
            rows.events.append(row)
        for i in range(25):
            opened = rng.randint(lo, hi)
            row = {
                "key": f"k{i}",
                "rule": rng.choice(("OrderSuccessLow", "FeedStale", "DatabaseDown")),
                "severity": rng.choice(("P0", "P1", "P2")),
                "status": rng.choice(("open", "resolved")),
                "summary": f"incident {i}",
                "value": 1.0,
                "threshold": 0.5,
                "labels": {},
                "opened_at": opened,
                "notifications": 1,
            }
            result = conn.execute(m.incidents.insert().values(**row))
            rows.incidents.append({**row, "id": int(result.inserted_primary_key[0])})
        # Equity every 6 h; carol joins on Wednesday with new capital.
        for acct in ACCOUNTS:
            equity = Decimal(10000)
            first = MON + 2 * DAY + 5 * HOUR if acct == "carol" else lo
            for ts in range(first, hi, 6 * HOUR):
                equity += Decimal(rng.randint(-20000, 21000)) / 100
                row = {
                    "account_id": acct,
                    "ts": ts,
                    "cash": equity,
                    "positions_value": Decimal(0),
                    "equity": equity,
                    "realized_pnl": Decimal(0),
                }
                conn.execute(m.equity_snapshots.insert().values(**row))
                rows.snapshots.append(row)
        # Up from before the week to Tuesday 10:00, down 2 h, up again, overlapping spans.
        for began, last in (
            (lo, MON + DAY + 10 * HOUR),
            (MON + DAY + 12 * HOUR, MON + 3 * DAY),
            (MON + 2 * DAY, MON + 5 * DAY + 7 * HOUR),
            (MON + 5 * DAY + 9 * HOUR, hi),
        ):
            conn.execute(uptime_spans.insert().values(started_at=began, last_beat_at=last))
            rows.spans.append((began, last))
    for i in range(40):
        ts = rng.randint(lo, hi)
        cost = Decimal(rng.randint(0, 5000)) / 10000
        record_call(
            engine,
            LlmCall(ts, "llm", "gpt", 100, 20, cost, i % 3 == 0, "ok", 12.0),
        )
        rows.llm.append((ts, cost))
    return rows
