"""Decision latency: candle close to order accepted by the paper venue.

With 1, 100, 1,000 and 10,000 accounts on one symbol. Each account's agent opens on even
candles and closes on odd ones, so every candle makes every account send an order. Prints p50/p99
per order, the whole candle's p50/p99/max/mean, the time to add the accounts and the process's
peak RSS after each case (cases run smallest first, so it is the case's own peak); asserts
nothing. Opening candles cost more than closing ones, so the candle p50 sits between two
clusters and moves more from run to run than the mean does.

``python bench/decisions.py 1000`` runs only the cases named (by account count).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.trading.helpers import SYMBOL, ScriptedAgent, build, candle, long_intent

from _util import machine_speed, peak_rss_mb, percentile, quiet_logs
from rampart.domain.events import Event, OrderUpdated
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import dec
from rampart.domain.orders import OrderStatus, Side
from rampart.risk.breakers import Breakers


def flip(i: int, view) -> list[Intent]:
    entry = dec(view.candle.close)
    if view.position is not None:
        return [Intent(view.account_id, SYMBOL, Side.SELL, IntentAction.CLOSE, entry, ts=view.ts)]
    return [long_intent(view, "0.98", "1.04", agent="flip")]


CASES = ((1, 2000), (100, 200), (1000, 40), (10_000, 8))
"""(accounts, candles): the 10,000-account case is kept to a few candles (seconds each)."""


async def measure(accounts: int, candles: int) -> tuple[list[float], list[float], float]:
    ids = [f"acct{i}" for i in range(accounts)]
    setup = time.perf_counter()
    engine, venue, clock, bus = await build(ScriptedAgent(flip), capital="100000", accounts=ids)
    setup = time.perf_counter() - setup
    for account_id, acct in engine.accounts.items():
        # Flipping every candle loses the fees each time; keep the breakers out
        # of the measurement so every candle sends every account's order.
        relaxed = replace(
            acct.profile,
            consecutive_losses=10**9,
            max_orders_per_minute=10**6,
            daily_loss=Decimal("0.99"),
            max_drawdown=Decimal("0.99"),
        )
        acct.profile = relaxed
        engine.breakers[account_id] = Breakers(relaxed)
    latencies: list[float] = []
    started = [0.0]

    def on_event(event: Event) -> None:
        if (
            isinstance(event, OrderUpdated)
            and event.order.status is OrderStatus.SUBMITTED
            and not event.order.role.protective
        ):
            latencies.append((time.perf_counter() - started[0]) * 1000)

    bus.subscribe(on_event)
    per_candle: list[float] = []
    for i in range(candles):
        c = candle(i, 100, 100.5, 99.5, 100 + (i % 3) * 0.1, 1e9)
        clock.set(c.close_ts)
        started[0] = time.perf_counter()
        await engine.on_candle(c)
        per_candle.append((time.perf_counter() - started[0]) * 1000)
    return latencies, per_candle, setup


def _count(text: str) -> int:
    try:
        return int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of accounts") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "accounts",
        nargs="*",
        type=_count,
        help="run only these cases (1, 100, 1000, 10000; default: all)",
    )
    wanted = set(parser.parse_args().accounts)
    quiet_logs()
    print(machine_speed())
    print(
        f"{'accounts':>8} {'orders':>7} {'p50 ms':>8} {'p99 ms':>8} {'candle p50 ms':>14} "
        f"{'candle p99 ms':>14} {'candle max ms':>14} {'candle mean ms':>15} {'setup s':>8} "
        f"{'peak RSS MB':>12}",
        flush=True,
    )
    for accounts, candles in CASES:
        if wanted and accounts not in wanted:
            continue
        lat, per, setup = asyncio.run(measure(accounts, candles))
        print(
            f"{accounts:8} {len(lat):7} {percentile(lat, 50):8.3f} {percentile(lat, 99):8.3f} "
            f"{percentile(per, 50):14.1f} {percentile(per, 99):14.1f} {max(per):14.1f} "
            f"{sum(per) / len(per):15.1f} {setup:8.2f} {peak_rss_mb():12.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
