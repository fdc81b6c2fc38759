"""What the hash-chained audit log costs: replay with it off and on, the writer's batch flush,
one admin record, and verify. Prints figures; asserts nothing.

    python bench/audit.py [--candles 200000] [--runs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa

from _util import peak_rss_mb, percentile, quiet_logs
from rampart.config import load_settings
from rampart.market.loaders import write_candles
from rampart.market.synthetic import SyntheticFeed
from rampart.store import writer as writer_module
from rampart.store.audit import AuditLog
from rampart.store.db import open_database
from rampart.store.models.audit import audit_log
from rampart.wiring.replay import run_replay

T0 = 1_767_225_600_000


def _count(url: str, table: sa.Table) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def replay(path: Path, work: Path, audit: bool, run: int) -> tuple[float, int, int]:
    """Seconds, candles, audit rows for one replay with the writer's audit on or off."""
    writer_module.StoreWriter.__init__.__kwdefaults__["audit"] = audit  # type: ignore[index]
    out = work / f"{'on' if audit else 'off'}-{run}"
    url = f"sqlite:///{out / 'replay.db'}"
    start = time.perf_counter()
    result = asyncio.run(
        run_replay(
            path,
            "trend",
            "aggressive",
            Decimal("10000"),
            load_settings(),
            out_dir=out,
            db_url=url,
        )
    )
    seconds = time.perf_counter() - start
    rows = _count(url, audit_log)
    if audit:
        engine = open_database(url)
        assert AuditLog(engine).verify().ok
        engine.dispose()
    return seconds, result.candles, rows


def flush_cost(work: Path, n: int) -> tuple[float, float]:
    """Median seconds to flush ``n`` order-transition rows with the audit off and on."""
    from rampart.store.writer import Batch, StoreWriter

    timings: dict[bool, list[float]] = {False: [], True: []}
    for audit in (False, True, False, True, False, True):
        db = open_database(f"sqlite:///{work / f'flush-{audit}-{len(timings[audit])}.db'}")
        w = StoreWriter(db, audit=audit)
        batch = Batch()
        batch.transitions = [(f"c-{i // 4}", "acct", T0 + i, "new", "submitted") for i in range(n)]
        start = time.perf_counter()
        w.write(batch)
        timings[audit].append(time.perf_counter() - start)
        db.dispose()
    return statistics.median(timings[False]), statistics.median(timings[True])


def record_latency(work: Path, n: int) -> list[float]:
    db = open_database(f"sqlite:///{work / 'record.db'}")
    log = AuditLog(db)
    out = []
    for i in range(n):
        start = time.perf_counter()
        log.record(T0 + i, "api:ops", "operator.pause", f"acct-{i % 7}", {"reason": "bench"})
        out.append((time.perf_counter() - start) * 1000)
    db.dispose()
    return out


def verify_rate(work: Path, n: int) -> float:
    from rampart.store.audit import Entry

    db = open_database(f"sqlite:///{work / 'verify.db'}")
    log = AuditLog(db)
    for start in range(0, n, 10_000):
        log.record_many(
            [
                Entry(T0 + i, "engine", "order.transition", f"c-{i}", {"to": "filled"})
                for i in range(start, min(n, start + 10_000))
            ]
        )
    begin = time.perf_counter()
    verdict = log.verify()
    seconds = time.perf_counter() - begin
    db.dispose()
    assert verdict.ok and verdict.entries == n
    return n / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candles", type=int, default=200_000, help="synthetic 1m candles")
    parser.add_argument("--runs", type=int, default=2, help="replays per setting")
    args = parser.parse_args()
    quiet_logs()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        series = SyntheticFeed(["BTC/USDT"], seed=11).generate("BTC/USDT", args.candles)
        path = work / "BTC_USDT-1m.feather"
        write_candles(series, path)
        del series

        secs: dict[bool, list[float]] = {False: [], True: []}
        rows = candles = 0
        for run in range(args.runs):
            for audit in (False, True):  # interleaved, so machine noise hits both alike
                s, candles, r = replay(path, work, audit, run)
                secs[audit].append(s)
                rows = max(rows, r)
        off, on = min(secs[False]), min(secs[True])
        print(f"replay of {candles:,} synthetic 1m candles (best of {args.runs}):")
        print(f"  audit off {candles / off:10,.0f} candles/s  ({off:.2f} s)")
        print(
            f"  audit on  {candles / on:10,.0f} candles/s  ({on:.2f} s), "
            f"{rows:,} audit rows, overhead {(on - off) / off * 100:+.1f}%"
        )

        n = 20_000
        f_off, f_on = flush_cost(work, n)
        print(
            f"writer flush of {n:,} order transitions: {f_off * 1000:.0f} ms without audit, "
            f"{f_on * 1000:.0f} ms with ({(f_on - f_off) / n * 1e6:.1f} µs per audit row)"
        )

        lat = record_latency(work, 300)
        print(
            f"AuditLog.record (admin action, own transaction, SQLite): "
            f"p50 {percentile(lat, 50):.2f} ms, p99 {percentile(lat, 99):.2f} ms"
        )
        print(f"verify: {verify_rate(work, 100_000):,.0f} entries/s")
        print(f"peak RSS of the whole benchmark: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
