"""Replay throughput against NautilusTrader's backtest engine on the same synthetic bars.

Bars: 1-minute, geometric random walk (numpy ``default_rng(42)``), generated once per size by
this process and handed to each side as an ``.npz`` file. Each side runs in its own
subprocess, so import time, memory and the GIL are its own; the runs are interleaved
(Rampart, Nautilus, Rampart, Nautilus, ...) so a busy machine hurts both alike.

Rampart: ``TradingSession`` (the engine, the paper venue, the store on SQLite) driven candle
by candle as ``rampart replay`` does, trend agent fast 10 / slow 20, the aggressive profile
with its breakers relaxed, fees and slippage zero, one account, a bracket on every entry.

Nautilus: its EMA-cross example (``BacktestEngine``, ``EMACross`` fast 10 / slow 20, risk
engine on), installed with pip into ``var/nautilus-venv`` (created on first use). When it
cannot be installed the output says so and that side is skipped.

Prints bars/s of the run loop only, orders and peak RSS of each child, and the ratio. Excluded
on both sides: start-up, generating the bars, and building each side's bar objects from them
(Nautilus's ``BarDataWrangler`` before ``engine.run()``; Rampart's candles 10,000 at a time
before the loop trades them, so its memory stays flat). Rampart's line also gives
its rate with that candle building counted. Orders are counted after the run on both sides.
Asserts nothing.

    .venv/bin/python bench/compare_nautilus.py [--sizes 100k,300k,1m] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NAUTILUS_VENV = ROOT / "var" / "nautilus-venv"
SEED = 42
START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
START_PRICE = 40_000.0
MINUTE_VOL = 0.0008
FAST, SLOW = 10, 20


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


# -- the bars ---------------------------------------------------------------------------------


def generate(n: int, path: Path) -> None:
    """n 1-minute bars of a geometric random walk, prices on a 0.01 tick, to an .npz file."""
    import numpy as np

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
    rounded = [np.round(a, 2) for a in (open_, high, low, close)]
    open_, high, low, close = rounded
    high = np.maximum(high, np.maximum(open_, close))
    low = np.minimum(low, np.minimum(open_, close))
    ts = START_MS + 60_000 * np.arange(n, dtype=np.int64)
    np.savez(path, ts=ts, open=open_, high=high, low=low, close=close, volume=np.round(volume, 3))


def _peak_rss_mb() -> float:
    """This process's peak RSS since it started. VmHWM, not getrusage's ru_maxrss: Linux carries
    ru_maxrss over exec from the forked parent, whose RSS holds the generated bars."""
    try:
        with open("/proc/self/status") as status:
            for text in status:
                if text.startswith("VmHWM:"):
                    return int(text.split()[1]) / 1e3
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def _cpu_seconds() -> float:
    """CPU time of this process and of its children it has waited for: a replay on SQLite
    writes each checkpoint from a forked child (rampart.store.forked_write), whose CPU is part
    of the run's cost."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


# -- Rampart (child) --------------------------------------------------------------------------

COLUMNS = ("ts", "open", "high", "low", "close", "volume")
CHUNK = 50_000


def column_chunks(bars: Path) -> Iterator[tuple[int, list[Any]]]:
    """(bars in all, CHUNK rows of each column) read one chunk at a time from the .npz's
    members, so a replay's peak RSS is its own and not its input's (1M bars: 48 MB)."""
    import contextlib
    import zipfile

    import numpy as np

    fmt = np.lib.format
    with zipfile.ZipFile(bars) as archive, contextlib.ExitStack() as stack:
        members = []
        for name in COLUMNS:
            member = stack.enter_context(archive.open(f"{name}.npy"))
            version = fmt.read_magic(member)
            header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, dtype = header(member)
            members.append((member, dtype))
        total = left = shape[0]
        while left > 0:
            want = min(CHUNK, left)
            yield total, [np.frombuffer(m.read(want * dt.itemsize), dt) for m, dt in members]
            left -= want


BUILT = 10_000
"""Candles built ahead of the loop at a time: a few MB, so the replay's peak RSS stays its own."""


def built_candles(bars: Path, symbol: str) -> Iterator[list[Any]]:
    """The bars' candles, :data:`BUILT` at a time, each list built before the loop trades it
    (as Nautilus's BarDataWrangler builds its bars before ``engine.run()``), so both sides
    time trading only."""
    from rampart.market.series import CandleSeries

    for _, columns in column_chunks(bars):
        for lo in range(0, len(columns[0]), BUILT):
            part = [column[lo : lo + BUILT] for column in columns]
            yield list(CandleSeries(symbol, "1m", 60_000, *part).iter_candles())


