"""The deterministic call counts against ``bench/baseline.json``: a guard against the next
regression (``make bench-check``).

Three counts, each of Python-level calls as cProfile sees them (every dataclass ``__init__``
counted, ``_util.call_counts``), each run in a fresh child process with a fixed hash seed so
neither pays the other's imports and the same code always gives the same figure:

- **a quiet candle**: a replay of the bench's seed-42 bars (``compare_nautilus.py``'s
  random walk, trend agent 10/20, the aggressive profile relaxed, no costs, no chart) with
  the agent silenced (it never speaks), 20k bars less 10k, over the 10,000 extra candles;
- **a trade's round trip**: the same 20k bars with the agent speaking less the silenced 20k,
  over the trades closed;
- **an optimize trial**: one ``EngineBacktest`` trial (``rampart optimize``'s) of the trend
  agent over the first 4,000 of those bars with the default costs, after a first trial on
  the same span has paid what a study pays once (the guard's verdicts, compiled statements).

A count more than 5 % above the baseline fails (exit 1) with a sentence naming it, the old
and the new figure. ``--update --reason "..."`` writes the counts measured as the new
baseline with the reason, the date and the commit (``make bench-check UPDATE=1 REASON=...``).

    .venv/bin/python bench/check.py [--baseline bench/baseline.json] [--update --reason TEXT]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline.json"
TOLERANCE = 0.05
"""How much a count may grow before the check fails: 5 %."""
BARS, HALF = 20_000, 10_000
TRIAL_BARS = 4_000
NAMES = {
    "quiet_candle": "a quiet candle's Python calls",
    "round_trip": "a trade's round trip's Python calls",
    "trial": "an optimize trial's Python calls",
}

Counts = dict[str, float]
Measure = Callable[[], Counts]


# -- the children: one count each, in a fresh process -----------------------------------------


def _profiled(run: Callable[[], object]) -> tuple[int, object]:
    import cProfile

    from _util import call_counts

    profiler = cProfile.Profile()
    profiler.enable()
    result = run()
    profiler.disable()
    python, _ = call_counts(profiler)
    return python, result


def _replay_child(data: Path, work: Path, silenced: bool) -> dict[str, int]:
    import asyncio
    from decimal import Decimal

    from rampart.cli.common import load_settings
    from rampart.wiring.replay import parse_params, run_replay

    settings = load_settings(work / "bench.yaml")
    params = parse_params("trend", ["fast=10", "slow=20"])
    if silenced:
        from rampart.agents.trend import TrendAgent

        TrendAgent._quiet = lambda self, candle: True  # type: ignore[method-assign]
    out = work / ("out-quiet" if silenced else "out")

    def run() -> object:
        return asyncio.run(
            run_replay(
                data, "trend", "aggressive", Decimal(100_000), settings, out,
                params=params, chart=False,
            )
        )  # fmt: skip

    calls, result = _profiled(run)
    return {"calls": calls, "trades": result.summary.trades}  # type: ignore[attr-defined]


def _trial_child(data: Path, work: Path) -> dict[str, int]:
    from decimal import Decimal

    from rampart.cli.common import load_settings
    from rampart.domain.instruments import Instrument
    from rampart.market.loaders import load_candles
    from rampart.research.trial import Span
    from rampart.wiring.backtest import EngineBacktest

    settings = load_settings(work / "trial.yaml")
    series = load_candles(data).series
    candles = list(series.iter_candles())[:TRIAL_BARS]
    instrument = Instrument.for_price(series.symbol, series.typical_price())
    backtest = EngineBacktest(
        settings, "trend", "aggressive", Decimal(100_000), candles, instrument, 3_600_000
    )
    span = Span(0, 200, TRIAL_BARS)
    backtest({"fast": 10, "slow": 20}, span)  # what a study pays once
    calls, result = _profiled(lambda: backtest({"fast": 12, "slow": 26}, span))
    return {"calls": calls, "trades": result.trades}  # type: ignore[attr-defined]


def _child(kind: str, data: Path, work: Path) -> None:
    from _util import quiet_logs

    quiet_logs()
    import rampart.trading.engine as engine

    if not str(engine.__file__).endswith(".py"):
        raise SystemExit(f"the counts need the pure source, not {engine.__file__}")
    if kind == "trial":
        said = _trial_child(data, work)
    else:
        said = _replay_child(data, work, silenced=kind == "quiet")
    print(json.dumps(said))


def _run_child(kind: str, data: Path, work: Path) -> dict[str, int]:
    # The same sets, the same order, each run; the pure source, never the compiled core: the
    # counts are Python calls, which compiled modules would hide.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONHASHSEED="0", RAMPART_PURE="1")
    command = [sys.executable, __file__, "--child", kind, str(data), str(work)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"The {kind} count failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure() -> Counts:
    """The three counts, measured (about half a minute on a 2-core machine)."""
    from compare_nautilus import CONFIG, generate

    with tempfile.TemporaryDirectory(prefix="rampart-bench-check-") as tmp:
        work = Path(tmp)
        (work / "bench.yaml").write_text(CONFIG)
        # A trial trades with costs on (research refuses a venue without them).
        (work / "trial.yaml").write_text(CONFIG.split("venue:")[0])
        full, half = work / "full" / "BTC_USDT-1m.feather", work / "half" / "BTC_USDT-1m.feather"
        for path, bars in ((full, BARS), (half, HALF)):
            path.parent.mkdir()
            generate(bars, path)
        quiet_full = _run_child("quiet", full, work)
        quiet_half = _run_child("quiet", half, work)
        orders = _run_child("orders", full, work)
        trial = _run_child("trial", full, work)
    return {
        "quiet_candle": round((quiet_full["calls"] - quiet_half["calls"]) / (BARS - HALF), 1),
        "round_trip": round((orders["calls"] - quiet_full["calls"]) / max(orders["trades"], 1), 1),
        "trial": float(trial["calls"]),
    }


# -- the comparison ---------------------------------------------------------------------------


def grown(old: Counts, new: Counts, tolerance: float = TOLERANCE) -> list[str]:
    """One sentence per count more than ``tolerance`` above its baseline."""
    out = []
    for key, before in old.items():
        now = new.get(key)
        if now is None or before <= 0:
            continue
        change = now / before - 1
        if round(change, 9) > tolerance:  # exactly 5 % passes, whatever the float says
            out.append(
                f"{NAMES.get(key, key)} grew from {before:,.1f} to {now:,.1f} "
                f"(+{change:.1%}, more than the {tolerance:.0%} allowed)."
            )
    return out


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
    )
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def main(argv: list[str] | None = None, counter: Measure = measure) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    parser.add_argument("--update", action="store_true", help="write the counts as the baseline")
    parser.add_argument("--reason", default="", help="why the baseline changes (with --update)")
    args = parser.parse_args(argv)
    if args.update and not args.reason.strip():
        print('Say why the baseline changes: make bench-check UPDATE=1 REASON="..."')
        return 2
    try:
        baseline = json.loads(args.baseline.read_text())
    except FileNotFoundError:
        baseline = None
    except json.JSONDecodeError as exc:
        print(f"{args.baseline} is not valid JSON ({exc}); fix it or write it again with UPDATE=1.")
        return 2
    if baseline is None and not args.update:
        print(
            f"No baseline at {args.baseline}: write one with make bench-check UPDATE=1 REASON=..."
        )
        return 2
    counts = counter()
    old: Counts = baseline["counts"] if baseline else {}
    for key, now in counts.items():
        before = old.get(key)
        was = f" (baseline {before:,.1f}, {now / before - 1:+.1%})" if before else ""
        print(f"{NAMES.get(key, key)}: {now:,.1f}{was}")
    if args.update:
        args.baseline.write_text(
            json.dumps(
                {
                    "counts": counts,
                    "reason": args.reason.strip(),
                    "measured": f"{dt.date.today().isoformat()} at {_commit()}",
                    "how": "bench/check.py: Python calls under cProfile; counts do not "
                    "depend on the machine",
                },
                indent=2,
            )
            + "\n"
        )
        print(f"Baseline written to {args.baseline}: {args.reason.strip()}")
        return 0
    failures = grown(old, counts)
    for sentence in failures:
        print(f"FAIL: {sentence}")
    if failures:
        print(
            "If the growth is meant, update the baseline in the same commit, with a reason: "
            'make bench-check UPDATE=1 REASON="..."'
        )
        return 1
    shrunk = [k for k, v in counts.items() if old.get(k) and v < old[k] * (1 - TOLERANCE)]
    if shrunk:
        print(
            f"{', '.join(NAMES[k] for k in shrunk)} fell by more than {TOLERANCE:.0%}: "
            'lock the gain in with make bench-check UPDATE=1 REASON="...".'
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        raise SystemExit(main())
