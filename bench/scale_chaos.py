"""The fleet under chaos for a long run: the harness of tests/scale/test_fleet_chaos.py
(:mod:`rampart_testkit.fleet_chaos`) — three ``rampart worker``s, a ``rampart feed``, 60
simulator accounts, a PostgreSQL and a NATS server of the run's own — on a random fault
schedule: kill -9 of a worker (started again 10 s later), SIGSTOP 40 s, NATS stopped 20 s,
PostgreSQL stopped 20 s, the CPU oversubscribed 2× for a minute, one every 45-90 s.

``--minutes`` (default 30) is the length of the fault schedule; the start (the fleet taking
every shard), the settle and the end checks come on top. ``make bench`` runs it with
``--minutes 5``. Prints the figures (fills store against venue, client ids sent twice, wedged
shards, the longest unheld shard, shards claimed and trading resumed by fault, the faults
injected, and per fault the longest time any coin sat on the exchange without a resting
stop) and every outcome that did not hold. The times are judged by fault: trading back within
10 s (p95) of a kill -9; after a SIGSTOP, whose worker cannot be told from a slow one
until its lease runs out, claimed within the lease and 2 s and trading back within 10 s of
the lease's end. With ``--strict`` it exits 1 when an outcome did not hold (a bench prints
figures: without it, ``make bench`` goes on to the next one)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _util import machine_speed
from rampart.domain.errors import RampartError
from rampart_testkit.fleet_chaos import FleetChaos
from rampart_testkit.fleet_chaos_plan import ChaosShape, random_schedule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="the fault schedule's length")
    parser.add_argument("--seed", type=int, default=54, help="the schedule's and victims' seed")
    parser.add_argument("--accounts", type=int, default=60)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--strict", action="store_true", help="exit 1 when an outcome fails")
    parser.add_argument("--keep", type=Path, default=None, help="keep the logs in this folder")
    args = parser.parse_args()
    if args.minutes <= 0 or args.accounts < 1 or args.workers < 2:
        raise SystemExit("--minutes must be positive, --accounts at least 1, --workers at least 2")
    print(machine_speed())
    shape = ChaosShape(accounts=args.accounts, workers=args.workers)
    schedule = random_schedule(args.minutes, args.seed, shape.lease_s)
    print(
        f"fleet chaos: {shape.workers} workers, {shape.accounts} accounts, {shape.shards} "
        f"shards, lease {shape.lease_s:g} s; {len(schedule)} faults over {args.minutes:g} min"
    )
    with tempfile.TemporaryDirectory(prefix="rampart-chaos-") as tmp:
        # Absolute: the fleet's processes run in another directory, where a relative one is not.
        folder = args.keep.resolve() if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        chaos = FleetChaos(shape, schedule, folder, say=lambda s: print(f"  {s}", flush=True))
        try:
            figures = chaos.run()
        except RampartError as exc:
            raise SystemExit(f"bench/scale_chaos.py: {exc.message}") from None
    for line in chaos.report():
        print(line)
    for failure in figures.failures:
        print(f"NOT MET: {failure}")
    for detail in figures.details[:10]:
        print(f"  {detail}")
    if figures.failures and args.strict:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