def run_rampart(bars: Path, work: Path) -> dict[str, Any]:
    import asyncio
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    from decimal import Decimal

    from rampart.clock import SimClock
    from rampart.config import AccountConfig, load_settings
    from rampart.domain.instruments import Instrument
    from rampart.market.series import CandleSeries
    from rampart.wiring.session import TradingSession

    # The first chunk gives the instrument's typical price; the replay streams them all.
    total, head = next(column_chunks(bars))
    series = CandleSeries("BTC/USDT", "1m", 60_000, *head)
    del head
    relaxed = {
        "daily_loss": "0.99",
        "max_drawdown": "0.99",
        "position_loss_limit": "0.999",
        "consecutive_losses": 1_000_000,
        "cooldown_ms": 1,
        "max_orders_per_minute": 1_000_000,
    }
    settings = load_settings(
        profiles={"aggressive": relaxed},
        venue={"maker_fee": "0", "taker_fee": "0", "slippage_bps": "0"},
    )
    account = AccountConfig(
        id="bench-trend",
        agent="trend",
        profile="aggressive",
        capital=Decimal("100000"),
        symbols=[series.symbol],
        owner="bench",
        params={"fast": FAST, "slow": SLOW},
    )
    clock = SimClock(0)
    session = TradingSession(
        settings,
        clock,
        {series.symbol: Instrument.for_price(series.symbol, series.typical_price())},
        db_url=f"sqlite:///{work / 'replay.db'}",
        checkpoint_name="replay",
        accounts=[account],
        checkpoint_every=settings.store.replay_checkpoint_every,
        ride_out_outages=False,
    )

    async def go() -> tuple[float, float, float, str]:
        await session.open()
        engine = session.engine
        seconds = cpu_seconds = build_seconds = 0.0
        try:
            chunks = built_candles(bars, series.symbol)
            while True:
                built = time.perf_counter()
                candles = next(chunks, None)
                if candles is None:
                    break
                start, cpu = time.perf_counter(), _cpu_seconds()
                build_seconds += start - built
                for candle in candles:
                    clock.set(candle.close_ts)
                    await session.process(candle)
                seconds += time.perf_counter() - start
                cpu_seconds += _cpu_seconds() - cpu
            start, cpu = time.perf_counter(), _cpu_seconds()
            await engine.controls.flatten_all("end of data")
            final = engine.equity(account.id)
            seconds += time.perf_counter() - start
            cpu_seconds += _cpu_seconds() - cpu
        finally:
            session.close()
        return seconds, cpu_seconds, build_seconds, str(final)

    seconds, cpu_seconds, build_seconds, final = asyncio.run(go())
    return {
        "bars": total,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "build_seconds": build_seconds,
        "orders": stored_orders(work / "replay.db"),
        "final_equity": final,
        "rss_mb": _peak_rss_mb(),
    }


def stored_orders(db: Path) -> int:
    """Orders the replay stored, every one ended (filled, canceled, rejected; the final flatten
    cancels the rest): counted after the run, as Nautilus's are from its cache, instead of
    by a subscriber on every event of the run."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        ((ended,),) = conn.execute(
            "SELECT count(*) FROM orders WHERE status IN "
            "('filled', 'canceled', 'rejected', 'expired')"
        )
    return int(ended)


# -- Nautilus (child, in its own virtualenv) --------------------------------------------------


def run_nautilus(bars: Path, work: Path) -> dict[str, Any]:
    del work
    import logging
    from decimal import Decimal

    import numpy as np
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
    data = np.load(bars)
    instrument = TestInstrumentProvider.btcusdt_binance()
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    frame = pd.DataFrame(
        {
            "open": data["open"],
            "high": data["high"],
            "low": data["low"],
            "close": data["close"],
            "volume": data["volume"],
        },
        index=pd.to_datetime(data["ts"] + 60_000, unit="ms", utc=True),
    )
    nbars = BarDataWrangler(bar_type, instrument).process(frame)
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
    start, cpu = time.perf_counter(), _cpu_seconds()
    engine.run()
    seconds, cpu_seconds = time.perf_counter() - start, _cpu_seconds() - cpu
    orders = len(engine.trader.generate_order_fills_report())
    total_orders = len(engine.cache.orders())
    engine.dispose()
    return {
        "bars": len(nbars),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "orders": total_orders,
        "filled": orders,
        "rss_mb": _peak_rss_mb(),
    }


# -- the parent -------------------------------------------------------------------------------


def nautilus_python() -> tuple[Path | None, str]:
    """The nautilus_trader virtualenv's python, creating it on first use; or None and why not."""
    from _util import tool_python  # here, not at the top: the child runs in that virtualenv

    return tool_python(NAUTILUS_VENV, "nautilus_trader", "nautilus_trader")


