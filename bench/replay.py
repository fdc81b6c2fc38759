"""End-to-end replay throughput and memory (agent, risk, venue, accounting, store on), and
what a whole ``rampart replay`` process costs.

Run with ``make bench``. Prints candles per second, peak RSS and RSS growth; then the fixed
cost of a replay (a 1-candle file, whole process, with and without the equity chart) and the
whole-process time of one run over Freqtrade's five 5m test files (one account per file).
The command draws its charts itself, in process, once each file is replayed. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import (
    SHARED_DATA,
    candle_files,
    compile_bytecode,
    machine_speed,
    peak_rss_mb,
    quiet_logs,
    rss_mb,
)
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


FIVE = ("ETH_BTC", "LTC_BTC", "XLM_BTC", "NXT_BTC", "ETC_BTC")
"""The pairs of Freqtrade's own five-file 5m backtest data."""


FLOOR = "import sqlalchemy, pydantic_settings, typer, numpy, structlog"
"""What a replay imports before any of Rampart's code: the store's, the settings', the command
line's, the candles' and the logs' libraries. Its time is the floor under the fixed cost."""


def median_seconds(argv: list[str], work: Path, runs: int) -> float:
    """Median wall seconds of ``argv`` as a fresh process (imports included)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=work, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def whole_process(args: list[str], work: Path, runs: int) -> float:
    """Median wall seconds of ``rampart replay ARGS`` as a fresh process."""
    return median_seconds([sys.executable, "-m", "rampart.cli.entry", "replay", *args], work, runs)


def processes(agent: str, work: Path, runs: int) -> None:
    one = work / "BTC_USDT-1m.json"
    one.write_text(json.dumps([[1_700_000_000_000, 100.0, 101.0, 99.0, 100.5, 10.0]]))
    base = ["--data", str(one), "--agent", agent, "--out", str(work / "one")]
    print(f"fixed cost, 1-candle replay, whole process (median of {runs}):")
    floor = median_seconds([sys.executable, "-c", FLOOR], work, runs)
    print(f"  libraries alone   {floor:6.2f} s   python -c '{FLOOR}'")
    print(f"  with equity.png   {whole_process(base, work, runs):6.2f} s")
    print(f"  --no-chart        {whole_process([*base, '--no-chart'], work, runs):6.2f} s")
    five = [SHARED_DATA / f"{pair}-5m.feather" for pair in FIVE]
    if not all(p.exists() for p in five):
        return
    data = [arg for p in five for arg in ("--data", str(p))]
    multi = [*data, "--agent", agent, "--capital", "1", "--out", str(work / "five")]
    print(f"five 5m files ({', '.join(FIVE)}) in one run, whole process (median of {runs}):")
    print(f"  with equity.png   {whole_process(multi, work, runs):6.2f} s")
    print(f"  --no-chart        {whole_process([*multi, '--no-chart'], work, runs):6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--synthetic", type=int, default=1_000_000, help="synthetic 1m candles")
    parser.add_argument("--agent", default="trend")
    parser.add_argument("--runs", type=int, default=3, help="runs of each whole process")
    parser.add_argument("--only-processes", action="store_true", help="skip the throughput part")
    args = parser.parse_args()
    quiet_logs()
    print(machine_speed())
    print(compile_bytecode())
    if args.only_processes:
        with tempfile.TemporaryDirectory() as tmp:
            processes(args.agent, Path(tmp), args.runs)
        return
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
        processes(args.agent, work, args.runs)


if __name__ == "__main__":
    main()
