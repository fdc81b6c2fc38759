"""Past one machine, measured with real processes on this machine: a NATS server
with JetStream of the bench's own, PostgreSQL, one ``rampart feed`` and ``rampart worker``s on
the paper venue (synthetic feed, the built-in agents).

- **Failover**: a worker is killed with SIGKILL while trading, ``--kills`` times (started again
  after each); the time from the kill until every shard it held is held by the others (the
  lease table), and until they have loaded, warmed and can trade it (their ``shard_taken``
  log lines). The lease (``scale.lease_s``) bounds the first part by design.
- **Kill-switch fan-out**: the kill switch and its release sent through the operator's
  ``Fleet`` to every owning worker, ``--kills`` times each; the time until every worker has
  answered.
- **Handover per shard**: how long each takeover took inside the worker (checkpoint loaded,
  accounts restored, warmed, reconciled).
- **Takeover on an exchange** (``--takeover N``, bench/scale_takeover.py): shards of ~50
  accounts on the exchange simulator taken ``N`` times each fresh and with the old owner's
  orders to adopt, at ``--takeover-concurrency`` (default: the setting's; 1 is one account
  after another); run alone, without the paper-venue parts above.
- **1/2/3-worker table** (``--table``, default ``1,2,3``): the fleet on the exchange simulator
  (``rampart_testkit.fleet_chaos``'s: 60 accounts on one-second candles that close on the wall
  clock, a checkpoint a candle): the accounts each worker holds, and the time from a candle's
  close on the exchange to its decision saved on each shard (the checkpoint of that candle seen
  in the store, sampled every 50 ms), p50/p95 over ``--table-seconds``.
- **Candle cost per worker**: the CPU seconds each worker spends per candle against the
  accounts it holds, with 1, 2 and 4 workers (``--workers``) on this 2-core machine, and the
  per-core figure the cost model in docs/operators/scale.md extrapolates from.

Prints figures, asserts nothing. ``RAMPART_BENCH_PG_URL`` (default: the local ``test``
database) gets a schema of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
import sqlalchemy as sa
import yaml
from tests.conftest import fresh_pg_schema
from tests.scale.nats_server import NatsServer

from _util import machine_speed, paper_fleet_settings, percentile
from rampart.clock import WallClock
from rampart.domain.shards import shard_of
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.operator.fleet import Fleet
from rampart.security.secrets import generate_key
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.leases import lease_table
from rampart_testkit.fleet_chaos_infra import SimThread
from rampart_testkit.fleet_chaos_plan import ChaosShape, account_id, settings
from rampart_testkit.soak.scale_procs import WorkerProcess

RAMPART = str(Path(sys.executable).with_name("rampart"))
PG = os.environ.get("RAMPART_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SHARDS = 8
LEASE_S = 6.0
GUARD_S = 180.0


def config(folder: Path, db_url: str, nats_url: str, accounts: int) -> Path:
    scale = {"shards": SHARDS, "lease_s": LEASE_S, "renew_every_s": 1.0}
    settings = paper_fleet_settings(db_url, nats_url, accounts, speed=120, scale=scale)
    path = folder / "scale.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def start(args: list[str], cfg: Path, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [RAMPART, *args, "--config", str(cfg)],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def owners(db: Any) -> dict[int, str]:
    now = int(time.time() * 1000)
    return {s: h.owner for s, h in lease_table(db).items() if h.live(now)}


def wait(what: str, done: Any, poll_s: float = 0.05) -> float:
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > GUARD_S:
            raise SystemExit(f"bench/scale.py: still waiting for {what} after {GUARD_S:.0f} s")
        time.sleep(poll_s)
    return time.monotonic() - started


def taken_seconds(folder: Path) -> list[float]:
    found = []
    for log in (folder / "var").glob("rampart-worker-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if '"shard_taken"' in line:
                found.append(float(json.loads(line).get("seconds", "nan")))
    return found


def failover(folder: Path, db: Any, cfg: Path, kills: int) -> None:
    workers = {name: start(["worker", "--name", name], cfg, folder) for name in ("a", "b")}
    try:
        wait("both workers holding shards", lambda: set(owners(db).values()) == {"a", "b"})
        held_s, ready_s = [], []
        for n in range(kills):
            victim = "a" if n % 2 == 0 else "b"
            survivor = "b" if victim == "a" else "a"
            lost = [s for s, o in owners(db).items() if o == victim]
            before = len(taken_seconds(folder))
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            t0 = time.monotonic()
            moved = lambda lost=lost, survivor=survivor: all(  # noqa: E731
                owners(db).get(s) == survivor for s in lost
            )
            wait("the takeover", moved)
            held_s.append(time.monotonic() - t0)
            wanted = before + len(lost)
            wait("the shards loaded", lambda wanted=wanted: len(taken_seconds(folder)) >= wanted)
            ready_s.append(time.monotonic() - t0)
            workers[victim] = start(["worker", "--name", victim], cfg, folder)
            wait("the rebalance", lambda: set(owners(db).values()) == {"a", "b"})
        print(
            f"failover over {kills} SIGKILLs (lease {LEASE_S:g} s, renewal 1 s): shards held "
            f"by the survivor p50 {percentile(held_s, 50):.2f} s, p99 "
            f"{percentile(held_s, 99):.2f} s, max {max(held_s):.2f} s; loaded and ready "
            f"p50 {percentile(ready_s, 50):.2f} s, p99 {percentile(ready_s, 99):.2f} s"
        )
        hand = taken_seconds(folder)
        print(
            f"handover per shard (takeover inside the worker), {len(hand)} shards: p50 "
            f"{percentile(hand, 50) * 1000:.0f} ms, p99 {percentile(hand, 99) * 1000:.0f} ms"
        )
        fan_out(db, cfg, kills)
    finally:
        for proc in workers.values():
            proc.send_signal(signal.SIGTERM)
        for proc in workers.values():
            proc.wait(timeout=60)


def fan_out(db: Any, cfg: Path, count: int) -> None:
    nats_url = yaml.safe_load(cfg.read_text())["scale"]["nats_url"]

    async def go() -> list[float]:
        nc = await connect(nats_url, "bench-operator")
        sender = CommandSender(nc, await command_stream(nc), WallClock())
        fleet = Fleet(db, sender, WallClock(), shards=SHARDS, ack_timeout_s=10.0)
        seconds = []
        try:
            for _ in range(count):
                for send in (
                    lambda: fleet.kill("bench", "fan-out", False),
                    lambda: fleet.unkill("bench", "fan-out"),
                ):
                    t0 = time.perf_counter()
                    done = await send()
                    if done.complete:
                        seconds.append(time.perf_counter() - t0)
        finally:
            await nc.close()
        return seconds

    seconds = asyncio.run(go())
    print(
        f"kill-switch fan-out to 2 workers, {len(seconds)} commands: p50 "
        f"{percentile(seconds, 50) * 1000:.0f} ms, p99 {percentile(seconds, 99) * 1000:.0f} ms"
    )


STATS_LAG_S = 2.0
"""PostgreSQL counts a backend's row writes when it reports them (within a second or so)."""


