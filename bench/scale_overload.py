"""The fleet under overload: three ``rampart worker``s and a ``rampart feed`` trading
60 simulator accounts through a PostgreSQL and a NATS server of the run's own, the CPU
oversubscribed 4× (busy loops at normal priority) from start to end, and in it a kill -9 of a
worker, a SIGSTOP past the lease and one worker's database connection gone silent (open,
nothing answered: a relay of the run's own that stops relaying without closing).

Prints, per fault, the figure its goal names and whether it is met: every shard
trading again within 10 s (p95) of a kill -9; a stopped worker's shards claimed within the lease
and 2 s; the silent worker's shards trading on another worker within 30 s; then the fleet's
books against the exchange's. Not in CI (minutes with every core busy); ``make bench`` runs it.
Traffic only to 127.0.0.1; every process it starts is stopped at the end."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _util import machine_speed
from rampart.domain.errors import RampartError
from rampart_testkit.fleet_chaos_plan import ChaosShape
from rampart_testkit.fleet_overload import LOAD_FACTOR, FleetOverload, overload_schedule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--load", type=int, default=LOAD_FACTOR, help="busy loops per core")
    parser.add_argument("--silent-s", type=float, default=60.0, help="how long the DB is silent")
    parser.add_argument("--keep", type=Path, default=None, help="keep the logs in this folder")
    args = parser.parse_args()
    if args.load < 0 or args.silent_s <= 0:
        raise SystemExit("--load must be 0 or more and --silent-s positive")
    print(machine_speed())
    shape = ChaosShape(settle_s=20.0, wedge_window_s=15.0)
    schedule = overload_schedule(shape.lease_s, args.silent_s)
    print(
        f"fleet overload: {shape.workers} workers, {shape.accounts} accounts, {shape.shards} "
        f"shards, lease {shape.lease_s:g} s, CPU {args.load}x for {schedule[0].lasts_s:.0f} s"
    )
    with tempfile.TemporaryDirectory(prefix="rampart-overload-") as tmp:
        # Absolute: the fleet's processes run in another directory, where a relative one is not.
        folder = args.keep.resolve() if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        run = FleetOverload(
            shape, schedule, folder, say=lambda s: print(f"  {s}", flush=True),
            load_factor=args.load,
        )  # fmt: skip
        try:
            figures = run.run()
        except RampartError as exc:
            raise SystemExit(f"bench/scale_overload.py: {exc.message}") from None
    for line in run.judged():
        print(line)
    for line in run.report():
        print(line)
    for failure in figures.failures:
        print(f"NOT MET: {failure}")


if __name__ == "__main__":
    main()
