"""What one candle and one order cost in the command a user runs (the per-event goals:
an order sent ≤ 40 µs, a candle with no order ≤ 4 µs).

Three whole ``rampart replay`` processes on the NautilusTrader bench's seed-42 bars, each
timed from outside (CPU seconds of the process tree, the best of ``--repeat``): a short file
with few orders, a long one with few orders (``fast=50 slow=200``) and the same long one with
many (``fast=10 slow=20``). Their CPU seconds are solved for a fixed cost (start-up, imports,
schema, outputs), a cost per candle and a cost per stored order (an entry with its stop and
target legs counts three), every share of the store's writes and checkpoints included. Run by
``make bench``; asserts nothing.

    .venv/bin/python bench/per_event.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _proc import Measured, machine_lines, measure, show
from _util import compile_bytecode
from compare_nautilus import CONFIG, rampart_cmd

GOAL_CANDLE_US, GOAL_ORDER_US = 4.0, 40.0
RUNS = ((2_000, 10, 20), (100_000, 50, 200), (100_000, 10, 20))
"""(bars, fast, slow): the three processes the costs are solved from."""


@dataclass(frozen=True)
class Run:
    bars: int
    orders: int
    intents: int
    cpu: float


@dataclass(frozen=True)
class Costs:
    fixed_s: float
    candle_us: float
    order_us: float


def solve(runs: list[Run]) -> Costs:
    """``cpu = fixed + bars * candle + orders * order`` through three runs."""
    import numpy as np

    if len(runs) != 3:
        raise ValueError("three runs give the three costs")
    matrix = np.array([[1.0, r.bars, r.orders] for r in runs])
    try:
        fixed, candle, order = np.linalg.solve(matrix, np.array([r.cpu for r in runs]))
    except np.linalg.LinAlgError:
        raise ValueError("the runs must differ in bars and in orders") from None
    return Costs(float(fixed), float(candle) * 1e6, float(order) * 1e6)


def one(work: Path, bars: Path, n: int, fast: int, slow: int, repeat: int) -> Run:
    out = f"out-{n}-{fast}-{slow}"
    cmd = rampart_cmd(bars, work, fast, slow, out)
    print(f"rampart: {show(cmd)}")
    best: Measured | None = None
    for _ in range(repeat):
        shutil.rmtree(work / out, ignore_errors=True)
        run = measure(cmd, work)
        if run.returncode != 0:
            raise SystemExit(f"rampart replay failed: {run.failure()}")
        if best is None or run.cpu < best.cpu:
            best = run
    assert best is not None
    with sqlite3.connect(work / out / "replay.db") as conn:
        ((orders,),) = conn.execute("SELECT count(*) FROM orders")
        ((intents,),) = conn.execute("SELECT count(*) FROM intents")
    result = Run(n, int(orders), int(intents), best.cpu)
    print(
        f"  {n:>9,} bars, fast={fast} slow={slow}: {result.orders:,} orders "
        f"({result.intents:,} intents); best of {repeat}: {best.cpu:.3f} CPU s, "
        f"{best.wall:.3f} s wall, peak RSS {best.rss_mb:.0f} MB"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each process")
    args = parser.parse_args()
    for text in machine_lines():
        print(text)
    print(compile_bytecode())
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory(prefix="rampart-per-event-") as tmp:
        work = Path(tmp)
        (work / "bench.yaml").write_text(CONFIG)
        runs = []
        for n, fast, slow in RUNS:
            bars = work / f"{n}" / "BTC_USDT-1m.feather"
            if not bars.exists():
                bars.parent.mkdir()
                gen = [sys.executable, str(here / "compare_nautilus.py"), "--generate", str(n)]
                subprocess.run([*gen, str(bars)], check=True)
            runs.append(one(work, bars, n, fast, slow, args.repeat))
    costs = solve(runs)
    per_intent = costs.order_us * runs[-1].orders / max(runs[-1].intents, 1)
    print(
        f"whole process, solved from the three: {costs.fixed_s:.3f} s fixed, "
        f"{costs.candle_us:.2f} µs a candle without an order (goal ≤ {GOAL_CANDLE_US:g}), "
        f"{costs.order_us:.1f} µs a stored order (goal ≤ {GOAL_ORDER_US:g}; "
        f"~{per_intent:.0f} µs an intent)"
    )


if __name__ == "__main__":
    main()