def rows_written(db: Any) -> int:
    """Rows inserted, updated and deleted in the bench's schema so far (its statistics)."""
    query = sa.text(
        "select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) from pg_stat_user_tables "
        "where schemaname = current_schema()"
    )
    with db.connect() as conn:
        conn.execute(sa.text("select pg_stat_clear_snapshot()"))
        return int(conn.execute(query).scalar_one())


def candle_cost(folder: Path, db: Any, cfg: Path, counts: list[int], accounts: int) -> None:
    for count in counts:
        names = [f"c{count}-{n}" for n in range(count)]
        procs = {name: start(["worker", "--name", name], cfg, folder) for name in names}
        try:
            wait(
                "every shard held",
                lambda names=names: (
                    set(owners(db).values()) == set(names) and len(owners(db)) == SHARDS
                ),
            )
            time.sleep(5)  # the takeovers' work done: measure steady trading only
            watched = {n: psutil.Process(p.pid) for n, p in procs.items()}
            cpu0 = {n: sum(w.cpu_times()[:2]) for n, w in watched.items()}
            rows0 = rows_written(db)
            t0 = time.monotonic()
            time.sleep(20)
            spent = {n: sum(w.cpu_times()[:2]) - cpu0[n] for n, w in watched.items()}
            wall = time.monotonic() - t0
            time.sleep(STATS_LAG_S)
            rows = rows_written(db) - rows0
            candles = wall * 120 / 60 * 2  # feed.speed 120 on 1-minute bars, two symbols
            per_worker = accounts / count
            mean = sum(spent.values()) / count
            print(
                f"{count} worker(s), {per_worker:.0f} accounts each: {mean / wall * 100:.0f} % "
                f"of a core each, {mean / candles * 1000:.2f} ms CPU per candle per worker "
                f"({mean / candles / per_worker * 1e6:.0f} µs per account-candle); PostgreSQL "
                f"{rows / wall:.0f} rows written a second, {rows / candles / accounts:.2f} per "
                "account-candle"
            )
        finally:
            for proc in procs.values():
                proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                proc.wait(timeout=60)
            wait("the shards handed back", lambda: not owners(db))


