"""A load test against a deployment with production-like data (plan 001: "Load test with
production data"), every process on 127.0.0.1.

The deployment is the one docs/operators/scale.md describes, started as an operator starts it:
a PostgreSQL schema of the bench's own (``RAMPART_BENCH_PG_URL``, default the local ``test``
database; dropped at the end), a NATS server with JetStream of its own, the exchange simulator
(one account per Rampart account, one-second candles), ``rampart feed``, two ``rampart worker``
processes and ``rampart serve`` (the API, the panel and the Telegram bot, which long-polls the
tests' Bot API stand-in, Telegram's flood limits kept). The fleet's settings are
``rampart_testkit.fleet_chaos_plan``'s (trend agents, ``--accounts`` accounts).

Before anything starts, the store is given what a service that has run for a while holds,
through the store's own tables and API: ``--history`` filled orders and their fills per account
(older than the run), ``--investors`` Telegram investors (``operator.investors.save``), API
tokens. Once every shard is held and trading, for ``--seconds``:

- **API**: an open-loop schedule of ``--rate`` requests a second spread over ``/health``,
  ``/metrics``, ten accounts' portfolio, orders and trades (each with its own user token) and
  the operator's account list (an admin token);
- **Telegram**: ``--tg-rate`` commands a second (``/portfolio``, ``/help``, ``/status``), every
  other one from an investor who owns one of the trading accounts, the rest from those who
  have not invested yet, each answered through ``rampart serve``'s bot;
- **candle to decision**: each shard's checkpoint (saved a candle at a time with the candle's
  close time) sampled in the store every 50 ms, as ``bench/scale.py`` measures it.

Prints the SLOs: API p50/p95/p99 and success % (answers below 500 over requests sent), the
Telegram replies' p50/p95 and how many were answered, candle-to-decision p50/p95, the errors
(API failures, the processes' error log lines) and each process's CPU and peak RSS. Bounded:
stops by itself (about 2 minutes with the defaults); asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402
from tests.conftest import fresh_pg_schema  # noqa: E402
from tests.scale.nats_server import NatsServer  # noqa: E402

from _util import machine_speed, percentile  # noqa: E402
from rampart.operator import investors as inv_store  # noqa: E402
from rampart.security.secrets import generate_key  # noqa: E402
from rampart.security.tokens import create_token  # noqa: E402
from rampart.store import models as m  # noqa: E402
from rampart.store.db import open_database  # noqa: E402
from rampart_testkit.botapi.shapes import TOKEN  # noqa: E402
from rampart_testkit.botapi.standin import FakeBotApi  # noqa: E402
from rampart_testkit.fleet_chaos_infra import SimThread  # noqa: E402
from rampart_testkit.fleet_chaos_plan import SYMBOL, ChaosShape, account_id, settings  # noqa: E402
from rampart_testkit.soak.scale_procs import WorkerProcess  # noqa: E402
from scale import PG, RAMPART, Steady, decision_latency, owners, traded_since, wait  # noqa: E402

OPERATOR = 900
FIRST_INVESTOR = 50_000
TG_COMMANDS = ["/portfolio", "/help", "/status"]
DAY_MS = 86_400_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- production-like data, through the store's tables and API -----------------------------------


def seed_history(db: sa.Engine, accounts: int, per_account: int, now_ms: int) -> int:
    """``per_account`` filled entry orders and their fills for each account, spread over the
    30 days before the run (what a month of trading leaves)."""
    start = now_ms - 30 * DAY_MS
    orders, fills = [], []
    for a, i in itertools.product(range(accounts), range(per_account)):
        ts = start + (a * per_account + i) * (30 * DAY_MS // (accounts * per_account))
        price = f"{30000 + (i % 500) * 3:.2f}"
        cid = f"hist-{a:03d}-{i:05d}"
        side = "buy" if i % 2 == 0 else "sell"
        acct = account_id(a)
        orders.append(
            {
                "client_id": cid, "account_id": acct, "symbol": SYMBOL, "side": side,
                "type": "market", "role": "entry" if side == "buy" else "exit", "qty": "0.001",
                "price": None, "stop_price": None, "status": "filled", "filled_qty": "0.001",
                "avg_fill_price": price, "fees": "0.03", "venue_order_id": f"v-{cid}",
                "oco_group": None, "parent_id": None, "strategy": "trend", "reason": "history",
                "created_at": ts, "updated_at": ts + 40,
            }
        )  # fmt: skip
        fills.append(
            {
                "fill_id": f"f-{cid}", "client_id": cid, "account_id": acct, "symbol": SYMBOL,
                "side": side, "qty": "0.001", "price": price, "fee": "0.03",
                "liquidity": "taker", "role": "entry" if side == "buy" else "exit",
                "strategy": "trend", "ts": ts + 40,
            }
        )  # fmt: skip
    with db.begin() as conn:
        conn.execute(m.orders.insert(), orders)
        conn.execute(m.fills.insert(), fills)
    return len(orders) + len(fills)


def seed_investors(db: sa.Engine, count: int, accounts: int) -> list[int]:
    """``count`` investors who accepted the terms; the first ``accounts`` own the fleet's
    trading accounts (their /portfolio reads a live one), the rest have not invested yet."""
    ids = list(range(FIRST_INVESTOR, FIRST_INVESTOR + count))

    async def save_all() -> None:
        for n, uid in enumerate(ids):
            inv = inv_store.Investor(
                uid,
                account_id(n) if n < accounts else inv_store.account_id_for(uid),
                accepted_disclaimer=True,
                profile="moderate",
                capital=Decimal(500),
                mode="paper",
            )
            await inv_store.save(db, inv)

    asyncio.run(save_all())
    return ids


# -- the traffic (one event loop in a thread: the Bot API stand-in lives on it) ----------------


class Traffic:
    def __init__(self, investors: list[int], accounts: int) -> None:
        self.investors = investors
        self.accounts = accounts
        self.loop = asyncio.new_event_loop()
        self.api = FakeBotApi()
        self.api.stamp = time.monotonic  # Telegram's flood limits on the wall clock
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.sample: dict[str, str] = {}

    def start(self) -> str:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.api.start(), self.loop).result(30)
        for uid in [OPERATOR, *self.investors]:
            self.api.meet(uid)
        return self.api.url

    def run(
        self, url: str, paths: list[tuple[str, str]], rate: float, tg_rate: float, seconds: float
    ) -> tuple[list[tuple[float, int]], list[float | None]]:
        work = self._run(url, paths, rate, tg_rate, seconds)
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(seconds + 120)

    async def _run(
        self, url: str, paths: list[tuple[str, str]], rate: float, tg_rate: float, seconds: float
    ) -> tuple[list[tuple[float, int]], list[float | None]]:
        api_results: list[tuple[float, int]] = []
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as http:

            async def one(path: str, token: str) -> None:
                started = time.perf_counter()
                try:
                    r = await http.get(path, headers={"Authorization": f"Bearer {token}"})
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                api_results.append((time.perf_counter() - started, status))

            tg = asyncio.create_task(self._telegram(tg_rate, seconds))
            tasks = []
            begin = time.perf_counter()
            for n in itertools.count():
                due = begin + n / rate
                if due - begin >= seconds:
                    break
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                path, token = paths[n % len(paths)]
                tasks.append(asyncio.create_task(one(path, token)))
            await asyncio.gather(*tasks)
            replies = await tg
        return api_results, replies

    async def _telegram(self, rate: float, seconds: float) -> list[float | None]:
        """Each command's time to its first answer (None: none within 10 s)."""
        out: list[float | None] = []

        async def ask(uid: int, text: str) -> None:
            before = len(self.api.texts(uid))
            started = time.perf_counter()
            self.api.push_text(uid, text)
            while len(self.api.texts(uid)) == before:
                if time.perf_counter() - started > 10:
                    out.append(None)
                    return
                await asyncio.sleep(0.005)
            out.append(time.perf_counter() - started)
            who = "with an account" if uid < FIRST_INVESTOR + self.accounts else "without"
            self.sample.setdefault(f"{text} ({who})", self.api.texts(uid)[before])

        asks = []
        begin = time.perf_counter()
        for n in itertools.count():
            due = begin + n / rate
            if due - begin >= seconds:
                break
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            # Every other command from an investor who owns a trading account.
            pool = self.investors[: self.accounts] if n % 2 else self.investors[self.accounts :]
            uid = (pool or self.investors)[(n // 2) % len(pool or self.investors)]
            asks.append(asyncio.create_task(ask(uid, TG_COMMANDS[n % len(TG_COMMANDS)])))
        await asyncio.gather(*asks)
        return out

    def samples(self) -> dict[str, str]:
        """The first answer to each command: what the investors were told."""
        return dict(self.sample)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.api.close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


# -- the processes ------------------------------------------------------------------------------


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM): what it needed at its largest."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_s(pid: int) -> float:
    try:
        t = psutil.Process(pid).cpu_times()
        return float(t.user + t.system)
    except psutil.Error:
        return float("nan")


def error_lines(folder: Path) -> dict[str, Counter[str]]:
    """Error log lines per process log (``var/rampart-*.log``, JSON lines), by event."""
    found: dict[str, Counter[str]] = {}
    for log in sorted((folder / "var").glob("rampart-*.log")):
        events: Counter[str] = Counter()
        for line in log.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
                    events[str(entry.get("event"))] += 1
        found[log.stem.removeprefix("rampart-")] = events
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=60)
    parser.add_argument("--history", type=int, default=200, help="filled orders per account")
    parser.add_argument("--investors", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=45.0, help="the traffic's length")
    parser.add_argument("--rate", type=float, default=40.0, help="API requests a second")
    parser.add_argument("--tg-rate", type=float, default=5.0, help="Telegram commands a second")
    args = parser.parse_args()
    print(machine_speed())
    print(f"load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores")
    os.environ.setdefault("RAMPART_MASTER_KEY", generate_key())
    shape = ChaosShape(accounts=args.accounts)
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, fresh_pg_schema(PG) as db_url:
        folder = Path(tmp)
        db = open_database(db_url)
        now_ms = int(time.time() * 1000)
        rows = seed_history(db, args.accounts, args.history, now_ms)
        investors = seed_investors(db, args.investors, args.accounts)
        watched = [account_id(i) for i in range(0, args.accounts, max(1, args.accounts // 10))]
        paths: list[tuple[str, str]] = []
        read = create_token(db, "read", None, "bench-read", now_ms)
        admin = create_token(db, "admin", None, "bench-admin", now_ms)
        for acct in watched:
            user = create_token(db, "user", acct, f"bench-{acct}", now_ms)
            for what in ("portfolio", "orders", "trades"):
                paths.append((f"/api/v1/accounts/{acct}/{what}", user))
        paths += [("/health", read), ("/metrics", read), ("/api/v1/admin/accounts", admin)]
        print(
            f"seeded: {args.accounts} accounts with {rows:,} history rows (orders and fills), "
            f"{args.investors} investors, {len(watched) + 2} API tokens"
        )
        nats = NatsServer(folder / "nats")
        nats.start()
        sim = SimThread(args.accounts, shape.timeframe, Decimal(10_000), shape.request_limit)
        sim.start()
        traffic = Traffic(investors, args.accounts)
        bot_url = traffic.start()
        data = settings(shape, sim.url, sim.keys, db_url, nats.url)
        port = free_port()
        data["api"] = {"enabled": True, "host": "127.0.0.1", "port": port,
                       "rate_per_minute": 10**6}  # fmt: skip
        data["telegram_token"] = TOKEN
        data["telegram"] = {"api_url": bot_url, "operator_ids": [OPERATOR],
                            "operator_chat_id": OPERATOR, "poll_timeout_s": 1}  # fmt: skip
        cfg = folder / "load.yaml"
        cfg.write_text(yaml.safe_dump(data))
        (folder / "var").mkdir(exist_ok=True)
        out = (folder / "processes.out").open("w")
        feed = subprocess.Popen([RAMPART, "feed", "--config", str(cfg)], cwd=folder,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        serve = subprocess.Popen([RAMPART, "serve", "--config", str(cfg)], cwd=folder,
                                 stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        workers = [WorkerProcess(name, data, folder) for name in ("w1", "w2")]
        procs = {"serve": serve.pid, "feed": feed.pid, **{w.name: w.proc.pid for w in workers}}
        procs["bench (simulator, Bot API)"] = os.getpid()
        url = f"http://127.0.0.1:{port}"
        try:
            wait("rampart serve answering", lambda: _answers(url))
            wait("every shard held", lambda: len(owners(db)) == shape.shards)
            wait("the shards to stay put", Steady(db).check)
            held_at = time.time() * 1000
            wait("every shard trading", lambda: traded_since(db, held_at, shape.shards))
            print(f"deployment up and trading in {time.monotonic() - t_start:.0f} s")
            cpu0 = {n: cpu_s(p) for n, p in procs.items()}
            t0 = time.monotonic()
            lat: list[float] = []
            sampler = threading.Thread(
                target=lambda: lat.extend(decision_latency(db, args.seconds)), daemon=True
            )
            sampler.start()
            api_results, replies = traffic.run(url, paths, args.rate, args.tg_rate, args.seconds)
            sampler.join()
            wall = time.monotonic() - t0
            cpu = {n: cpu_s(p) - cpu0[n] for n, p in procs.items()}
            peaks = {n: peak_rss_mb(p) for n, p in procs.items()}
            report(args, api_results, replies, lat, wall, cpu, peaks, error_lines(folder))
            for command, text in traffic.samples().items():
                print(f"  {command} was answered: {text[:70]!r}")
        finally:
            for proc in (serve, feed):
                proc.send_signal(signal.SIGTERM)
            for w in workers:
                w.proc.send_signal(signal.SIGTERM)
            for proc in (serve, feed, *(w.proc for w in workers)):
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
            traffic.stop()
            sim.stop()
            db.dispose()
            nats.stop()
    print(f"whole run {time.monotonic() - t_start:.0f} s")


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def report(
    args: Any,
    api: list[tuple[float, int]],
    replies: list[float | None],
    lat: list[float],
    wall: float,
    cpu: dict[str, float],
    peaks: dict[str, float],
    errors: dict[str, Counter[str]],
) -> None:
    ms = [t * 1000 for t, _ in api]
    ok = sum(1 for _, s in api if 0 < s < 500)
    statuses: dict[int, int] = {}
    for _, s in api:
        statuses[s] = statuses.get(s, 0) + 1
    print(
        f"API, {len(api):,} requests at {args.rate:g}/s: p50 {percentile(ms, 50):.1f} ms, "
        f"p95 {percentile(ms, 95):.1f} ms, p99 {percentile(ms, 99):.1f} ms; success "
        f"{ok / max(1, len(api)) * 100:.2f} % (goal > 99.5 %); "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    got = [t * 1000 for t in replies if t is not None]
    print(
        f"Telegram, {len(replies):,} commands at {args.tg_rate:g}/s: answered {len(got):,}, "
        f"p50 {percentile(got, 50):.0f} ms, p95 {percentile(got, 95):.0f} ms"
    )
    print(
        f"candle to decision ({len(lat)} shard-candles): p50 {percentile(lat, 50) * 1000:.0f} ms, "
        f"p95 {percentile(lat, 95) * 1000:.0f} ms"
    )
    for name, events in errors.items():
        top = ", ".join(f"{e} x{n}" for e, n in events.most_common(3))
        print(f"error log lines, {name}: {sum(events.values())}" + (f" ({top})" if top else ""))
    print(f"per process over the {wall:.0f} s of traffic: CPU (% of a core) and peak RSS")
    for name in cpu:
        print(f"  {name:<28} {cpu[name] / wall * 100:5.1f} %   {peaks[name]:6.0f} MB")


if __name__ == "__main__":
    main()
