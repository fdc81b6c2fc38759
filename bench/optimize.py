"""CPU per trial and trials per minute of ``rampart optimize`` against Freqtrade's hyperopt, on
the same candles, the same two parameters and the same trial counts, on 1 and 2 cores.

Data: the shared ETH/BTC 5m file (Freqtrade's ``tests/testdata``, 5,760 candles), or with
``--pair`` each named file of the five (``--pair all``: ETH/BTC, LTC/BTC, XLM/BTC, NXT/BTC and
ETC/BTC). Each trial trades a file's first 4,320 candles on both sides: Rampart's one
walk-forward fold searches them, and Freqtrade is handed the same span with ``--timerange``.

Rampart: ``rampart optimize`` as a user types it, a fresh study each run, the trend agent
(EMA fast/slow cross with an ATR stop and a reward:risk target) with ``fast`` and ``slow``
searched and the others fixed at their defaults, no pruning, ``--seed 1``. A trial trades
through the engine, the risk engine, brackets and the paper venue with fees and slippage —
the engine that trades, not a vectorised copy of it. The whole process is timed, with start-up,
the out-of-sample run, the checks, the overfitting figures and the report with its charts.

Freqtrade: ``freqtrade hyperopt`` 2026.9 (installed pinned into ``var/peers/freqtrade-hyperopt``
on first use; its markets handed to ccxt offline) on an EMA fast/slow cross strategy with
``fast`` and ``slow`` as hyperopt parameters over the same ranges (2-50 and 3-200), a 5 %
stop-loss, the buy space searched, Sharpe loss, ``--random-state 1``. Comparable, not identical:
the exits differ (ATR stop and target against a fixed stop and the cross back).

Each side runs a small and a large trial count with one job: the difference in CPU seconds over
the difference in trials is the CPU an extra trial costs (start-up and reports cancel out);
the same with two jobs gives the trials per minute two cores sustain against one. CPU is the
children's user + system time (getrusage), worker processes included. Prints the machine kind,
the date and the load average before and after: on a shared machine the wall-time figures are
lower bounds, the CPU figures less so. Asserts nothing.

    .venv/bin/python bench/optimize.py [--trials 150] [--pair ETH_BTC|all ...] [--one-job]
                                       [--runs 1] [--skip-freqtrade]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
PAIR = "ETH_BTC"
FIVE = ("ETH_BTC", "LTC_BTC", "XLM_BTC", "NXT_BTC", "ETC_BTC")
"""The five 5m files of Freqtrade's own test data in the shared data (``--pair all``)."""
EXCHANGE = "binance"
PINNED = "freqtrade[hyperopt]==2026.9"

STRATEGY = '''
from pandas import DataFrame
from freqtrade.strategy import IStrategy, IntParameter


class EmaCrossHyper(IStrategy):
    """Long on EMA(fast) crossing above EMA(slow), out on the cross back or the stop-loss."""

    INTERFACE_VERSION = 3
    timeframe = "5m"
    minimal_roi = {"0": 100}
    stoploss = -0.05
    startup_candle_count = 30
    fast = IntParameter(2, 50, default=12, space="buy")
    slow = IntParameter(3, 200, default=26, space="buy")

    def populate_indicators(self, df: DataFrame, metadata: dict) -> DataFrame:
        return df

    def _cross(self, df: DataFrame) -> tuple:
        fast = df["close"].ewm(span=self.fast.value, adjust=False).mean()
        slow = df["close"].ewm(span=self.slow.value, adjust=False).mean()
        return fast, slow

    def populate_entry_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        fast, slow = self._cross(df)
        up = (fast > slow) & (fast.shift(1) <= slow.shift(1))
        df.loc[up, "enter_long"] = 1
        return df

    def populate_exit_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        fast, slow = self._cross(df)
        down = (fast < slow) & (fast.shift(1) >= slow.shift(1))
        df.loc[down, "exit_long"] = 1
        return df
'''


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


# -- Freqtrade (child, in its own virtualenv) ------------------------------------------------


def run_freqtrade(work: Path, epochs: int, jobs: int) -> None:
    from freqtrade.exchange import exchange as ft_exchange
    from freqtrade.main import main

    table = json.loads((work / "markets.json").read_text())

    def offline_markets(self: ft_exchange.Exchange, reload: bool = False) -> None:
        del reload
        self._api_async.set_markets(table)

    ft_exchange.Exchange._load_async_markets = offline_markets  # type: ignore[method-assign]
    args = ["hyperopt", "--config", str(work / "config.json"), "-e", str(epochs), "-j", str(jobs)]
    args += ["--hyperopt-loss", "SharpeHyperOptLoss", "--spaces", "buy"]
    args += ["--timerange", (work / "timerange").read_text()]
    args += ["--disable-param-export", "--min-trades", "1", "--random-state", "1"]
    try:
        main(args)
    except SystemExit as done:
        if done.code not in (0, None):
            raise