def child(python: Path, side: str, bars: Path, work: Path, src: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(src))
    if side == "nautilus":
        env.pop("PYTHONPATH")
    cmd = [str(python), str(Path(__file__).resolve()), "--child", side, str(bars), str(work)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = " / ".join(done.stderr.strip().splitlines()[-3:])
        return {"error": f"exit {done.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def line(side: str, size: int, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{side:9} {size:>9,}  failed: {r['error']}"
    rate = r["bars"] / r["seconds"]
    cpu_rate = r["bars"] / r["cpu_seconds"]
    built = r.get("build_seconds")
    with_build = f", {r['bars'] / (r['seconds'] + built):,.0f} building candles" if built else ""
    return (
        f"{side:9} {r['bars']:>9,} {r['seconds']:8.1f} s {rate:10,.0f} bars/s "
        f"({cpu_rate:,.0f} per CPU s{with_build}) "
        f"{r['orders']:>7,} orders {r['rss_mb']:7.0f} MB"
        + (f"  equity {r['final_equity']}" if "final_equity" in r else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100k,300k", help="bars per run, e.g. 100k,300k,1m")
    parser.add_argument("--repeat", type=int, default=1, help="runs per side and size")
    parser.add_argument("--no-nautilus", action="store_true", help="Rampart only")
    parser.add_argument(
        "--rampart-src",
        type=Path,
        default=ROOT / "src",
        help="run Rampart from this src directory (e.g. an exported older commit, to compare)",
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("SIDE", "BARS", "WORK"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        side, bars, work = args.child
        run = run_rampart if side == "rampart" else run_nautilus
        print(json.dumps(run(Path(bars), Path(work))), flush=True)
        return

    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if args.no_nautilus:
        naut, naut_note = None, "skipped (--no-nautilus)"
    else:
        naut, naut_note = nautilus_python()
    from _util import machine_speed

    print(f"python {sys.version.split()[0]}; cores {os.cpu_count()}; {machine_speed()}")
    if naut is None:
        print(f"nautilus_trader: not run: {naut_note}")
    else:
        print(f"nautilus_trader {naut_note} ({naut})")
    best: dict[int, tuple[float, float]] = {}
    """Rampart's best bars/s and its peak RSS per size (for the flatness line)."""
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            bars = Path(tmp) / f"bars-{size}.npz"
            generate(size, bars)
            rates: dict[str, list[float]] = {"rampart": [], "nautilus": []}
            rss: list[float] = []
            for rep in range(args.repeat):
                sides: list[tuple[str, Path]] = [("rampart", Path(sys.executable))]
                if naut is not None:
                    sides.append(("nautilus", naut))
                for side, python in sides:
                    work = Path(tmp) / f"{side}-{size}-{rep}"
                    work.mkdir()
                    r = child(python, side, bars, work, args.rampart_src)
                    print(line(side, size, r), flush=True)
                    if "error" not in r:
                        rates[side].append(r["bars"] / r["seconds"])
                        if side == "rampart":
                            rss.append(r["rss_mb"])
            if rates["rampart"] and rates["nautilus"]:
                ratio = max(rates["rampart"]) / max(rates["nautilus"])
                print(f"{'':9} {size:>9,}  Rampart / Nautilus (best runs): {ratio:.1f}x")
            if rates["rampart"]:
                best[size] = (max(rates["rampart"]), max(rss))
    if len(best) > 1:
        small, large = min(best), max(best)
        (rate_s, rss_s), (rate_l, rss_l) = best[small], best[large]
        print(
            f"rampart   {large:,} bars at {rate_l / rate_s:.0%} of the {small:,}-bar throughput; "
            f"peak RSS {rss_s:.0f} -> {rss_l:.0f} MB ({rss_l / rss_s - 1:+.1%})"
        )


if __name__ == "__main__":
    main()
