"""The takeover of one shard of many accounts on the exchange simulator, measured
inside one process: ``bench/scale.py --takeover N`` (or this file run alone).

A ``rampart simulator`` process (one-second candles, its own CPU, as in
tests/scale/test_worker_processes.py), PostgreSQL, and :class:`ShardTrader`s of one shard that
holds every account, as a worker builds them:

- **fresh**: the shard taken with no checkpoint (its accounts' histories read, their ids
  reserved, their books compared), ``--takeover`` times;
- **adopt**: the shard's owner checkpoints, then sends an order for every account (an entry and
  its stop-loss/take-profit pair, or the exit of the position it holds) and stops without a
  checkpoint, as a SIGKILL leaves it; the next owner takes it from the checkpoint and must
  adopt those orders, book their fills and find every position protected.

The time of :meth:`ShardTrader.take` (open, restore, warm, reconcile: until the shard trades)
is printed as p50/p99 with the repairs the takes made. The failover a worker sees is the
lease (``scale.lease_s``) plus the renewal round plus this.

**Resume after kill -9** (``--kills N``): real processes instead, as an operator runs
them: a NATS server of the bench's own, one ``rampart feed`` and three ``rampart worker``s
(the settings' lease and renewal defaults) trading paper accounts on a synthetic feed paced at
a candle a second (``--on-simulator``: the exchange simulator's accounts, where the shared
request budget is part of what a take waits for). ``N`` times a
worker holding shards is killed with SIGKILL and a fresh one started in its place; for each of
its shards, the time from the kill to the claim by another worker (its ``shard_claimed`` log
line) and to the shard's first decision there (``shard_resumed``: the first candle its engine
traded), p50/p95, once on the machine as it is and once with a load generator the bench
starts and stops itself (``--load 2``: spinning processes making the CPU demand twice the
cores). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from tests.conftest import fresh_pg_schema
from tests.served_command import ServedCommand

from _util import percentile, quiet_logs
from rampart.clock import SimClock
from rampart.config import Settings, load_settings
from rampart.domain.candles import Candle
from rampart.domain.money import floor_to_step
from rampart.domain.orders import Order, OrderRole, OrderType, Side
from rampart.fleet.shard import ShardTrader
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.trading.account import Bracket
from rampart.wiring.fleet_parts import shard_trader
from rampart.wiring.venue_kinds import load_instruments
from rampart.wiring.venues import public_client

PG = os.environ.get("RAMPART_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SYMBOL = "BTC/USDT"
ENTRY_QUOTE = Decimal("300")
"""What each scripted entry buys, in USDT."""


def simulator(accounts: int) -> ServedCommand:
    code = "from rampart.cli.main import main; main()"
    args = ["simulator", "--port", "0", "--timeframe", "1s", "--accounts", str(accounts)]
    args += ["--balance", "10000USDT", "--request-limit", "600000"]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return ServedCommand(proc, max_lines=accounts + 10)


def settings_for(
    sim: ServedCommand, db_url: str, accounts: int, concurrency: int | None, shards: int
) -> Settings:
    keys = re.findall(r"account (\S+): api key (\S+) secret (\S+)", "".join(sim.startup))
    venue: dict[str, Any] = {
        "kind": "ccxt",
        "exchange": "binance",
        "api_url": sim.url,
        "rate_limit_ms": 5,
        "credentials": {
            f"acct-{i:03d}": {"api_key": k, "secret": s} for i, (_a, k, s) in enumerate(keys)
        },
    }
    if concurrency is not None:
        venue["reconcile_concurrency"] = concurrency
    return load_settings(
        mode="testnet",
        venue=venue,
        feed={"kind": "ccxt", "symbols": [SYMBOL], "timeframe": "1s"},
        accounts=[
            {
                "id": f"acct-{i:03d}",
                "agent": "trend",
                "profile": "aggressive",
                "symbols": [SYMBOL],
                "capital": 1000,
            }
            for i in range(accounts)
        ],
        store={"url": db_url, "checkpoint_every": 1000},
        engine={"history": 60},
        alerts={"enabled": False},
        api={"enabled": False},
        scale={"shards": shards},
    )


async def recent(settings: Settings) -> list[Candle]:
    client = public_client(settings)
    try:
        rows = await client.fetch_ohlcv(SYMBOL, "1s", None, 60)
    finally:
        await client.close()
    return [Candle(SYMBOL, int(r[0]), *map(float, r[1:6]), 1000) for r in rows[:-1]]


class Bench:
    def __init__(self, settings: Settings, db: Any, instruments: Any) -> None:
        self.settings = settings
        self.db = db
        self.instruments = instruments
        self.clock = SimClock(0)

        self.shards = settings.scale.shards
        self.stall = 0.0
        """The longest the event loop was late for a timer during the takes (seconds)."""

    def trader(self, shard: int) -> ShardTrader:
        return shard_trader(
            self.settings, shard, self.shards, self.clock, self.instruments,
            db=self.db, fence=lambda conn: None, wrap_venue=lambda v: v,
        )  # fmt: skip

    async def take_all(self) -> tuple[list[ShardTrader], list[float]]:
        """Every shard taken side by side, as a worker takes a round's shards."""
        candles = await recent(self.settings)
        self.clock.set(max(int(time.time() * 1000), candles[-1].close_ts))
        traders = [self.trader(s) for s in range(self.shards)]

        async def timed(trader: ShardTrader) -> float:
            started = time.perf_counter()
            await trader.take(candles)
            return time.perf_counter() - started

        watch = asyncio.create_task(self._watch())
        try:
            seconds = await asyncio.gather(*(timed(t) for t in traders))
        finally:
            watch.cancel()
        return traders, list(seconds)

    async def _watch(self) -> None:
        """How late the loop runs a 50 ms timer: what a worker's lease renewal would suffer."""
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.05)
            self.stall = max(self.stall, time.perf_counter() - started - 0.05)

    def forget_checkpoint(self) -> None:
        with self.db.begin() as conn:
            conn.execute(sa.delete(m.checkpoints))


