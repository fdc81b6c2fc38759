"""Backup and restore of a large store: time, peak memory and file size, SQLite and PostgreSQL.

Run with ``make bench`` (or ``python bench/backup.py --rows 200000``). Builds a Rampart
database holding ``--rows`` orders and as many fills (bulk inserts, not measured), then times
``create_backup`` and ``restore_backup`` (into a fresh database, migrated to head, counts
checked) each in a child process, so the peak RSS printed is that step's alone (Python side,
and pg_dump/pg_restore's as "tools"). The goal is a restore (RTO) under 60 s on both.
PostgreSQL runs when ``RAMPART_BENCH_PG_URL`` or ``RAMPART_TEST_PG_URL`` is set, in databases
``rampart_bench_<pid>`` created and dropped here. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from rampart.store import models as m
from rampart.store.db import open_database

BATCH = 20_000


def _order(i: int) -> dict[str, Any]:
    price = f"{30000 + (i % 5000) * 0.5:.2f}"
    return {
        "client_id": f"bench-{i:09d}-entry",
        "account_id": f"acct-{i % 50}",
        "symbol": "BTC/USDT",
        "side": "buy" if i % 2 else "sell",
        "type": "limit",
        "role": "entry",
        "qty": "0.00125",
        "price": price,
        "stop_price": None,
        "status": "filled",
        "filled_qty": "0.00125",
        "avg_fill_price": price,
        "fees": "0.0375",
        "venue_order_id": f"v{i}",
        "oco_group": None,
        "parent_id": None,
        "strategy": "trend",
        "reason": "bench",
        "created_at": 1_700_000_000_000 + i * 1000,
        "updated_at": 1_700_000_000_000 + i * 1000 + 5,
    }


def _fill(i: int) -> dict[str, Any]:
    return {
        "fill_id": f"fill-{i:09d}",
        "client_id": f"bench-{i:09d}-entry",
        "account_id": f"acct-{i % 50}",
        "symbol": "BTC/USDT",
        "side": "buy" if i % 2 else "sell",
        "qty": "0.00125",
        "price": f"{30000 + (i % 5000) * 0.5:.2f}",
        "fee": "0.0375",
        "liquidity": "maker",
        "role": "entry",
        "strategy": "trend",
        "ts": 1_700_000_000_000 + i * 1000 + 5,
    }


def _rows(table: sa.Table, make: Any, n: int) -> Iterator[list[tuple[Any, ...]]]:
    names = [c.name for c in table.columns]
    for start in range(0, n, BATCH):
        yield [tuple(make(i)[c] for c in names) for i in range(start, min(n, start + BATCH))]


def fill_sqlite(url: str, n: int) -> None:
    open_database(url).dispose()
    with sqlite3.connect(make_url(url).database or "") as conn:
        for table, make in ((m.orders, _order), (m.fills, _fill)):
            marks = ",".join("?" * len(table.columns))
            for batch in _rows(table, make, n):
                conn.executemany(f"INSERT INTO {table.name} VALUES ({marks})", batch)


def fill_pg(url: str, n: int) -> None:
    engine = open_database(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for table, make in ((m.orders, _order), (m.fills, _fill)):
            cols = ", ".join(c.name for c in table.columns)
            with cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for batch in _rows(table, make, n):
                    for row in batch:
                        copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def child(args: argparse.Namespace) -> None:
    """One measured step in its own process: prints its seconds and peak memory as JSON."""
    from rampart.backup.create import create_backup
    from rampart.backup.destinations import DirectoryDestination
    from rampart.backup.restore import restore_backup

    key = bytes.fromhex(os.environ["BENCH_KEY"])
    started = time.perf_counter()
    if args.step == "backup":
        info = create_backup(args.url, key, DirectoryDestination(Path(args.dir)), 1)
        out: dict[str, Any] = {"name": info.name, "bytes": info.size_bytes}
    else:
        report = restore_backup(Path(args.file), key, args.url, 1)
        out = {"ok": report.ok, "rows": sum(r.found or 0 for r in report.rows)}
    out["seconds"] = time.perf_counter() - started
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    out["tools_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e3
    print(json.dumps(out))


def _step(*extra: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *extra],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(label: str, source: str, target: str, work: Path, n: int, fill: Any) -> None:
    started = time.perf_counter()
    fill(source, n)
    print(f"{label}: {n:,} orders + {n:,} fills generated in {time.perf_counter() - started:.1f} s")
    env = {**os.environ, "BENCH_KEY": secrets.token_hex(32)}
    made = _step("--step", "backup", "--url", source, "--dir", str(work), env=env)
    back = _step("--step", "restore", "--url", target, "--file", str(work / made["name"]), env=env)
    print(
        f"  backup : {made['seconds']:6.1f} s, {made['bytes'] / 1e6:7.1f} MB encrypted, "
        f"peak RSS {made['rss_mb']:.0f} MB (pg tools at most {made['tools_rss_mb']:.0f} MB)"
    )
    verdict = "under" if back["seconds"] < 60 else "OVER"
    print(
        f"  restore: {back['seconds']:6.1f} s ({verdict} the 60 s RTO goal), "
        f"{back['rows']:,} rows checked, counts ok={back['ok']}, peak RSS "
        f"{back['rss_mb']:.0f} MB (pg tools at most {back['tools_rss_mb']:.0f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="rampart-bench-backup-") as tmp:
        work = Path(tmp)
        run(
            "SQLite",
            f"sqlite:///{work / 'source.db'}",
            f"sqlite:///{work / 'restored.db'}",
            work,
            args.rows,
            fill_sqlite,
        )
        pg = os.environ.get("RAMPART_BENCH_PG_URL") or os.environ.get("RAMPART_TEST_PG_URL")
        if not pg:
            print("PostgreSQL: skipped (set RAMPART_BENCH_PG_URL)")
            return
        from rampart.backup.pg_dump import create_database, drop_database

        base = make_url(pg)
        source = base.set(database=f"rampart_bench_{os.getpid()}")
        target = base.set(database=f"rampart_bench_{os.getpid()}_restored")
        create_database(source)
        try:
            run(
                "PostgreSQL",
                source.render_as_string(hide_password=False),
                target.render_as_string(hide_password=False),
                work,
                args.rows,
                fill_pg,
            )
        finally:
            drop_database(source)
            drop_database(target)


if __name__ == "__main__":
    main()
