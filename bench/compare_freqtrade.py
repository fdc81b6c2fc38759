"""Whole-process time against Freqtrade's backtest on Freqtrade's own five 5m test files.

The files are the shared data's ETH/BTC, LTC/BTC, XLM/BTC, NXT/BTC and ETC/BTC 5m candles
(Freqtrade's ``tests/testdata``, about 5,760 each). Each side runs as a fresh process, as a
user types it, and measured from outside (``bench/_proc.py``): wall seconds, CPU seconds of
the process tree, peak RSS. The runs are interleaved (Rampart, Freqtrade, Rampart, ...) so a
busy machine hurts both alike.

Rampart: ``rampart replay`` with all five files in one run (one account per file, one
database), the trend agent (EMA 12/26 cross, ATR stop, 2R target), ``--capital 1``, with and
without the equity chart.

Freqtrade: ``freqtrade backtesting`` on the same files (feather, in a scratch ``user_data``),
an EMA 12/26 cross strategy with a 5 % stop-loss written here (comparable, not the same
strategy), five open trades at most, a BTC wallet of 1, fee 0.1 %, no result export.
Freqtrade (``freqtrade==2026.9``) is installed with pip into ``var/peers/freqtrade`` (made on
first use, on the interpreter Rampart's environment was made from; "peer not installed" and
Rampart alone when it cannot be). A
backtest asks the exchange for its markets first; with no network here the child process
hands ccxt the five markets instead (``set_markets``): nothing else of Freqtrade is changed.

Prints each run and the medians of each side, the ratios of CPU and wall, the machine's load
and the command lines. ``--pin 0`` runs every side under ``taskset -c 0``; ``--busy 1`` keeps
core 1 busy meanwhile. Asserts nothing.

    .venv/bin/python bench/compare_freqtrade.py [--runs 5] [--pin 0] [--busy 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _proc import BusyCore, Measured, machine_lines, measure, peer_python, show

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
PINNED = "freqtrade==2026.9"
PAIRS = ("ETH_BTC", "LTC_BTC", "XLM_BTC", "NXT_BTC", "ETC_BTC")
EXCHANGE = "binance"

STRATEGY = '''
from pandas import DataFrame
from freqtrade.strategy import IStrategy


class EmaCross(IStrategy):
    """Long on EMA(12) crossing above EMA(26), out on the cross back or a 5 % stop."""

    INTERFACE_VERSION = 3
    timeframe = "5m"
    minimal_roi = {"0": 100}
    stoploss = -0.05
    startup_candle_count = 30

    def populate_indicators(self, df: DataFrame, metadata: dict) -> DataFrame:
        df["fast"] = df["close"].ewm(span=12, adjust=False).mean()
        df["slow"] = df["close"].ewm(span=26, adjust=False).mean()
        return df

    def populate_entry_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        up = (df["fast"] > df["slow"]) & (df["fast"].shift(1) <= df["slow"].shift(1))
        df.loc[up, "enter_long"] = 1
        return df

    def populate_exit_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        down = (df["fast"] < df["slow"]) & (df["fast"].shift(1) >= df["slow"].shift(1))
        df.loc[down, "exit_long"] = 1
        return df
'''


def markets() -> list[dict[str, object]]:
    """ccxt's unified market records for the five BTC pairs (tick-size precision, as Binance)."""
    out: list[dict[str, object]] = []
    for pair in PAIRS:
        base, quote = pair.split("_")
        out.append(
            {
                "id": base + quote,
                "symbol": f"{base}/{quote}",
                "base": base,
                "quote": quote,
                "baseId": base,
                "quoteId": quote,
                "active": True,
                "type": "spot",
                "spot": True,
                "margin": False,
                "swap": False,
                "future": False,
                "option": False,
                "contract": False,
                "taker": 0.001,
                "maker": 0.001,
                "precision": {"amount": 0.01, "price": 1e-08},
                "limits": {
                    "amount": {"min": 0.01, "max": 1e8},
                    "price": {"min": 1e-08, "max": 1e3},
                    "cost": {"min": 0.0001, "max": None},
                },
                "info": {},
            }
        )
    return out


# -- Freqtrade (child, in its own virtualenv) ------------------------------------------------


def run_freqtrade(work: Path) -> None:
    """``freqtrade backtesting`` as its command line runs it, the markets handed over offline."""
    from freqtrade.exchange import exchange as ft_exchange
    from freqtrade.main import main

    table = json.loads((work / "markets.json").read_text())

    def offline_markets(self: ft_exchange.Exchange, reload: bool = False) -> None:
        del reload
        self._api_async.set_markets(table)

    ft_exchange.Exchange._load_async_markets = offline_markets  # type: ignore[method-assign]
    args = ["backtesting", "--config", str(work / "config.json"), "--export", "none"]
    try:
        main(args)
    except SystemExit as done:
        if done.code not in (0, None):
            raise


