"""Bracket churn: what one trade costs in orders, canceled legs, order transitions and audit rows.

Replays a real candle file with the demo's settings (the paper venue with its participation
cap, so an entry fills in parts over several candles; the trend agent, the moderate profile,
10,000 of capital, the store on) and counts, per closed trade, the rows the store kept: orders,
protective legs that ended canceled, order transitions and hash-chained audit rows. Run with
``make bench`` (or ``python bench/churn.py [--limit N] [FILE]``). Asserts nothing.

``--calls`` counts instead, with cProfile, the Python-level calls of a trade's round trip (the
goal: at most 1,500): the calls of the replay with its orders less those of the same
candles with the agent silenced (it never speaks), over the trades closed; each run in a child
process of its own, so neither pays the other's imports.

The figures, ETC_BTC-1m first 4,000 candles, before the brackets had a lifecycle
(commit 82ee8d8): ~37 orders, ~35 canceled legs, ~142 transitions, ~143 audit rows a trade.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import SHARED_DATA, call_counts, quiet_logs
from rampart.config import load_settings
from rampart.wiring.replay import run_replay

DEFAULT_FILE = SHARED_DATA / "ETC_BTC-1m.json"
"""Read from the shared data folder beside the checkout (pass another path as the argument)."""
CANCELED_LEGS = (
    "SELECT count(*) FROM orders WHERE status = 'canceled' AND role IN ('stop_loss', 'take_profit')"
)


def _count(db: sqlite3.Connection, sql: str) -> int:
    return int(db.execute(sql).fetchone()[0])


async def churn(path: Path, limit: int | None, work: Path) -> dict[str, float]:
    """Replay ``path`` (its first ``limit`` candles) and count the store's rows."""
    if limit is not None:
        rows = json.loads(path.read_text())[:limit]
        path = work / f"{path.stem.split('-')[0]}-{path.stem.split('-')[1]}.json"
        path.write_text(json.dumps(rows))
    out = work / "out"
    result = await run_replay(
        path, "trend", "moderate", Decimal("10000"), load_settings(), out_dir=out, chart=False
    )
    db = sqlite3.connect(out / "replay.db")
    try:
        figures = {
            "candles": result.candles,
            "trades": result.summary.trades,
            "orders": _count(db, "SELECT count(*) FROM orders"),
            "canceled legs": _count(db, CANCELED_LEGS),
            "transitions": _count(db, "SELECT count(*) FROM order_transitions"),
            "audit rows": _count(db, "SELECT count(*) FROM audit_log"),
        }
    finally:
        db.close()
    return figures


def report(label: str, figures: dict[str, float]) -> None:
    trades = max(int(figures["trades"]), 1)
    print(f"{label}: {figures['candles']} candles, {figures['trades']} trades")
    for name in ("orders", "canceled legs", "transitions", "audit rows"):
        print(f"  {name:14s} {int(figures[name]):7d} total  {figures[name] / trades:7.1f} a trade")


def calls_child(path: Path, limit: int | None, silenced: bool) -> None:
    """Print the Python-level calls and the trades of one replay (``--calls``' child)."""
    import cProfile

    if silenced:
        from rampart.agents.trend import TrendAgent

        TrendAgent._quiet = lambda self, candle: True  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if limit is not None:  # the cut file is written before the count starts
            rows = json.loads(path.read_text())[:limit]
            path = work / f"{path.stem.split('-')[0]}-{path.stem.split('-')[1]}.json"
            path.write_text(json.dumps(rows))
        profiler = cProfile.Profile()
        profiler.enable()
        result = asyncio.run(
            run_replay(
                path, "trend", "moderate", Decimal("10000"), load_settings(), work / "out",
                chart=False,
            )
        )  # fmt: skip
        profiler.disable()
    python, _ = call_counts(profiler)
    print(json.dumps({"calls": python, "trades": result.summary.trades}))


def _calls(path: Path, limit: int, silenced: bool) -> dict[str, int]:
    command = [sys.executable, __file__, str(path), "--calls-child", "--limit", str(limit)]
    command += ["--silenced"] if silenced else []
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def round_trip_calls(path: Path, limit: int) -> None:
    """A trade's round trip in Python calls (see the module's docstring), and the same with
    what a run pays once left out: the first order's statements compiled by SQLAlchemy, the
    first of each kind of event, regular expressions. That one is the difference between
    ``limit`` and ``limit // 2`` candles of the extra calls, over the extra trades."""
    extra: dict[int, tuple[int, int]] = {}
    for length in (limit, limit // 2):
        orders, silenced = _calls(path, length, False), _calls(path, length, True)
        extra[length] = (orders["calls"] - silenced["calls"], orders["trades"])
        if length == limit:
            print(
                f"{path.name}, first {limit} candles: {orders['trades']} trades, Python calls "
                f"{orders['calls']:,} with orders, {silenced['calls']:,} silenced: "
                f"{extra[limit][0] / max(orders['trades'], 1):,.1f} a round trip"
            )
    (calls, trades), (half_calls, half_trades) = extra[limit], extra[limit // 2]
    if trades > half_trades:
        print(
            f"  without what a run pays once (first {limit // 2} against first {limit} "
            f"candles, {trades - half_trades} trades more): "
            f"{(calls - half_calls) / (trades - half_trades):,.1f} a round trip"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--limit", type=int, default=None, help="only the first N candles")
    parser.add_argument(
        "--calls", action="store_true", help="Python calls of a trade's round trip (cProfile)"
    )
    parser.add_argument("--calls-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--silenced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.file.exists():
        print(f"No candle file at {args.file}: nothing to measure.")
        return
    quiet_logs()
    if args.calls_child:
        calls_child(args.file, args.limit, args.silenced)
        return
    if args.calls:
        round_trip_calls(args.file, args.limit or 4000)
        return
    limits = [args.limit] if args.limit else [4000, None]
    for limit in limits:
        with tempfile.TemporaryDirectory() as tmp:
            figures = asyncio.run(churn(args.file, limit, Path(tmp)))
        where = f"first {limit} candles" if limit else "whole file"
        report(f"{args.file.name}, {where}", figures)


if __name__ == "__main__":
    main()
