"""Instructions of a replay's trading, counted by callgrind: deterministic on a busy machine.

Runs ``run_replay`` in process on the bench's seed-42 random-walk bars (``--bars``, written as
``bench/compare_nautilus.py`` writes them) with the bench's command line (trend agent 10/20,
aggressive profile relaxed, no fees, no chart), under ``valgrind --tool=callgrind`` with
instrumentation switched on only around the call: the imports and settings before it cost
nothing, so the figure is the loader, the loop, the store's writes and the outputs.

``--function module:Qualified.name`` (repeatable, one run each) counts only the instructions
inside that function and everything it calls (collection toggled on entering it and off on
leaving, recursion counted once; about 3,000 instructions of the toggle per call are in the
figure). ``--no-orders`` runs the same bars with the agent never speaking, so the difference
between the two totals is what the orders cost (divide by the orders the first run printed).
``--calls`` counts calls with cProfile instead of instructions (no valgrind, a few times
slower than the plain run): the Python-level calls and the built-in ones. A quiet candle's
Python calls are the difference of two ``--no-orders`` runs (20k and 10k bars) over 10,000;
a trade's round trip is the difference with and without orders over the trades printed.

Needs valgrind, its headers and a C compiler (a ten-line helper sends callgrind's client
requests through ctypes). Asserts nothing.

    .venv/bin/python bench/instructions.py [--bars 10000] [--no-orders] [--calls]
        [--function rampart.store.writer:StoreWriter.write ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HELPER = """#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void cg_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
void cg_toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
"""


def _wrap(lib: object, spec: str) -> None:
    """Count only inside ``module:Qualified.name`` (async functions too)."""
    import functools
    import importlib
    import inspect

    module, qualified = spec.split(":")
    owner: object = importlib.import_module(module)
    *path, name = qualified.split(".")
    for part in path:
        owner = getattr(owner, part)
    fn = getattr(owner, name)
    toggle = lib.cg_toggle  # type: ignore[attr-defined]
    depth = [0]

    def enter() -> None:
        depth[0] += 1
        if depth[0] == 1:
            toggle()

    def leave() -> None:
        depth[0] -= 1
        if depth[0] == 0:
            toggle()

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def counted_async(*args: object, **kwargs: object) -> object:
            enter()
            try:
                return await fn(*args, **kwargs)
            finally:
                leave()

        setattr(owner, name, counted_async)
        return

    @functools.wraps(fn)
    def counted(*args: object, **kwargs: object) -> object:
        enter()
        try:
            return fn(*args, **kwargs)
        finally:
            leave()

    setattr(owner, name, counted)


def child(args: argparse.Namespace) -> None:
    import asyncio
    import ctypes
    import sqlite3
    from decimal import Decimal

    from rampart.cli.common import load_settings
    from rampart.wiring.replay import parse_params, run_replay

    lib = ctypes.CDLL(args.helper)
    settings = load_settings(Path(args.work) / "bench.yaml")
    params = parse_params("trend", ["fast=10", "slow=20"])
    if args.no_orders:
        from rampart.agents.trend import TrendAgent

        TrendAgent._quiet = lambda self, candle: True  # type: ignore[method-assign]
    for function in args.function:  # one, handed over by the parent
        _wrap(lib, function)
    out = Path(args.work) / "out"
    profiler = None
    if args.calls:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    else:
        lib.cg_start()
    result = asyncio.run(
        run_replay(
            Path(args.data), "trend", "aggressive", Decimal(100_000), settings, out,
            params=params, chart=False,
        )
    )  # fmt: skip
    if profiler is not None:
        from _util import call_counts

        profiler.disable()
        python, builtin = call_counts(profiler)
        print(f"python calls {python}, builtin calls {builtin}")
    else:
        lib.cg_stop()
    with sqlite3.connect(out / "replay.db") as conn:
        ((orders,),) = conn.execute("SELECT count(*) FROM orders")
    print(f"orders {orders}, trades {result.summary.trades}, final {result.summary.final_equity}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=10_000)
    parser.add_argument("--no-orders", action="store_true")
    parser.add_argument("--function", action="append", default=[])
    parser.add_argument(
        "--calls",
        action="store_true",
        help="count calls with cProfile instead (no valgrind): Python-level and built-in",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--helper", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from compare_nautilus import CONFIG, generate

    with tempfile.TemporaryDirectory(prefix="rampart-instructions-") as tmp:
        work = Path(tmp)
        (work / "helper.c").write_text(HELPER)
        helper = work / "libcg.so"
        subprocess.run(
            ["cc", "-shared", "-fPIC", "-O2", "-o", str(helper), str(work / "helper.c")],
            check=True,
        )
        data = work / "BTC_USDT-1m.feather"
        generate(args.bars, data)
        (work / "bench.yaml").write_text(CONFIG)
        if args.calls:
            command = [
                sys.executable, __file__, "--child", "--calls", "--data", str(data),
                "--work", str(work), "--helper", str(helper),
            ]  # fmt: skip
            if args.no_orders:
                command.append("--no-orders")
            done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
            said = (
                done.stdout.strip().replace("\n", "; ")
                if done.returncode == 0
                else done.stderr[-600:]
            )
            print(f"{args.bars:,} bars, run_replay under cProfile: {said}")
            return
        for function in args.function or [""]:
            out = work / "callgrind.out"
            command = [
                "valgrind", "--tool=callgrind", "--instr-atstart=no",
                f"--callgrind-out-file={out}", sys.executable, __file__, "--child",
                "--data", str(data), "--work", str(work), "--helper", str(helper),
            ]  # fmt: skip
            if function:
                command[3:3] = ["--collect-atstart=no"]
                command += ["--function", function]
            if args.no_orders:
                command.append("--no-orders")
            done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
            counted = [
                ln.split(":")[-1].strip() for ln in done.stderr.splitlines() if "Collected" in ln
            ]
            figure = counted[-1] if counted and done.returncode == 0 else "failed"
            said = done.stdout.strip() if done.returncode == 0 else done.stderr[-600:]
            print(f"{args.bars:,} bars, {function or 'run_replay'}: {figure} instructions ({said})")


if __name__ == "__main__":
    main()
