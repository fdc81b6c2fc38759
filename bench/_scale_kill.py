"""Resume after kill -9 with real processes: ``bench/scale_takeover.py --kills N``.

The exchange simulator (one-second candles), a NATS server of the bench's own, PostgreSQL (a
schema of its own), one ``rampart feed`` and three ``rampart worker``s with the settings'
lease and renewal defaults. Each round kills a worker holding shards with SIGKILL, starts a
fresh one in its place, and reads the survivors' JSON logs: for each shard the victim held,
the kill → claim time (``shard_claimed``) and kill → first decision (``shard_resumed``, the
first candle the shard's engine traded on its new worker). Once as the machine is, once with
spinning processes the bench starts and stops itself, making the CPU demand ``load`` times
the cores.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from tests.conftest import fresh_pg_schema
from tests.scale.nats_server import nats_server

from _util import paper_fleet_settings, percentile, quiet_logs
from rampart.store.db import open_database
from rampart.store.leases import lease_table

PG = os.environ.get("RAMPART_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SYMBOL = "BTC/USDT"
SHARDS = 6
RESUMED = "shard_resumed"
GUARD_S = 120.0
"""A round that takes longer is reported as a miss, not waited for."""
START_GUARD_S = 300.0
"""Three workers and a feed starting on a busy machine (each imports for seconds)."""


def _paper_config(db_url: str, nats_url: str, accounts: int) -> dict[str, Any]:
    """The paper venue on a synthetic feed paced at one candle per symbol a second: the
    leases, takes and first decisions alone, without an exchange's request budget."""
    return paper_fleet_settings(db_url, nats_url, accounts, speed=60, scale={"shards": SHARDS})


def _config(sim: Any, db_url: str, nats_url: str, accounts: int) -> dict[str, Any]:
    keys = re.findall(r"account (\S+): api key (\S+) secret (\S+)", "".join(sim.startup))
    return {
        "mode": "testnet",
        "log_format": "json",
        "venue": {
            "kind": "ccxt",
            "exchange": "binance",
            "api_url": sim.url,
            "rate_limit_ms": 5,
            "credentials": {
                f"acct-{i:03d}": {"api_key": k, "secret": s} for i, (_a, k, s) in enumerate(keys)
            },
        },
        "feed": {"kind": "ccxt", "symbols": [SYMBOL], "timeframe": "1s", "poll_every_s": 0.25},
        "accounts": [
            {
                "id": f"acct-{i:03d}",
                "agent": "trend",
                "params": {"fast": 2, "slow": 4, "atr_period": 3, "atr_k": 1.0},
                "profile": "aggressive",
                "symbols": [SYMBOL],
                "capital": 1000,
            }
            for i in range(len(keys))
        ][:accounts],
        "profiles": {
            "aggressive": {"min_stop": "0.0002", "min_rr": "1", "consecutive_losses": 1000}
        },
        "store": {"url": db_url, "checkpoint_every": 5},
        "engine": {"history": 60},
        "alerts": {"enabled": False},
        "api": {"enabled": False},
        "scale": {"nats_url": nats_url, "shards": SHARDS, "market_keep": 200},
    }


def _rampart(args: list[str], cwd: Path, name: str) -> subprocess.Popen[bytes]:
    with (cwd / f"{name}.out").open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "rampart.cli.main", *args],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _worker(folder: Path, name: str) -> subprocess.Popen[bytes]:
    return _rampart(["worker", "--config", "scale.yaml", "--name", name], folder, name)


def _owners(db: Any) -> dict[int, str]:
    now = int(time.time() * 1000)
    return {s: h.owner for s, h in lease_table(db).items() if h.live(now)}


def _three_trade(db: Any, folder: Path) -> Callable[[], bool]:
    """Three workers hold every shard, and each shard traded since its last claim."""

    def done() -> bool:
        held = _owners(db)
        if len(held) != SHARDS or len(set(held.values())) != 3:
            return False
        claimed, resumed = (
            _events(folder, "shard_claimed", 0, last=True),
            _events(folder, RESUMED, 0, last=True),
        )
        return all(resumed.get(s, 0) > claimed.get(s, 0) for s in range(SHARDS))

    return done


def _wait(done: Callable[[], bool], guard_s: float = GUARD_S) -> bool:
    deadline = time.monotonic() + guard_s
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)  # polling other processes' state
    return True


