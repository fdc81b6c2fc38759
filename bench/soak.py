"""A 24-hour simulated soak with 50 accounts and every fault: the report's figures and how long
it took in wall time (goal: under 10 minutes, memory growth under 2 %).

Run with ``make bench`` (or ``python bench/soak.py --duration 2h --accounts 10`` for a quick
look). Writes the JSON and Markdown reports to ``--out`` and prints the verdict lines; asserts
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import quiet_logs
from rampart_testkit.soak import SoakConfig, memsites, parse_duration, run_soak
from rampart_testkit.soak import report as reports
from rampart_testkit.soak.chaos import parse_faults


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", default="24h")
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--speed", type=float, default=1000.0)
    parser.add_argument("--faults", default="all")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--memory-sites", type=int, default=0, help="list the N allocation lines that grew most"
    )
    args = parser.parse_args()
    quiet_logs()
    out = args.out or Path(tempfile.mkdtemp(prefix="rampart-soak-"))
    config = SoakConfig(
        duration_s=parse_duration(args.duration),
        speed=args.speed,
        faults=parse_faults(args.faults),
        accounts=args.accounts,
        out_dir=out,
        memory_sites=args.memory_sites,
    )
    began = time.perf_counter()
    stats = asyncio.run(run_soak(config))
    wall = time.perf_counter() - began
    report = reports.build(config, stats)
    json_path, md_path = reports.write(out, report)
    run, mem, lat = report["run"], report["memory"], report["latency"]
    rec = report["reconciliation"]
    print(
        f"soak {config.duration_s / 3600:g} h simulated, {config.accounts} accounts, faults "
        f"{args.faults}: wall {wall:.0f} s (goal < 600 s), ×{run['speedup']} simulated time"
    )
    print(
        f"orders {report['orders']}, fills {report['fills']}, lost {report['lost']['total']}, "
        f"duplicated {report['duplicated']['total']}, reconciliation accuracy "
        f"{rec['accuracy_pct']} % ({rec['checks']} checks), repairs {rec['repairs'] or 'none'}"
    )
    print(
        f"RSS {mem['rss_start_mb']} MB at start, {mem['rss_baseline_mb']} after warm-up, "
        f"{mem['rss_end_mb']} at the end: growth {mem['growth_pct']:+.2f} %; without the "
        f"in-process simulator's data ({mem['simulator_data_baseline_mb']} → "
        f"{mem['simulator_data_end_mb']} MB) {mem['rampart_growth_pct']:+.2f} % (goal < 2 %)"
    )
    for name in ("order_round_trip", "signal"):
        s = lat[name]
        print(
            f"{name:17} n={s['count']:<7} mean {s['mean_ms']:8.2f} ms  p50 {s['p50_ms']:7.2f}  "
            f"p95 {s['p95_ms']:7.2f}  p99 {s['p99_ms']:7.2f}"
        )
    if mem["sites"]:
        print("memory growth by allocation line, baseline → end (tracemalloc on):")
        for line in memsites.lines(mem["sites"]):
            print(f"  {line}")
    print(f"errors by kind: {report['errors_by_kind']}")
    for c in report["criteria"]:
        print(f"{'PASS' if c['pass'] else 'FAIL'}  {c['name']}: {c['value']}")
    print(f"reports: {json_path}, {md_path}")


if __name__ == "__main__":
    main()
