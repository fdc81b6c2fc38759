"""Trials per minute of ``rampart optimize`` on 1 and 2 cores, against Freqtrade's hyperopt on
a comparable strategy and the same candles.

Data: the shared ETH/BTC 5m file (Freqtrade's ``tests/testdata``, 5,760 candles).

Rampart: ``rampart optimize`` as a user types it, a fresh study each run, the trend agent
(EMA fast/slow cross with an ATR stop and a reward:risk target: five parameters searched),
one walk-forward fold (a trial trades the 4,320 in-sample candles through the engine, the
risk engine, brackets and the paper venue with fees and slippage), no pruning, ``--jobs`` 1
and 2. The time includes start-up, the out-of-sample run, the overfitting figures and the
report with its charts.

Freqtrade: ``freqtrade hyperopt`` (installed with pip into ``var/freqtrade-venv`` on first
use, as bench/compare_freqtrade.py does; its markets handed to ccxt offline) on an EMA
fast/slow cross strategy written here with ``fast`` and ``slow`` as hyperopt parameters and
its stop-loss space searched (three parameters), Sharpe loss, ``-j`` 1 and 2, each epoch
over all 5,760 candles (vectorised pandas). Comparable, not identical: the strategies and
what one trial computes differ, and the report says so.

Prints each run's wall time and trials per minute, and says how busy the machine was (the
load average before and after): figures taken on a shared machine are lower bounds.
Asserts nothing.

    .venv/bin/python bench/optimize.py [--trials 40] [--skip-freqtrade]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
PAIR = "ETH_BTC"
EXCHANGE = "binance"

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
    args += ["--hyperopt-loss", "SharpeHyperOptLoss", "--spaces", "buy", "stoploss"]
    args += ["--disable-param-export", "--min-trades", "1", "--random-state", "1"]
    try:
        main(args)
    except SystemExit as done:
        if done.code not in (0, None):
            raise


def freqtrade_setup(work: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from compare_freqtrade import markets

    data = work / "user_data" / "data" / EXCHANGE
    data.mkdir(parents=True)
    (data / f"{PAIR}-5m.feather").symlink_to(SHARED_DATA / f"{PAIR}-5m.feather")
    strategies = work / "user_data" / "strategies"
    strategies.mkdir(parents=True)
    (strategies / "ema_cross_hyper.py").write_text(STRATEGY)
    (work / "markets.json").write_text(
        json.dumps([m for m in markets() if m["id"] == PAIR.replace("_", "")])
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
            "pair_whitelist": [PAIR.replace("_", "/")],
            "pair_blacklist": [],
        },
        "pairlists": [{"method": "StaticPairList"}],
        "entry_pricing": {"price_side": "same", "use_order_book": False},
        "exit_pricing": {"price_side": "same", "use_order_book": False},
        "internals": {"process_throttle_secs": 5},
    }
    (work / "config.json").write_text(json.dumps(config, indent=2))


# -- the parent -------------------------------------------------------------------------------


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        return seconds, " / ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
    return seconds, ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=40, help="trials (epochs) per run")
    parser.add_argument("--skip-freqtrade", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_freqtrade(args.child, args.trials, args.jobs)
        return
    data = SHARED_DATA / f"{PAIR}-5m.feather"
    if not data.exists():
        print(f"skipped: {data.name} not in {SHARED_DATA}")
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _util import compile_bytecode, machine_speed, tool_python

    print(f"python {sys.version.split()[0]}; cores {os.cpu_count()}; {machine_speed()}")
    print(compile_bytecode())
    print(f"before: {load()}")
    ft, note = (
        (None, "skipped")
        if args.skip_freqtrade
        else tool_python(ROOT / "var" / "freqtrade-venv", "freqtrade[hyperopt]", "freqtrade")
    )
    print(f"freqtrade {note} ({ft})" if ft else f"freqtrade: not run: {note}")
    results: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "rampart.yaml").write_text(f"store:\n  url: sqlite:///{work / 'rampart.db'}\n")
        for jobs in (1, 2):
            cmd = [sys.executable, "-m", "rampart.cli.entry", "optimize", "--data", str(data)]
            cmd += ["--trials", str(args.trials), "--folds", "1", "--jobs", str(jobs)]
            cmd += ["--no-prune", "--seed", "1", "--capital", "1", "--study", f"bench-{jobs}"]
            cmd += ["--config", str(work / "rampart.yaml"), "--out", str(work / f"out-{jobs}")]
            seconds, failed = timed(cmd, work)
            results.append((f"rampart optimize --jobs {jobs}", seconds, failed))
            print(f"rampart   jobs {jobs}: {seconds:7.1f} s {failed}", flush=True)
        if ft is not None:
            freqtrade_setup(work)
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            for jobs in (1, 2):
                cmd = [str(ft), str(Path(__file__).resolve()), "--child", str(work)]
                cmd += ["--trials", str(args.trials), "--jobs", str(jobs)]
                seconds, failed = timed(cmd, work, env)
                results.append((f"freqtrade hyperopt -j {jobs}", seconds, failed))
                print(f"freqtrade jobs {jobs}: {seconds:7.1f} s {failed}", flush=True)
    print(f"after: {load()}")
    print(f"\n{args.trials} trials each, whole process, {PAIR} 5m (5,760 candles):")
    for name, seconds, failed in results:
        if failed:
            print(f"  {name:28} failed: {failed}")
            continue
        rate = args.trials / (seconds / 60)
        print(f"  {name:28} {seconds:7.1f} s  {rate:7.1f} trials/min")
    print(
        "Rampart trials trade 4,320 candles each through the engine (five parameters); "
        "Freqtrade epochs 5,760 vectorised (three). Comparable, not identical."
    )


if __name__ == "__main__":
    main()