def freqtrade_setup(work: Path, timerange: str, pair: str = PAIR) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from compare_freqtrade import markets

    data = work / "user_data" / "data" / EXCHANGE
    data.mkdir(parents=True)
    (data / f"{pair}-5m.feather").symlink_to(SHARED_DATA / f"{pair}-5m.feather")
    strategies = work / "user_data" / "strategies"
    strategies.mkdir(parents=True)
    (strategies / "ema_cross_hyper.py").write_text(STRATEGY)
    (work / "markets.json").write_text(
        json.dumps([m for m in markets() if m["id"] == pair.replace("_", "")])
    )
    config = {
        "max_open_trades": 1,
        "stake_currency": "BTC",
        "stake_amount": "unlimited",
        "tradable_balance_ratio": 0.99,
        "dry_run": True,
        "dry_run_wallet": 1,
        "fee": 0.001,
        "timeframe": "5m",
        "trading_mode": "spot",
        "dataformat_ohlcv": "feather",
        "user_data_dir": str(work / "user_data"),
        "datadir": str(data),
        "strategy": "EmaCrossHyper",
        "strategy_path": str(strategies),
        "exchange": {
            "name": EXCHANGE,
            "key": "",
            "secret": "",
            "pair_whitelist": [pair.replace("_", "/")],
            "pair_blacklist": [],
        },
        "pairlists": [{"method": "StaticPairList"}],
        "entry_pricing": {"price_side": "same", "use_order_book": False},
        "exit_pricing": {"price_side": "same", "use_order_book": False},
        "internals": {"process_throttle_secs": 5},
    }
    (work / "config.json").write_text(json.dumps(config, indent=2))
    (work / "timerange").write_text(timerange)


# -- the parent -------------------------------------------------------------------------------

SEARCHED = 4_320
"""Candles a trial trades: the in-sample span of one walk-forward fold (3 of 4 blocks)."""
FIXED = ["--fix", "atr_period=14", "--fix", "atr_k=2.0", "--fix", "target_rr=2.0"]
"""The trend agent's other parameters held at their defaults: ``fast`` and ``slow`` searched."""


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the process and the children it waited for) and, when it
    failed, why."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        return seconds, cpu, " / ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
    return seconds, cpu, ""


def span_of(data: Path) -> str:
    """Freqtrade's ``--timerange`` (epoch seconds) for the candles Rampart's fold searches."""
    from rampart.market.loaders import load_candles

    candles = list(load_candles(data).series.iter_candles())
    return f"{candles[0].ts // 1000}-{candles[SEARCHED].ts // 1000}"


Run = tuple[str, int, int, float, float, str]
"""(side, jobs, trials, wall s, CPU s, failure)."""


def per_trial(runs: list[Run], side: str, jobs: int, low: int, high: int) -> tuple[float, float]:
    """An extra trial's CPU seconds and the trials per minute the search itself sustains (the
    large run less the small, so start-up and reports cancel out)."""
    got = {(r[0], r[1], r[2]): r for r in runs if not r[5]}
    a, b = got.get((side, jobs, low)), got.get((side, jobs, high))
    if a is None or b is None or b[3] <= a[3]:
        return float("nan"), float("nan")
    return (b[4] - a[4]) / (high - low), (high - low) / ((b[3] - a[3]) / 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=150, help="the large run's trials")
    parser.add_argument(
        "--runs", type=int, default=1, help="runs of each, interleaved; the best is kept"
    )
    parser.add_argument(
        "--pair", action="append", help=f"a 5m file's pair, or all ({', '.join(FIVE)})"
    )
    parser.add_argument("--one-job", action="store_true", help="skip the runs with two jobs")
    parser.add_argument("--skip-freqtrade", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_freqtrade(args.child, args.trials, args.jobs)
        return
    pairs = [p for named in (args.pair or [PAIR]) for p in (FIVE if named == "all" else [named])]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _proc import machine_kind, peer_python
    from _util import compile_bytecode, machine_speed

    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine_kind()}")
    print(f"python {sys.version.split()[0]}; {machine_speed()}")
    print(compile_bytecode())
    ft, note = (
        (None, "skipped")
        if args.skip_freqtrade
        else peer_python("freqtrade-hyperopt", PINNED, "freqtrade")
    )
    print(f"freqtrade {note} ({ft})" if ft else f"freqtrade: not run: {note}")
    ratios: dict[str, float] = {}
    for pair in pairs:
        data = SHARED_DATA / f"{pair}-5m.feather"
        if not data.exists():
            print(f"skipped: {data.name} not in {SHARED_DATA}")
            continue
        ratios[pair] = _one_file(pair, data, ft, args.trials, args.runs, args.one_job)
    if len(ratios) > 1:
        print("\nFreqtrade's CPU over Rampart's per extra trial, file by file (goal: 8x each):")
        for pair, ratio in ratios.items():
            print(f"  {pair:8} {ratio:5.2f}x")


