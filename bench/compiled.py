"""The compiled core (mypyc, ``scripts/build_compiled.py``) against the pure-Python default.

The same bars and command line as ``bench/compare_nautilus.py`` (seed-42 random walk, trend
agent fast 10 / slow 20, the aggressive profile relaxed, no fees, ``--no-chart``), each run in
a fresh process, pure and compiled interleaved:

- the loop: ``run_replay`` called in process after the imports (the loader, the engine, the
  store writes, the outputs), its CPU seconds by ``time.process_time``;
- the whole process: ``rampart replay`` measured from outside (``bench/_proc.py``);
- with ``--callgrind SIZE``, the loop's instructions under callgrind, counted only between
  the start and the end of ``run_replay`` (a tiny C library built here with gcc makes
  callgrind's client requests), and with ``--callgrind-process SIZE`` the whole process's.
  Instructions are deterministic: they hold on a loaded machine where seconds do not.

Every run's outputs (trades.csv, summary.json, equity.csv and every stored row, ids left out)
are digested; the bench says whether the compiled build's are the pure build's, byte for byte.
Asserts nothing.

    .venv/bin/python scripts/build_compiled.py     # first (make compiled)
    .venv/bin/python bench/compiled.py [--sizes 100k] [--repeat 3] [--callgrind 10k]
        [--callgrind-process 20k] [--build var/compiled]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _proc import ROOT, machine_lines, measure, show
from compare_nautilus import CONFIG, FAST, SLOW, parse_size, rampart_cmd

BUILD = ROOT / "var" / "compiled"
TOGGLE_LIB = ROOT / "var" / "callgrind" / "libtoggle.so"
TOGGLE_C = """\
#include <valgrind/callgrind.h>
void toggle_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void toggle_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
"""


# -- the child: one replay in process -----------------------------------------------------


def digest_outputs(out: Path) -> str:
    """One digest of what the replay wrote: its files and every stored row (ids left out)."""
    h = hashlib.sha256()
    for name in ("trades.csv", "summary.json", "equity.csv"):
        path = out / name
        h.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"-") + b"\0")
    conn = sqlite3.connect(out / "replay.db")
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in sorted(tables):
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            rows = sorted(
                json.dumps({n: v for n, v in zip(names, row, strict=True) if n != "id"})
                for row in cursor
            )
            h.update(table.encode() + b"\0" + "\n".join(rows).encode() + b"\0")
    finally:
        conn.close()
    return h.hexdigest()[:16]


def run_loop(bars: Path, work: Path) -> dict[str, Any]:
    import asyncio
    import ctypes
    from decimal import Decimal

    import rampart.trading.engine as engine
    from rampart.config import load_settings
    from rampart.wiring.replay import parse_params, run_replay

    settings = load_settings(work / "bench.yaml")
    params = parse_params("trend", [f"fast={FAST}", f"slow={SLOW}"])
    toggle = ctypes.CDLL(os.environ["BENCH_TOGGLE"]) if os.environ.get("BENCH_TOGGLE") else None
    out = work / "out"
    cpu, wall = time.process_time(), time.perf_counter()
    if toggle is not None:
        toggle.toggle_start()
    result = asyncio.run(
        run_replay(
            bars, "trend", "aggressive", Decimal(100000), settings, out, params=params, chart=False
        )
    )
    if toggle is not None:
        toggle.toggle_stop()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "cpu": cpu,
        "wall": wall,
        "candles": result.candles,
        "compiled": str(engine.__file__).endswith(".so"),
        "digest": digest_outputs(out),
    }


# -- the parent ---------------------------------------------------------------------------


def env_for(build: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BENCH_TOGGLE")}
    if build is not None:
        env["PYTHONPATH"] = str(build)
    else:
        env["RAMPART_PURE"] = "1"  # the `rampart` script would run a fresh build by itself
    return env


def fresh_work(root: Path, label: str) -> Path:
    work = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=root))
    (work / "bench.yaml").write_text(CONFIG)
    return work


def loop_child(bars: Path, work: Path, env: dict[str, str], prefix: list[str]) -> dict[str, Any]:
    cmd = [*prefix, sys.executable, __file__, "--loop", str(bars), str(work)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{show(cmd)} failed: {done.stderr.strip().splitlines()[-3:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def toggle_lib() -> Path:
    if not TOGGLE_LIB.exists():
        TOGGLE_LIB.parent.mkdir(parents=True, exist_ok=True)
        src = TOGGLE_LIB.with_suffix(".c")
        src.write_text(TOGGLE_C)
        subprocess.run(
            ["gcc", "-O2", "-shared", "-fPIC", "-o", str(TOGGLE_LIB), str(src)], check=True
        )
    return TOGGLE_LIB


def callgrind_total(out_file: Path) -> int:
    """Instructions (Ir) of a callgrind output file: its totals line (with the counts zeroed
    by a client request its summary line can read 0)."""
    text = out_file.read_text(errors="replace")
    found = re.search(r"^totals: (\d+)", text, re.M)
    if found is None:
        raise SystemExit(f"no totals in {out_file}")
    return int(found[1])


def callgrind(cmd: list[str], env: dict[str, str], work: Path, at_start: bool) -> int:
    out_file = work / "callgrind.out"
    vg = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
        f"--instr-atstart={'yes' if at_start else 'no'}",
    ]  # fmt: skip
    done = subprocess.run([*vg, *cmd], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"callgrind failed: {done.stderr.strip().splitlines()[-3:]}")
    # With the client requests, the counts were zeroed at the start of run_replay and stopped
    # at its end: the file written at exit holds just that.
    return callgrind_total(out_file)


def generate(size: int, root: Path) -> Path:
    bars = root / f"{size}" / "BTC_USDT-1m.feather"
    bars.parent.mkdir()
    script = Path(__file__).resolve().parent / "compare_nautilus.py"
    subprocess.run([sys.executable, str(script), "--generate", str(size), str(bars)], check=True)
    return bars


def ratio(pure: float, compiled: float) -> str:
    return f"{pure / compiled:.2f}x" if compiled else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100k", help="bars per timed run: 10k, 100k, ...")
    parser.add_argument("--repeat", type=int, default=3, help="runs per build and size")
    parser.add_argument("--callgrind", default="", help="loop sizes to count instructions of")
    parser.add_argument("--callgrind-process", default="", help="whole-process sizes, likewise")
    parser.add_argument("--build", type=Path, default=BUILD, help="the compiled build")
    parser.add_argument("--loop", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:
        print(json.dumps(run_loop(*args.loop)), flush=True)
        return
    if not any(args.build.glob("*__mypyc*.so")):
        raise SystemExit(f"no compiled build in {args.build}: run scripts/build_compiled.py")
    for text in machine_lines():
        print(text)
    print(f"compiled build: {args.build}")
    builds = {"pure": env_for(None), "compiled": env_for(args.build)}
    digests: dict[tuple[int, str], set[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
        for size in sizes:
            bars = generate(size, root)
            best: dict[str, float] = {}
            for rep in range(args.repeat):
                for name, env in builds.items():
                    loop = loop_child(bars, fresh_work(root, name), env, [])
                    if loop["compiled"] != (name == "compiled"):
                        raise SystemExit(f"the {name} run imported the other build")
                    digests.setdefault((size, "loop"), set()).add(loop["digest"])
                    work = fresh_work(root, name)
                    cmd = rampart_cmd(bars, work)
                    if rep == 0 and name == "pure":
                        print(f"whole process: [PYTHONPATH={args.build}] {show(cmd)}")
                    run = measure(cmd, work, env=env)
                    if run.returncode:
                        raise SystemExit(f"{name} replay failed: {run.failure()}")
                    digests.setdefault((size, "process"), set()).add(digest_outputs(work / "out"))
                    print(
                        f"{name:8} {size:>9,} bars  loop {loop['cpu']:6.2f} CPU s "
                        f"({loop['candles'] / loop['cpu']:7,.0f} candles/s)  whole process "
                        f"{run.cpu:6.2f} CPU s {run.wall:6.2f} s wall, "
                        f"peak RSS {run.rss_mb:4.0f} MB"
                        f"  outputs {loop['digest']}",
                        flush=True,
                    )
                    for key, value in (("loop", loop["cpu"]), ("process", run.cpu)):
                        best[f"{name} {key}"] = min(best.get(f"{name} {key}", 1e18), value)
            print(
                f"{size:,} bars, best of {args.repeat}: pure / compiled "
                f"loop {ratio(best['pure loop'], best['compiled loop'])} CPU, "
                f"whole process {ratio(best['pure process'], best['compiled process'])} CPU"
            )
        for flag, at_start in ((args.callgrind, False), (args.callgrind_process, True)):
            for size in [parse_size(s) for s in flag.split(",") if s.strip()]:
                bars = (
                    generate(size, root)
                    if size not in sizes
                    else root / f"{size}" / "BTC_USDT-1m.feather"
                )
                counts = {}
                for name, env in builds.items():
                    work = fresh_work(root, f"cg-{name}")
                    if at_start:
                        cmd = rampart_cmd(bars, work)
                    else:
                        env = dict(env, BENCH_TOGGLE=str(toggle_lib()))
                        cmd = [sys.executable, __file__, "--loop", str(bars), str(work)]
                    counts[name] = callgrind(cmd, env, work, at_start)
                    mode = "process" if at_start else "loop"
                    digests.setdefault((size, mode), set()).add(digest_outputs(work / "out"))
                what = "whole process" if at_start else "loop (run_replay)"
                print(
                    f"callgrind, {size:,} bars, {what}: pure {counts['pure'] / 1e9:.3f} G, "
                    f"compiled {counts['compiled'] / 1e9:.3f} G instructions: "
                    f"{ratio(counts['pure'], counts['compiled'])}"
                )
    for (size, mode), found in sorted(digests.items()):
        same = "identical" if len(found) == 1 else f"DIFFERENT ({len(found)} digests)"
        print(f"outputs of every {mode} run at {size:,} bars, pure and compiled: {same}")


if __name__ == "__main__":
    main()
