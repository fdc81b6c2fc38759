"""A Rampart engine process for the kill test: trades one account through the real ccxt client
against a simulator URL, saves its state after every candle (events and checkpoint in one
transaction), reconciles at start, and writes its books to a JSON file when asked to stop.

    python -m tests.chaos.engine_proc --url URL --db PATH --books PATH --stop PATH
    (API key and secret in RAMPART_CHAOS_KEY / RAMPART_CHAOS_SECRET)

Prints one line per milestone on stdout: ``READY``, ``RECONCILED <json>``, ``CANDLE <ts>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.risk.profiles import get_profile
from rampart.store.db import open_database
from rampart.store.queries import load_checkpoint
from rampart.store.writer import StoreWriter
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.reconcile.reconciler import Reconciler
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.venues.retry import RetryPolicy
from rampart_testkit.simulator import ccxt_client
from rampart_testkit.soak.agent import soak_agent_factory

SYMBOL = "BTC/USDT"
ACCOUNT = "a1"
TF_MS = 60_000
CHECKPOINT = "chaos"
TIGHT = {"moderate": {"min_stop": "0.002", "min_rr": "1"}}


def say(*parts: object) -> None:
    print(*parts, flush=True)


def candles_of(rows: list[Any]) -> list[Candle]:
    return [Candle(SYMBOL, int(r[0]), *(float(v) for v in r[1:6]), TF_MS) for r in rows]


async def run(args: argparse.Namespace) -> None:
    clock = SimClock(0)
    key, secret = os.environ["RAMPART_CHAOS_KEY"], os.environ["RAMPART_CHAOS_SECRET"]
    client = ccxt_client(args.url, key, secret, enableRateLimit=False, timeout=3000)
    public = ccxt_client(args.url, enableRateLimit=False, timeout=3000)
    venue = CcxtVenue(
        {ACCOUNT: client},
        clock=clock,
        public=public,
        policy=RetryPolicy(attempts=3, base_s=0.1, cap_s=1.0),
        unknown_grace_s=30.0,
        rng=random.Random(1),
    )
    await venue.load([SYMBOL])
    db = open_database(f"sqlite:///{args.db}")
    writer = StoreWriter(db)
    bus = EventBus()
    bus.subscribe(writer)
    engine = Engine(
        venue=venue,
        clock=clock,
        bus=bus,
        make_agent=soak_agent_factory(),
        profile_for=lambda name: get_profile(name, TIGHT),
        taker_fee=Decimal("0.001"),
    )
    spec = AccountSpec(ACCOUNT, "churn", "moderate", Decimal("10000"), (SYMBOL,))
    await engine.add_account(spec, {"every": 2, "hold": 4})
    saved = load_checkpoint(db, CHECKPOINT)
    history = candles_of(await public.fetch_ohlcv(SYMBOL, "1m", None, 500))
    if saved is not None:
        engine.load_snapshot(saved[1])
    # Indicators are rebuilt from the exchange's candles; candles missed while down are not
    # traded on (they are history now): trading resumes with the next one.
    for candle in history:
        clock.set(max(clock.now_ms(), candle.close_ts))
        engine.warm(candle)
    next_ts = history[-1].ts + TF_MS
    say("READY")
    report = await Reconciler().run(engine, reason="start")
    writer.flush((CHECKPOINT, clock.now_ms(), engine.snapshot()))
    say("RECONCILED", json.dumps(report.to_dict()))
    stop = Path(args.stop)
    while not stop.exists():
        rows = await public.fetch_ohlcv(SYMBOL, "1m", next_ts, 500)
        for candle in candles_of(rows):
            if candle.ts < next_ts:
                continue
            clock.set(max(clock.now_ms(), candle.close_ts))
            await engine.on_candle(candle)
            next_ts = candle.ts + TF_MS
            writer.flush((CHECKPOINT, clock.now_ms(), engine.snapshot()))
            say("CANDLE", candle.ts)
        await asyncio.sleep(0.02)
    acct = engine.accounts[ACCOUNT]
    books = {
        "cash": str(acct.ledger.cash),
        "positions": {s: str(p.qty) for s, p in acct.ledger.positions.items()},
        "dust": {s: str(q) for s, q in acct.ledger.dust.items()},
        "orders": {c: [o.status.value, str(o.filled_qty)] for c, o in acct.orders.items()},
        "violations": engine.violations,
        "seq": acct.seq,
    }
    Path(args.books).write_text(json.dumps(books), encoding="utf-8")
    await venue.aclose()
    db.dispose()
    say("STOPPED")


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--url", "--db", "--books", "--stop"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    asyncio.run(run(args))
    sys.exit(0)


if __name__ == "__main__":
    main()