async def send_orders(trader: ShardTrader) -> int:
    """What the owner sends after its checkpoint: an exit where there is a position, else an
    entry whose pair is placed once it fills. Returns the orders sent."""
    engine = trader.engine
    executor = engine.executor
    inst = engine.venue.instrument(SYMBOL)
    price = engine.marks[SYMBOL]
    sent = 0
    for acct in list(engine.accounts.values()):
        before = len(acct.recent_orders)
        if SYMBOL in acct.ledger.positions:
            await executor.exit_position(acct, SYMBOL, "bench")
        else:
            cid = acct.next_client_id(OrderRole.ENTRY)
            stop = floor_to_step(price * Decimal("0.97"), inst.tick_size)
            take = floor_to_step(price * Decimal("1.03"), inst.tick_size)
            acct.brackets[cid] = Bracket(stop, take)
            qty = inst.floor_qty(ENTRY_QUOTE / price)
            order = Order(cid, acct.account_id, SYMBOL, Side.BUY, OrderType.MARKET, qty,
                          OrderRole.ENTRY, strategy=acct.spec.agent)  # fmt: skip
            await executor.submit(acct, order)
            await executor.drain()
        sent += len(acct.recent_orders) - before
    return sent


async def run(accounts: int, rounds: int, concurrency: int | None, shards: int = 1) -> None:
    quiet_logs()
    sim = simulator(accounts)
    try:
        with fresh_pg_schema(PG) as db_url:
            settings = settings_for(sim, db_url, accounts, concurrency, shards)
            db = open_database(db_url)
            try:
                instruments = await load_instruments(settings, [SYMBOL])
                bench = Bench(settings, db, instruments)
                fresh: list[float] = []
                for _ in range(rounds):
                    traders, seconds = await bench.take_all()
                    fresh += seconds
                    for trader in traders:
                        await trader.drop()
                    bench.forget_checkpoint()
                owners, _ = await bench.take_all()
                adopt: list[float] = []
                repairs: Counter[str] = Counter()
                sent = 0
                for _ in range(rounds):
                    for owner in owners:
                        await owner.session.checkpoint_off_loop()
                        sent += await send_orders(owner)
                        await owner.drop()  # stopped without a checkpoint, as a SIGKILL does
                    owners, seconds = await bench.take_all()
                    adopt += seconds
                    for owner in owners:
                        repairs.update(owner.reconciler.totals)
                for owner in owners:
                    await owner.drop()
            finally:
                db.dispose()
    finally:
        sim.interrupt()
    label = f"concurrency {concurrency}" if concurrency is not None else "default concurrency"
    print(
        f"takeover of {shards} shard(s) of {accounts} accounts side by side on the exchange "
        f"simulator ({label}), {rounds} each: fresh p50 {percentile(fresh, 50):.2f} s, p99 "
        f"{percentile(fresh, 99):.2f} s; with orders to adopt p50 {percentile(adopt, 50):.2f} "
        f"s, p99 {percentile(adopt, 99):.2f} s ({sent} orders sent after the checkpoints; "
        f"repairs {dict(repairs)}); the event loop late by up to {bench.stall:.2f} s"
    )


def master_key() -> str:
    """A throwaway master key: the simulator runs in testnet mode, which asks for one."""
    from rampart.security.secrets import generate_key

    return generate_key()


def main() -> None:
    os.environ.setdefault("RAMPART_MASTER_KEY", master_key())
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--kills", type=int, default=0, help="resume after kill -9, N times")
    parser.add_argument("--load", type=float, default=2.0, help="CPU oversubscription (--kills)")
    parser.add_argument(
        "--on-simulator", action="store_true", help="--kills on the exchange simulator"
    )
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores")
    if args.kills:
        from _scale_kill import resume_after_kills

        on = simulator if args.on_simulator else None
        resume_after_kills(args.accounts, args.kills, args.load, on)
        return
    asyncio.run(run(args.accounts, args.rounds, args.concurrency, args.shards))


if __name__ == "__main__":
    main()