def _events(folder: Path, event: str, after: float, last: bool = False) -> dict[int, float]:
    """Each shard's first (``last``: last) ``event`` logged by any worker after ``after``
    (Unix seconds)."""
    found: dict[int, float] = {}
    for log in (folder / "var").glob("rampart-worker-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if f'"{event}"' not in line:
                continue
            row = json.loads(line)
            at = dt.datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00")).timestamp()
            shard = int(row["shard"])
            if at >= after and (shard not in found or (at > found[shard]) == last):
                found[shard] = at
    return found


class Spinners:
    """Processes spinning on the CPU: ``load`` × the cores of demand with the fleet's own."""

    def __init__(self, load: float) -> None:
        self.count = max(round((load - 1) * (os.cpu_count() or 1)), 0)
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Spinners:
        spin = [sys.executable, "-c", "while True: pass"]
        self.procs = [subprocess.Popen(spin) for _ in range(self.count)]
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:  # only the ones started here, by their handle
            proc.kill()
            proc.wait()


def _kills(folder: Path, db: Any, kills: int) -> tuple[list[float], list[float], int]:
    workers = {n: _worker(folder, n) for n in "abc"}
    claims: list[float] = []
    decisions: list[float] = []
    missed = 0
    fresh = 0
    try:
        if not _wait(_three_trade(db, folder), START_GUARD_S):
            tails = {p.name: p.read_text(errors="replace")[-1500:] for p in folder.glob("*.out")}
            raise SystemExit(f"bench/scale_takeover.py: the workers never held every shard {tails}")
        for _ in range(kills):
            held = _owners(db)
            victim = max(set(held.values()), key=lambda n: sum(o == n for o in held.values()))
            lost = sorted(s for s, o in held.items() if o == victim)
            killed_at = time.time()
            workers[victim].send_signal(signal.SIGKILL)
            workers.pop(victim).wait()
            _wait(lambda lost=lost, t=killed_at: set(lost) <= set(_events(folder, RESUMED, t)))
            claimed = _events(folder, "shard_claimed", killed_at)
            resumed = _events(folder, RESUMED, killed_at)
            for shard in lost:
                if shard in claimed:
                    claims.append(claimed[shard] - killed_at)
                if shard in resumed:
                    decisions.append(resumed[shard] - killed_at)
                else:
                    missed += 1
            fresh += 1
            name = f"n{fresh}"
            workers[name] = _worker(folder, name)
            # The next kill once the newcomer holds shards again: three sharing the work.
            _wait(_three_trade(db, folder), START_GUARD_S)
    finally:
        for proc in workers.values():
            proc.send_signal(signal.SIGTERM)
        for proc in workers.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return claims, decisions, missed


def resume_after_kills(
    accounts: int, kills: int, load: float, simulator: Callable[[int], Any] | None
) -> None:
    """``simulator`` None: the paper venue (see :func:`_paper_config`)."""
    quiet_logs()
    for loaded in (False, True):
        with tempfile.TemporaryDirectory() as tmp, nats_server(Path(tmp) / "nats") as nats:
            folder = Path(tmp)
            sim = simulator(accounts) if simulator is not None else None
            try:
                with fresh_pg_schema(PG) as db_url:
                    if sim is None:
                        config = _paper_config(db_url, nats.url, accounts)
                    else:
                        config = _config(sim, db_url, nats.url, accounts)
                    (folder / "scale.yaml").write_text(yaml.safe_dump(config))
                    db = open_database(db_url)
                    feed = _rampart(["feed", "--config", "scale.yaml"], folder, "feed")
                    try:
                        spinners = Spinners(load if loaded else 1.0)
                        with spinners:
                            claims, decisions, missed = _kills(folder, db, kills)
                    finally:
                        feed.send_signal(signal.SIGTERM)
                        feed.wait(60)
                        db.dispose()
            finally:
                if sim is not None:
                    sim.interrupt()
        venue = "paper" if sim is None else "the exchange simulator"
        label = f"CPU {load:g}x ({spinners.count} spinners)" if loaded else "CPU as it is"
        print(
            f"resume after kill -9 on {venue}, {kills} kills, {accounts} accounts in {SHARDS} "
            f"shards, "
            f"{label}: claim p50 {percentile(claims, 50):.1f} s p95 {percentile(claims, 95):.1f}"
            f" s; first decision p50 {percentile(decisions, 50):.1f} s p95 "
            f"{percentile(decisions, 95):.1f} s (max {max(decisions, default=float('nan')):.1f}"
            f" s; {missed} shard(s) not trading within {GUARD_S:.0f} s)"
        )