class Steady:
    """True once the lease table's owners have not changed for ``STEADY_S``."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.last: dict[int, str] = {}
        self.since = time.monotonic()

    def check(self) -> bool:
        now = owners(self.db)
        if now != self.last:
            self.last, self.since = now, time.monotonic()
        return time.monotonic() - self.since >= STEADY_S


STEADY_S = 5.0


def traded_since(db: Any, ms: float, shards: int) -> bool:
    with db.connect() as conn:
        query = sa.select(sa.func.count()).where(m.checkpoints.c.ts > ms)
        return int(conn.execute(query).scalar_one()) >= shards


def decision_latency(db: Any, seconds: float) -> list[float]:
    """Each shard's checkpoint, saved a candle at a time with that candle's close time: the
    wall time it is first seen in the store, less that close time, is the candle's way from
    the exchange to a decision (the feed's poll, NATS, the worker's step, the save)."""
    seen: dict[str, int] = {}
    out: list[float] = []
    query = sa.select(m.checkpoints.c.name, m.checkpoints.c.ts)
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        with db.connect() as conn:
            rows = conn.execute(query).all()
        now_ms = time.time() * 1000
        for name, ts in rows:
            if ts is not None and seen.get(name, ts) != ts:
                out.append((now_ms - ts) / 1000)
            seen[name] = ts
        time.sleep(0.05)  # sampling the store: the resolution of the figure
    return out


def worker_table(counts: list[int], accounts: int, seconds: float) -> None:
    os.environ.setdefault("RAMPART_MASTER_KEY", generate_key())
    shape = ChaosShape(accounts=accounts)
    with tempfile.TemporaryDirectory() as tmp, fresh_pg_schema(PG) as db_url:
        folder = Path(tmp)
        nats = NatsServer(folder / "nats")
        nats.start()
        sim = SimThread(accounts, shape.timeframe, Decimal(10_000), shape.request_limit)
        sim.start()
        data = settings(shape, sim.url, sim.keys, db_url, nats.url)
        cfg = folder / "fleet.yaml"
        cfg.write_text(yaml.safe_dump(data))
        db = open_database(db_url)
        feed = start(["feed"], cfg, folder)
        print(
            f"workers | accounts held per worker | candle-to-decision p50 / p95 "
            f"({accounts} accounts, {shape.shards} shards, 1 s candles, {seconds:g} s each)"
        )
        try:
            for count in counts:
                names = [f"t{count}-{n}" for n in range(count)]
                procs = [WorkerProcess(name, data, folder) for name in names]
                try:
                    wait(
                        "every shard held",
                        lambda names=names: (
                            len(owners(db)) == shape.shards
                            and set(owners(db).values()) == set(names)
                        ),
                    )
                    # Steady trading only: the shards stay put for 5 s (the rebalance done), and
                    # every shard has traded a candle since.
                    wait("the shards to stay put", Steady(db).check)
                    held_at = time.time() * 1000
                    wait(
                        "every shard trading",
                        lambda at=held_at: traded_since(db, at, shape.shards),
                    )
                    lat = decision_latency(db, seconds)
                    holders = owners(db)
                    held = Counter(
                        holders[shard_of(account_id(i), shape.shards)] for i in range(accounts)
                    )
                finally:
                    for proc in procs:
                        proc.terminate()
                    for proc in procs:
                        proc.wait()
                    wait("the shards handed back", lambda: not owners(db))
                split = " / ".join(str(held[n]) for n in names)
                print(
                    f"{count:>7} | {split:>24} | {percentile(lat, 50) * 1000:.0f} ms / "
                    f"{percentile(lat, 95) * 1000:.0f} ms ({len(lat)} candles)"
                )
        finally:
            feed.send_signal(signal.SIGTERM)
            feed.wait(timeout=60)
            sim.stop()
            db.dispose()
            nats.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=60)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--table", default="1,2,3", help="worker counts of the table ('': none)")
    parser.add_argument("--table-seconds", type=float, default=20.0)
    parser.add_argument("--takeover", type=int, default=0)
    parser.add_argument("--takeover-concurrency", type=int, default=None)
    parser.add_argument("--takeover-shards", type=int, default=1)
    args = parser.parse_args()
    print(machine_speed())
    print(f"load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores")
    if args.takeover:
        import scale_takeover

        os.environ.setdefault("RAMPART_MASTER_KEY", scale_takeover.master_key())
        shards = args.takeover_shards
        asyncio.run(
            scale_takeover.run(50 * shards, args.takeover, args.takeover_concurrency, shards)
        )
        return
    with tempfile.TemporaryDirectory() as tmp, fresh_pg_schema(PG) as db_url:
        folder = Path(tmp)
        nats = NatsServer(folder / "nats")
        nats.start()
        db = open_database(db_url)
        cfg = config(folder, db_url, nats.url, args.accounts)
        feed = start(["feed"], cfg, folder)
        try:
            if args.kills:
                failover(folder, db, cfg, args.kills)
            counts = [int(x) for x in args.workers.split(",") if x]
            candle_cost(folder, db, cfg, counts, args.accounts)
        finally:
            feed.send_signal(signal.SIGTERM)
            feed.wait(timeout=60)
            db.dispose()
            nats.stop()
    if args.table:
        worker_table([int(x) for x in args.table.split(",")], args.accounts, args.table_seconds)


if __name__ == "__main__":
    main()
