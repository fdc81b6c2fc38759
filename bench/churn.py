"""Bracket churn: what one trade costs in orders, canceled legs, order transitions and audit rows.

Replays a real candle file with the demo's settings (the paper venue with its participation
cap, so an entry fills in parts over several candles; the trend agent, the moderate profile,
10,000 of capital, the store on) and counts, per closed trade, the rows the store kept: orders,
protective legs that ended canceled, order transitions and hash-chained audit rows. Run with
``make bench`` (or ``python bench/churn.py [--limit N] [FILE]``). Asserts nothing.

Issue 55's figures, ETC_BTC-1m first 4,000 candles, before the brackets had a lifecycle
(commit 82ee8d8): ~37 orders, ~35 canceled legs, ~142 transitions, ~143 audit rows a trade.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import SHARED_DATA, quiet_logs
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--limit", type=int, default=None, help="only the first N candles")
    args = parser.parse_args()
    if not args.file.exists():
        print(f"No candle file at {args.file}: nothing to measure.")
        return
    quiet_logs()
    limits = [args.limit] if args.limit else [4000, None]
    for limit in limits:
        with tempfile.TemporaryDirectory() as tmp:
            figures = asyncio.run(churn(args.file, limit, Path(tmp)))
        where = f"first {limit} candles" if limit else "whole file"
        report(f"{args.file.name}, {where}", figures)


if __name__ == "__main__":
    main()
