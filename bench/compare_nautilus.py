"""``rampart replay`` against NautilusTrader's backtest, each as a whole process, on the same bars.

Bars: 1-minute, geometric random walk (numpy ``default_rng(42)``), written by a throwaway
process to a Freqtrade-style feather file ``BTC_USDT-1m.feather`` per size (100k, 1M, 10M:
``--sizes``). Each side is a fresh process started as a user starts it and measured from
outside (``bench/_proc.py``): wall seconds, CPU seconds of the process tree, peak RSS. The
runs are interleaved (Rampart, Nautilus, Rampart, ...) so a busy machine hurts both alike.

Rampart: ``rampart replay --data FILE`` (the loader and its checks, the engine, the paper venue,
the store on SQLite, the outputs), trend agent fast 10 / slow 20, the aggressive profile with
its breakers relaxed and fees and slippage zero (a ``--config`` file written here), one
account, a bracket on every entry, ``--no-chart``. Its own "candles/s" (the trading loop
only, in-process) is printed beside, labelled as such.

Nautilus: its EMA-cross example (``BacktestEngine``, ``EMACross`` fast 10 / slow 20, risk engine
on, no fees), reading the same file with pandas, as a script run by the python of
``var/peers/nautilus_trader`` (``nautilus_trader==1.221.0``, installed on first use on the
interpreter Rampart's environment was made from, so both sides run on one build; "peer not
installed" and Rampart alone when it cannot be). Its 1M-bar run takes about ten minutes:
figures at 1M and above are recorded once per machine kind and interpreter in
``var/peers/results.json`` and reused with their date (``--rerun-peers`` measures them again).

``--pin 0`` runs both sides under ``taskset -c 0`` (no second core to hide work on);
``--busy 1`` keeps core 1 busy with a spinning process meanwhile. Asserts nothing.

    .venv/bin/python bench/compare_nautilus.py [--sizes 100k,1m,10m] [--repeat 1]
        [--pin 0] [--busy 1] [--no-nautilus] [--rerun-peers]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _proc import (
    BusyCore,
    Measured,
    cached_peer,
    machine_lines,
    measure,
    peer_python,
    record_peer,
    show,
)

PINNED = "nautilus_trader==1.221.0"
SEED = 42
START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
START_PRICE = 40_000.0
MINUTE_VOL = 0.0008
FAST, SLOW = 10, 20
BATCH = 65_536
"""Rows per Arrow record batch of the generated file (what pandas' to_feather writes too)."""
CACHED_FROM = 1_000_000
"""Peer runs this long or longer are recorded once per machine and reused."""

CONFIG = """\
# bench/compare_nautilus.py: the aggressive profile with its breakers relaxed, no costs.
profiles:
  aggressive:
    daily_loss: "0.99"
    max_drawdown: "0.99"
    position_loss_limit: "0.999"
    kill_on_position_loss: "0"
    consecutive_losses: 1000000
    cooldown_ms: 1
    max_orders_per_minute: 1000000
venue:
  maker_fee: "0"
  taker_fee: "0"
  slippage_bps: "0"
"""


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


# -- the bars (child: run by this file's --generate, so the parent never holds them) --------


def generate(n: int, path: Path) -> None:
    """n 1-minute bars of a geometric random walk, prices on a 0.01 tick, as feather."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.feather as feather

    rng = np.random.default_rng(SEED)
    log_ret = rng.normal(0.0, MINUTE_VOL, n)
    close = START_PRICE * np.exp(np.cumsum(log_ret))
    open_ = np.empty(n)
    open_[0] = START_PRICE
    open_[1:] = close[:-1]
    wick = np.abs(rng.normal(0.0, MINUTE_VOL / 2, (2, n)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = rng.uniform(5.0, 50.0, n)
    open_, high, low, close = (np.round(a, 2) for a in (open_, high, low, close))
    high = np.maximum(high, np.maximum(open_, close))
    low = np.minimum(low, np.minimum(open_, close))
    ts = START_MS + 60_000 * np.arange(n, dtype=np.int64)
    table = pa.table(
        {
            "date": pa.array(ts, type=pa.timestamp("ms", tz="UTC")),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": np.round(volume, 3),
        }
    )
    feather.write_feather(table, path, compression="uncompressed", chunksize=BATCH)


# -- Nautilus (child, in its own virtualenv) --------------------------------------------------


def run_nautilus(bars: Path) -> dict[str, Any]:
    import logging
    from decimal import Decimal

    import pandas as pd
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig, RiskEngineConfig
    from nautilus_trader.examples.strategies.ema_cross import EMACross, EMACrossConfig
    from nautilus_trader.model.currencies import USDT
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money
    from nautilus_trader.persistence.wranglers import BarDataWrangler
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    logging.disable(logging.WARNING)
    frame = pd.read_feather(bars)
    # Nautilus stamps a bar at its close; the file holds open times.
    frame.index = pd.DatetimeIndex(frame.pop("date")) + pd.Timedelta(minutes=1)
    instrument = TestInstrumentProvider.btcusdt_binance()
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    nbars = BarDataWrangler(bar_type, instrument).process(frame)
    del frame
    engine = BacktestEngine(
        BacktestEngineConfig(
            logging=LoggingConfig(log_level="ERROR"),
            risk_engine=RiskEngineConfig(bypass=False),
        )
    )
    engine.add_venue(
        venue=Venue("BINANCE"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=None,
        starting_balances=[Money(1_000_000, USDT), Money(10, instrument.base_currency)],
    )
    engine.add_instrument(instrument)
    engine.add_data(nbars)
    config = EMACrossConfig(
        instrument_id=instrument.id,
        bar_type=bar_type,
        trade_size=Decimal("0.1"),
        fast_ema_period=FAST,
        slow_ema_period=SLOW,
    )
    engine.add_strategy(EMACross(config=config))
    start = time.perf_counter()
    engine.run()
    seconds = time.perf_counter() - start
    orders = len(engine.cache.orders())
    engine.dispose()
    return {"bars": len(nbars), "loop_seconds": seconds, "orders": orders}


# -- the parent -------------------------------------------------------------------------------


def rampart_cmd(
    bars: Path, work: Path, fast: int = FAST, slow: int = SLOW, out: str = "out"
) -> list[str]:
    """The replay a user would run on ``bars``, writing to ``work/out`` with the bench's
    config (``work/bench.yaml``)."""
    rampart = Path(sys.executable).parent / "rampart"
    return [
        str(rampart), "replay", "--data", str(bars), "--agent", "trend",
        "--profile", "aggressive", "--capital", "100000", "--param", f"fast={fast}",
        "--param", f"slow={slow}", "--no-chart", "--out", str(work / out),
        "--config", str(work / "bench.yaml"),
    ]  # fmt: skip


def rampart_extra(run: Measured, work: Path) -> dict[str, Any]:
    """What the replay reported: its in-process loop rate, orders and final equity."""
    found = re.search(r"\(([\d,]+) candles/s\)", run.stdout.replace("\n", " "))
    summary = json.loads((work / "out" / "summary.json").read_text())
    with sqlite3.connect(work / "out" / "replay.db") as conn:
        ((orders,),) = conn.execute("SELECT count(*) FROM orders")
    return {
        "loop_rate": int(found[1].replace(",", "")) if found else None,
        "orders": int(orders),
        "final_equity": summary.get("final_equity"),
    }


def line(side: str, size: int, figures: dict[str, Any]) -> str:
    rate = size / figures["wall"]
    text = (
        f"{side:9} {size:>10,} bars {figures['wall']:8.2f} s wall {figures['cpu']:8.2f} CPU s "
        f"({rate:9,.0f} bars/s) peak RSS {figures['rss_mb']:6.0f} MB "
        f"(tree {figures['tree_mb']:5.0f} MB) {figures.get('orders', 0):>7,} orders"
    )
    if figures.get("loop_rate"):
        text += f"; in-process loop alone {figures['loop_rate']:,} candles/s"
    if figures.get("loop_seconds"):
        text += f"; in-process engine.run() alone {size / figures['loop_seconds']:,.0f} bars/s"
    if figures.get("date"):
        text += f"  [recorded {figures['date']}]"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100k", help="bars per run: 100k, 1m, 10m, ...")
    parser.add_argument("--repeat", type=int, default=1, help="runs per side and size")
    parser.add_argument("--pin", help="run both sides on these CPUs (taskset -c), e.g. 0")
    parser.add_argument("--busy", help="keep this CPU busy during the runs, e.g. 1")
    parser.add_argument("--no-nautilus", action="store_true", help="Rampart only")
    parser.add_argument("--rerun-peers", action="store_true", help="never reuse peer figures")
    parser.add_argument("--generate", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(int(args.generate[0]), Path(args.generate[1]))
        return
    if args.child:
        print(json.dumps(run_nautilus(args.child)), flush=True)
        return

    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    for text in machine_lines():
        print(text)
    from _util import compile_bytecode  # here: the peer's child imports this file in its venv

    print(compile_bytecode())  # as installed: no run compiles an edited module from source
    naut, note = (
        (None, "skipped (--no-nautilus)")
        if args.no_nautilus
        else peer_python("nautilus_trader", PINNED, "nautilus_trader")
    )
    print(f"nautilus_trader {note} ({naut})" if naut else f"peer not installed: {note}")
    print(f"pinned to CPUs {args.pin or 'none'}; busy CPU {args.busy or 'none'}")
    peer_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with tempfile.TemporaryDirectory() as tmp, BusyCore(args.busy):
        for size in sizes:
            bars = Path(tmp) / f"{size}" / "BTC_USDT-1m.feather"
            bars.parent.mkdir()
            gen_cmd = [sys.executable, __file__, "--generate", str(size), str(bars)]
            gen = measure(gen_cmd, bars.parent)
            if gen.returncode:
                print(f"generating {size:,} bars failed: {gen.failure()}")
                continue
            key = f"{PINNED} {size} pin={args.pin} busy={args.busy}"
            cached = None if args.rerun_peers or size < CACHED_FROM else cached_peer(key)
            best: dict[str, float] = {}
            pairs: list[float] = []  # each peer run's CPU over the Rampart run just before it
            for rep in range(args.repeat):
                ours = None
                work = Path(tmp) / f"rampart-{size}-{rep}"
                work.mkdir()
                (work / "bench.yaml").write_text(CONFIG)
                cmd = rampart_cmd(bars, work)
                if rep == 0:
                    print(f"rampart:  {show(cmd)}")
                run = measure(cmd, work, pin=args.pin)
                if run.returncode:
                    print(f"rampart   {size:>10,} failed: {run.failure()}")
                else:
                    figures = dict(run.figures(), **rampart_extra(run, work))
                    print(line("rampart", size, figures), flush=True)
                    ours = figures["cpu"]
                    best["rampart"] = min(best.get("rampart", 1e18), figures["cpu"])
                    best["rampart wall"] = min(best.get("rampart wall", 1e18), figures["wall"])
                if naut is None:
                    continue
                if cached is not None:
                    if rep == 0:
                        print(line("nautilus", size, cached))
                    best["nautilus"], best["nautilus wall"] = cached["cpu"], cached["wall"]
                    continue
                ncmd = [str(naut), str(Path(__file__).resolve()), "--child", str(bars)]
                if rep == 0:
                    print(f"nautilus: {show(ncmd)}")
                run = measure(ncmd, bars.parent, env=peer_env, pin=args.pin)
                if run.returncode:
                    print(f"nautilus  {size:>10,} failed: {run.failure()}")
                    continue
                reported = json.loads(run.stdout.strip().splitlines()[-1])
                figures = dict(run.figures(), **reported)
                print(line("nautilus", size, figures), flush=True)
                best["nautilus"] = min(best.get("nautilus", 1e18), figures["cpu"])
                if ours:
                    pairs.append(figures["cpu"] / ours)
                best["nautilus wall"] = min(best.get("nautilus wall", 1e18), figures["wall"])
                if size >= CACHED_FROM:
                    record_peer(key, figures)
            if "rampart" in best and "nautilus" in best:
                print(
                    f"{'':9} {size:>10,} bars, whole process, best runs: Nautilus / Rampart "
                    f"{best['nautilus'] / best['rampart']:.1f}x CPU, "
                    f"{best['nautilus wall'] / best['rampart wall']:.1f}x wall"
                )
            if pairs:
                # The machine's speed drifts between runs (both sides alike): a ratio of two
                # runs made one after the other cancels most of it.
                shown = ", ".join(f"{r:.2f}x" for r in pairs)
                print(
                    f"{'':9} {size:>10,} bars, interleaved pairs (peer CPU / Rampart CPU just "
                    f"before): {shown}; median {statistics.median(pairs):.2f}x"
                )


if __name__ == "__main__":
    main()
