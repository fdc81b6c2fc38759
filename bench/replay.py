"""End-to-end replay throughput and memory (agent, risk, venue, accounting, store on).

Run with ``make bench``. Prints candles per second, peak RSS and RSS growth; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import candle_files, peak_rss_mb, quiet_logs, rss_mb
from rampart.config import load_settings
from rampart.market.loaders import write_candles
from rampart.market.synthetic import SyntheticFeed
from rampart.wiring.replay import run_replay


async def one(path: Path, agent: str, work: Path) -> tuple[int, float, int, float, float]:
    settings = load_settings()
    samples: list[float] = []

    def progress(done: int, total: int) -> None:
        if done >= total // 10 and len(samples) == 0:
            samples.append(rss_mb())
        if done == total:
            samples.append(rss_mb())

    start = time.perf_counter()
    result = await run_replay(
        path,
        agent,
        "aggressive",
        Decimal("10000"),
        settings,
        out_dir=work / path.stem,
        progress=progress,
    )
    seconds = time.perf_counter() - start
    growth = (samples[-1] - samples[0]) / samples[0] * 100 if len(samples) >= 2 else float("nan")
    return result.candles, seconds, result.summary.trades, growth, samples[-1] if samples else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--synthetic", type=int, default=1_000_000, help="synthetic 1m candles")
    parser.add_argument("--agent", default="trend")
    args = parser.parse_args()
    quiet_logs()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"{'file':28} {'candles':>9} {'cand/s':>9} {'trades':>6} {'RSS MB':>7} {'growth':>7}")
        for path in candle_files():
            n, secs, trades, growth, rss = asyncio.run(one(path, args.agent, work))
            print(f"{path.name:28} {n:9,} {n / secs:9,.0f} {trades:6} {rss:7.0f} {growth:6.1f}%")
        if args.synthetic:
            series = SyntheticFeed(["BTC/USDT"], seed=11).generate("BTC/USDT", args.synthetic)
            target = work / "BTC_USDT-1m.feather"
            write_candles(series, target)
            del series
            n, secs, trades, growth, rss = asyncio.run(one(target, args.agent, work))
            print(
                f"{'synthetic 1m':28} {n:9,} {n / secs:9,.0f} {trades:6} {rss:7.0f} {growth:6.1f}%"
            )
        print(f"peak RSS of the whole benchmark: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
