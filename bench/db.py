"""The service's own database statements on PostgreSQL, timed as ``DatabaseSlow`` reads them
(plan 003: database response < 10 ms), statement by statement.

One process is the service as ``bench/api.py`` runs it (a TradingSession with ``--accounts``
accounts on the synthetic feed, its store on PostgreSQL, the API app over it), its store given
first what a month of trading leaves (``--history`` filled orders and their fills, closed
trades, equity points, rejections and order transitions per account) through the store's own
tables. For ``--seconds`` the engine trades at the feed's pace, checkpointing every
``--checkpoint-every`` candles (the writes), while an open-loop schedule of ``--rate`` API
requests a second (in process, through the ASGI app) reads every account's portfolio, orders,
trades, equity, profit and rejections and the operator's accounts, overview and incidents
(the reads).

Every statement is timed by the same SQLAlchemy hooks that feed ``rampart_db_query_seconds``.
Prints: the statements' count, p50, p95 (exact, and interpolated in the histogram's buckets as
the alert rule reads it) and mean against the 10 ms target; then the slowest statements by p95
with their count and total time, so a slow one can be found and fixed. A PostgreSQL schema of
the bench's own (``RAMPART_BENCH_PG_URL``, default the local ``test`` database), dropped at the
end. Bounded (about a minute with the defaults); asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402
from tests.conftest import fresh_pg_schema  # noqa: E402

from _service import SYMBOLS, open_service  # noqa: E402
from _util import machine_speed, percentile, quiet_logs  # noqa: E402
from scale import PG  # noqa: E402

DAY_MS = 86_400_000
TARGET_MS = 10.0
_NUMBERS = re.compile(r"\b\d+\b")


def account(i: int) -> str:
    return f"acct-{i:04d}"


class StatementTimes:
    """Every statement's wall time, by its text with the numbers taken out (a statement with
    another list length or LIMIT is the same statement)."""

    def __init__(self, db: sa.Engine) -> None:
        self.by: dict[str, list[float]] = defaultdict(list)
        self.sample: dict[str, tuple[str, Any]] = {}
        """One statement of each kind as sent, with its parameters, to explain afterwards."""
        self.on = False
        event.listen(db, "before_cursor_execute", self._before)
        event.listen(db, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, stmt: str, params: Any, ctx: Any, many: bool) -> None:
        if ctx is not None:
            ctx._bench_started = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, stmt: str, params: Any, ctx: Any, many: bool) -> None:
        started = getattr(ctx, "_bench_started", None)
        if started is None or not self.on:
            return
        text = _NUMBERS.sub("N", " ".join(stmt.split()))
        self.by[text].append((time.perf_counter() - started) * 1000)
        if text not in self.sample and not many:
            self.sample[text] = (stmt, params)

    def all(self) -> list[float]:
        return [ms for times in self.by.values() for ms in times]


def seed(db: sa.Engine, accounts: int, per_account: int, now_ms: int) -> int:
    """What a month of trading leaves in the store, through its own tables."""
    from rampart.store import models as m

    start = now_ms - 30 * DAY_MS
    step = 30 * DAY_MS // max(1, per_account)
    rows = 0
    for a in range(accounts):
        acct = account(a)
        batches: dict[sa.Table, list[dict[str, Any]]] = defaultdict(list)
        for i in range(per_account):
            ts = start + i * step + a
            cid = f"hist-{a:04d}-{i:05d}"
            symbol = SYMBOLS[i % len(SYMBOLS)]
            price = f"{30000 + (i % 500) * 3:.2f}"
            side = "buy" if i % 2 == 0 else "sell"
            role = "entry" if side == "buy" else "exit"
            batches[m.orders].append(
                {
                    "client_id": cid, "account_id": acct, "symbol": symbol, "side": side,
                    "type": "market", "role": role, "qty": "0.001", "price": None,
                    "stop_price": None, "status": "filled", "filled_qty": "0.001",
                    "avg_fill_price": price, "fees": "0.03", "venue_order_id": f"v-{cid}",
                    "oco_group": None, "parent_id": None, "strategy": "trend",
                    "reason": "history", "created_at": ts, "updated_at": ts + 40,
                }
            )  # fmt: skip
            batches[m.fills].append(
                {
                    "fill_id": f"f-{cid}", "client_id": cid, "account_id": acct,
                    "symbol": symbol, "side": side, "qty": "0.001", "price": price,
                    "fee": "0.03", "liquidity": "taker", "role": role, "strategy": "trend",
                    "ts": ts + 40,
                }
            )  # fmt: skip
            for previous, status in (("new", "submitted"), ("submitted", "filled")):
                batches[m.order_transitions].append(
                    {"client_id": cid, "account_id": acct, "ts": ts, "previous": previous,
                     "status": status}
                )  # fmt: skip
            batches[m.equity_snapshots].append(
                {"account_id": acct, "ts": ts, "cash": "9000", "positions_value": "1000",
                 "equity": "10000", "realized_pnl": "0"}
            )  # fmt: skip
            if i % 2:
                batches[m.trades].append(
                    {
                        "account_id": acct, "symbol": symbol, "strategy": "trend",
                        "entry_client_id": f"hist-{a:04d}-{i - 1:05d}", "opened_at": ts - step,
                        "closed_at": ts, "qty": "0.001", "entry_price": price,
                        "exit_price": price, "gross_pnl": "0", "fees": "0.06", "pnl": "-0.06",
                        "exit_reason": "take_profit", "stop_loss": "29000",
                        "take_profit": "31000", "risk": "1",
                    }
                )  # fmt: skip
            if i % 5 == 0:
                batches[m.rejections].append(
                    {"account_id": acct, "symbol": symbol, "agent": "trend", "side": "buy",
                     "code": "risk_per_trade",
                     "message": "The trade would risk more than the profile allows.",
                     "entry_price": price, "stop_loss": "29000", "take_profit": "31000",
                     "ts": ts}
                )  # fmt: skip
        with db.begin() as conn:
            for table, batch in batches.items():
                conn.execute(table.insert(), batch)
                rows += len(batch)
    with db.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    return rows


async def measure(args: argparse.Namespace, db_url: str, work: Path) -> None:
    import httpx

    from rampart.api.app import create_app
    from rampart.market.synthetic import SyntheticFeed
    from rampart.observability.db_metrics import instrument_database
    from rampart.security.tokens import create_token

    svc = await open_service(
        args.accounts, args.speed, work, store_url=db_url, checkpoint_every=args.checkpoint_every
    )
    session, ctx, clock = svc.session, svc.ctx, svc.clock
    db = session.db
    now_ms = int(time.time() * 1000)
    t0 = time.perf_counter()
    rows = seed(db, args.accounts, args.history, now_ms)
    print(f"seeded {rows:,} history rows for {args.accounts} accounts in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    times = StatementTimes(db)
    instrument_database(db, ctx.metrics)
    admin = create_token(db, "admin", None, "bench-admin", svc.ops.now_ms())
    users = {account(a): create_token(db, "user", account(a), f"b-{a}", svc.ops.now_ms())
             for a in range(args.accounts)}  # fmt: skip
    paths: list[tuple[str, str]] = []
    for acct, token in users.items():
        for what in ("portfolio", "orders", "trades", "equity", "profit", "rejections"):
            paths.append((f"/api/v1/accounts/{acct}/{what}", token))
    for path in ("/api/v1/admin/accounts", "/api/v1/overview", "/api/v1/admin/incidents"):
        paths.append((path, admin))
    candles = SyntheticFeed(SYMBOLS, seed=7, timeframe="1m").iter_candles()

    async def step(n: int) -> None:
        for candle in itertools.islice(candles, n):
            clock.set(candle.close_ts)
            async with ctx.lock:
                await session.process(candle)
            await asyncio.sleep(0)

    await step(300)  # the agents warm up, the first checkpoints go in
    times.on = True
    interval_s = 60 / args.speed
    statuses: dict[int, int] = defaultdict(int)
    app = create_app(ctx)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

        async def trade(seconds: float) -> None:
            loop = asyncio.get_running_loop()
            begin, ticks = loop.time(), 0
            while loop.time() - begin < seconds:
                await step(len(SYMBOLS))
                ticks += 1
                await asyncio.sleep(max(begin + ticks * interval_s - loop.time(), 0))

        async def one(path: str, token: str) -> None:
            answer = await http.get(path, headers={"Authorization": f"Bearer {token}"})
            statuses[answer.status_code] += 1

        async def read(seconds: float) -> None:
            loop = asyncio.get_running_loop()
            begin, tasks = loop.time(), []
            for i, (path, token) in enumerate(itertools.cycle(paths)):
                due = begin + i / args.rate
                if due - begin >= seconds:
                    break
                await asyncio.sleep(max(due - loop.time(), 0))
                tasks.append(asyncio.create_task(one(path, token)))
            await asyncio.gather(*tasks)

        print(f"trading {args.accounts} accounts with {args.rate:g} API requests/s for "
              f"{args.seconds:g} s …", flush=True)  # fmt: skip
        await asyncio.gather(trade(args.seconds), read(args.seconds))
    times.on = False
    session.close()
    report(args, times, ctx.metrics.registry, dict(statuses), sa.create_engine(db_url))


def explain(db: sa.Engine, stmt: str, params: Any) -> tuple[float, str]:
    """PostgreSQL's own execution time of one statement (ms) and its plan's scans, in a
    transaction rolled back (a write is undone): what the query costs on the server, apart from
    the time its caller waited for a CPU."""
    with db.connect() as conn, conn.begin() as tx:
        plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {stmt}", params).scalar()
        tx.rollback()
    top = plan[0]
    scans: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        kind = node.get("Node Type", "")
        if "Scan" in kind:
            where = node.get("Index Name") or node.get("Relation Name") or ""
            scans.append(f"{kind} {where}".strip())
        for child in node.get("Plans", []):
            walk(child)

    walk(top["Plan"])
    return float(top["Execution Time"]), ", ".join(dict.fromkeys(scans)) or "-"


def report(
    args: argparse.Namespace,
    times: StatementTimes,
    registry: Any,
    statuses: Any,
    db: sa.Engine,
) -> None:
    from api import db_figures

    every = times.all()
    p95 = percentile(every, 95)
    bucket_ms = db_figures(registry)[1] * 1000
    print()
    print(f"API answers by status: {dict(sorted(statuses.items()))}")
    print(
        f"database statements: {len(every):,}; p50 {percentile(every, 50):.2f} ms, "
        f"p95 {p95:.2f} ms (DatabaseSlow's bucket reading {bucket_ms:.2f} ms), "
        f"mean {sum(every) / max(1, len(every)):.2f} ms; target p95 < {TARGET_MS:g} ms: "
        f"{'met' if p95 < TARGET_MS else 'NOT met'}"
    )
    print()
    print(
        f"{'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'total s':>8} "
        f"{'server':>8}  statement [plan]"
    )
    ranked = sorted(times.by.items(), key=lambda kv: percentile(kv[1], 95), reverse=True)
    for text, ms in ranked[: args.top]:
        server, plan = "-", ""
        if text in times.sample:
            took, scans = explain(db, *times.sample[text])
            server, plan = f"{took:.2f}", f" [{scans}]"
        print(
            f"{len(ms):>7} {percentile(ms, 50):>8.2f} {percentile(ms, 95):>8.2f} "
            f"{max(ms):>8.2f} {sum(ms) / 1000:>8.2f} {server:>8}  {text[:110]}{plan}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--history", type=int, default=1000, help="filled orders per account")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=50.0, help="API requests a second")
    parser.add_argument("--speed", type=float, default=120.0, help="simulated s per wall s")
    parser.add_argument("--checkpoint-every", type=int, default=20, help="candles")
    parser.add_argument("--top", type=int, default=15, help="statements listed")
    parser.add_argument("--switch-ms", type=float, help="sys.setswitchinterval, for a trial")
    args = parser.parse_args()
    if args.switch_ms:
        sys.setswitchinterval(args.switch_ms / 1000)
    quiet_logs()
    print(machine_speed())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, fresh_pg_schema(PG) as db_url:
        asyncio.run(measure(args, db_url, Path(tmp)))
    print(f"bench/db.py took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