def _one_file(
    pair: str, data: Path, ft: Path | None, trials: int, runs_of_each: int, one_job: bool
) -> float:
    """Both sides on one file; Freqtrade's CPU over Rampart's per extra trial (nan without)."""
    high = max(4, trials)
    low = max(2, high // 3)
    print(f"\n{pair}; before: {load()}")
    plan = [(jobs, n) for jobs in ((1,) if one_job else (1, 2)) for n in (low, high)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "rampart.yaml").write_text(f"store:\n  url: sqlite:///{work / 'rampart.db'}\n")
        sides = [("rampart", None)] if ft is None else [("rampart", None), ("freqtrade", ft)]
        if ft is not None:
            freqtrade_setup(work, span_of(data), pair)
        done: dict[tuple[str, int, int], list[tuple[float, float]]] = {}
        why: dict[tuple[str, int, int], str] = {}
        for run in range(max(1, runs_of_each)):
            for side, python in sides:
                for jobs, n in plan:
                    wall, cpu, failed = timed(*_command(side, python, work, data, jobs, n, run))
                    print(
                        f"{side:9} jobs {jobs} trials {n:3}: {wall:6.1f} s, CPU {cpu:6.1f} s "
                        f"{failed}",
                        flush=True,
                    )
                    if failed:
                        why[(side, jobs, n)] = failed
                    else:
                        done.setdefault((side, jobs, n), []).append((wall, cpu))
        # The best of the runs (least disturbed by the machine's other work), wall and CPU.
        runs: list[Run] = [
            (s, j, n, min(w for w, _ in got), min(c for _, c in got), "")
            for (s, j, n), got in done.items()
        ]
        runs += [
            (s, j, n, 0.0, 0.0, text) for (s, j, n), text in why.items() if (s, j, n) not in done
        ]
    print(f"after: {load()}")
    return report(runs, low, high, pair)


def _command(
    side: str, python: Path | None, work: Path, data: Path, jobs: int, n: int, run: int
) -> tuple[list[str], Path, dict[str, str] | None]:
    """The command line of one run (a fresh study each), its folder and its environment."""
    if side == "rampart":
        cmd = [sys.executable, "-m", "rampart.cli.entry", "optimize", "--data", str(data)]
        cmd += ["--trials", str(n), "--folds", "1", "--jobs", str(jobs), *FIXED]
        cmd += ["--no-prune", "--seed", "1", "--capital", "1", "--study", f"b-{jobs}-{n}-{run}"]
        cmd += ["--config", str(work / "rampart.yaml"), "--out", str(work / f"o-{jobs}-{n}")]
        return cmd, work, None
    cmd = [str(python), str(Path(__file__).resolve()), "--child", str(work)]
    cmd += ["--trials", str(n), "--jobs", str(jobs)]
    return cmd, work, {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def report(runs: list[Run], low: int, high: int, pair: str = PAIR) -> float:
    """Prints the figures; returns Freqtrade's CPU over Rampart's per extra trial."""
    print(f"\n{pair} 5m, {SEARCHED:,} candles a trial, two parameters (fast, slow):")
    for side, jobs, n, wall, cpu, failed in runs:
        if failed:
            print(f"  {side:9} jobs {jobs} {n:3} trials  failed: {failed}")
            continue
        print(
            f"  {side:9} jobs {jobs} {n:3} trials  {wall:6.1f} s  {n / (wall / 60):6.1f} "
            f"trials/min  whole process: {cpu / n:.3f} CPU s a trial"
        )
    ours, ours_rate = per_trial(runs, "rampart", 1, low, high)
    _, ours_rate2 = per_trial(runs, "rampart", 2, low, high)
    theirs, theirs_rate = per_trial(runs, "freqtrade", 1, low, high)
    _, theirs_rate2 = per_trial(runs, "freqtrade", 2, low, high)
    print(f"An extra trial ({high} trials less {low}, one job):")
    print(f"  rampart optimize    {ours:.3f} CPU s")
    print(f"  freqtrade hyperopt  {theirs:.3f} CPU s")
    print(f"  Freqtrade uses {theirs / ours:.2f}x the CPU per trial (goal: 8x)")
    print("Trials per minute of the search itself (the same difference, wall time):")
    print(
        f"  rampart   {ours_rate:6.1f} with 1 job, {ours_rate2:6.1f} with 2: "
        f"{ours_rate2 / ours_rate:.2f}x (goal: 1.8x)"
    )
    print(
        f"  freqtrade {theirs_rate:6.1f} with 1 job, {theirs_rate2:6.1f} with 2: "
        f"{theirs_rate2 / theirs_rate:.2f}x"
    )
    return theirs / ours


if __name__ == "__main__":
    main()