def freqtrade_setup(work: Path) -> None:
    data = work / "user_data" / "data" / EXCHANGE
    data.mkdir(parents=True)
    for pair in PAIRS:
        (data / f"{pair}-5m.feather").symlink_to(SHARED_DATA / f"{pair}-5m.feather")
    strategies = work / "user_data" / "strategies"
    strategies.mkdir(parents=True)
    (strategies / "ema_cross.py").write_text(STRATEGY)
    (work / "markets.json").write_text(json.dumps(markets()))
    config = {
        "max_open_trades": len(PAIRS),
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
        "strategy": "EmaCross",
        "strategy_path": str(strategies),
        "exchange": {
            "name": EXCHANGE,
            "key": "",
            "secret": "",
            "pair_whitelist": [p.replace("_", "/") for p in PAIRS],
            "pair_blacklist": [],
        },
        "pairlists": [{"method": "StaticPairList"}],
        "entry_pricing": {"price_side": "same", "use_order_book": False},
        "exit_pricing": {"price_side": "same", "use_order_book": False},
        "internals": {"process_throttle_secs": 5},
    }
    (work / "config.json").write_text(json.dumps(config, indent=2))


# -- the parent -------------------------------------------------------------------------------


def summary(side: str, runs: list[Measured]) -> str:
    wall = statistics.median(r.wall for r in runs)
    cpu = statistics.median(r.cpu for r in runs)
    rss = max(r.rss_mb for r in runs)
    return (
        f"  {side:20} {wall:6.2f} s wall (best {min(r.wall for r in runs):.2f}), "
        f"{cpu:6.2f} CPU s (best {min(r.cpu for r in runs):.2f}), peak RSS {rss:5.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each whole process")
    parser.add_argument("--pin", help="run every side on these CPUs (taskset -c), e.g. 0")
    parser.add_argument("--busy", help="keep this CPU busy during the runs, e.g. 1")
    parser.add_argument("--no-freqtrade", action="store_true", help="Rampart only")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_freqtrade(args.child)
        return
    files = [SHARED_DATA / f"{pair}-5m.feather" for pair in PAIRS]
    missing = [f.name for f in files if not f.exists()]
    if missing:
        print(f"skipped: {', '.join(missing)} not in {SHARED_DATA}")
        return
    from _util import compile_bytecode

    for text in machine_lines():
        print(text)
    print(compile_bytecode())
    ft, note = (
        (None, "skipped (--no-freqtrade)")
        if args.no_freqtrade
        else peer_python("freqtrade", PINNED, "freqtrade")
    )
    print(f"freqtrade {note} ({ft})" if ft else f"peer not installed: {note}")
    print(f"pinned to CPUs {args.pin or 'none'}; busy CPU {args.busy or 'none'}")
    data = [arg for f in files for arg in ("--data", str(f))]
    rampart = str(Path(sys.executable).parent / "rampart")
    with tempfile.TemporaryDirectory() as tmp, BusyCore(args.busy):
        work = Path(tmp)
        freqtrade_setup(work)
        sides: dict[str, list[str]] = {
            "rampart": [rampart, "replay", *data, "--agent", "trend", "--capital", "1",
                        "--out", str(work / "out")],
            "rampart --no-chart": [rampart, "replay", *data, "--agent", "trend", "--capital",
                                   "1", "--no-chart", "--out", str(work / "out")],
        }  # fmt: skip
        if ft is not None:
            sides["freqtrade"] = [str(ft), str(Path(__file__).resolve()), "--child", str(work)]
        for side, cmd in sides.items():
            print(f"{side}: {show(cmd)}")
        runs: dict[str, list[Measured]] = {side: [] for side in sides}
        for run in range(args.runs):
            for side, cmd in sides.items():
                env = None
                if side == "freqtrade":
                    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                done = measure(cmd, work, env, pin=args.pin)
                if done.returncode:
                    print(f"{side:20} run {run + 1}: failed: {done.failure()}")
                    continue
                runs[side].append(done)
                print(
                    f"{side:20} run {run + 1}: {done.wall:6.2f} s wall, {done.cpu:6.2f} CPU s, "
                    f"peak RSS {done.rss_mb:.0f} MB",
                    flush=True,
                )
        print(f"\nwhole process, {len(PAIRS)} files, median of {args.runs}:")
        for side, values in runs.items():
            if values:
                print(summary(side, values))
        ours, theirs = runs["rampart"], runs.get("freqtrade", [])
        if ours and theirs:
            cpu = statistics.median(r.cpu for r in theirs) / statistics.median(r.cpu for r in ours)
            wall = statistics.median(r.wall for r in theirs) / statistics.median(
                r.wall for r in ours
            )
            print(f"  Freqtrade / Rampart (medians, chart on): {cpu:.2f}x CPU, {wall:.2f}x wall")


if __name__ == "__main__":
    main()
