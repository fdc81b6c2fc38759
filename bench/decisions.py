"""Decision latency: candle close to order accepted by the paper venue.

With 1, 100, 1,000 and 10,000 accounts on one symbol. Each account's agent opens on even
candles and closes on odd ones, so every candle makes every account send an order.

The headline is the **all-act candle**, one on which every account sends an order (on a
platform where many investors follow one agent on one symbol, every signal is one): the time
from the candle's close to the engine learning that the paper venue accepted the *last*
account's order (max and mean over those candles), the same for the orders served first, in
the middle and last (mean over those candles: the per-rank spread), and each account's mean
rank over them as a share off the middle (the serving order rotates; 0 % is perfectly fair).
Beside it, labelled, the **quiet candle** p50 (no order sent). Then p50/p99 per order, the
whole candle's max/mean, the time to add the accounts and the process's peak RSS after each
case (cases run smallest first, so it is the case's own peak). Asserts nothing.

``python bench/decisions.py 1000`` runs only the cases named (by account count).
``--agent trend`` trades every account with the built-in trend agent instead (``fast=2
slow=3``, one agent shared by all the accounts, as the engine shares it; the closes swing so
that its EMAs cross every few candles, and only those candles send orders; its indicators warm
on untimed candles first (its own warm-up), so even the 8 candles of the 10,000-account case
trade). ``--store`` subscribes the store writer (SQLite in a temporary folder) to the bus as
the replay and the service do: its buffering is inside each candle's time; its write of the
candle's rows, which the service does from a worker thread, is timed apart and printed as
"write ms". The first lines say the clock, the agent and whether the store is on. ``--cpu``
reads every figure from the thread's CPU time instead of the wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.trading.helpers import INSTRUMENT, SYMBOL, ScriptedAgent, build, candle, long_intent

from _util import machine_speed, peak_rss_mb, percentile, quiet_logs
from rampart.agents.registry import make_agent
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.events import Event, OrderUpdated
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import dec
from rampart.domain.orders import OrderStatus, Side
from rampart.risk.breakers import Breakers
from rampart.risk.profiles import get_profile
from rampart.store.db import open_database
from rampart.store.writer import StoreWriter
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue

now = time.perf_counter
"""The clock every figure is read from: the wall clock, or with ``--cpu`` this thread's CPU
time (on a shared machine the wall clock also counts the other processes' turns)."""

TREND = {"fast": 2, "slow": 3}
"""The built-in trend agent's parameters here: short, so that it crosses every few candles."""


def flip(i: int, view) -> list[Intent]:
    entry = dec(view.candle.close)
    if view.position is not None:
        return [Intent(view.account_id, SYMBOL, Side.SELL, IntentAction.CLOSE, entry, ts=view.ts)]
    return [long_intent(view, "0.98", "1.04", agent="flip")]


CASES = ((1, 2000), (100, 200), (1000, 40), (10_000, 8))
"""(accounts, candles): the 10,000-account case is kept to a few candles (seconds each)."""


async def _trend_engine(ids: list[str]) -> tuple[Engine, SimClock, EventBus]:
    """The engine of ``build`` with every account on the built-in trend agent (``TREND``)."""
    clock = SimClock(0)
    bus = EventBus()
    venue = PaperVenue({SYMBOL: INSTRUMENT}, clock=clock)
    engine = Engine(
        venue=venue,
        clock=clock,
        bus=bus,
        make_agent=make_agent,
        profile_for=get_profile,
        taker_fee=Decimal("0.001"),
    )
    for account_id in ids:
        spec = AccountSpec(account_id, "trend", "moderate", Decimal("100000"), (SYMBOL,))
        await engine.add_account(spec, dict(TREND))
    return engine, clock, bus


def _close(i: int, agent: str) -> float:
    if agent == "flip":
        return 100 + (i % 3) * 0.1
    # A swing of a few ticks' worth of ATRs every 8 candles: the fast EMA crosses the slow.
    return round(100 + 1.5 * math.sin(i * math.pi / 4), 2)


@dataclass
class Case:
    latencies: list[float]
    per_candle: list[float]
    setup: float
    writes: list[float]
    all_act: list[list[tuple[str, float]]]
    quiet: list[float]
    ids: list[str]

    def headline(self) -> str:
        """The all-act candles: last order's acceptance (max, mean), the per-rank spread,
        the mean ranks' spread; the quiet candle's p50 beside it."""
        quiet = f"{percentile(self.quiet, 50):.1f} ms" if self.quiet else "-"
        if not self.all_act:
            return f"all-act candles: none | quiet candle p50 {quiet}"
        last = [c[-1][1] for c in self.all_act]
        n = len(self.ids)

        def at(rank: int) -> float:
            return sum(c[rank][1] for c in self.all_act) / len(self.all_act)

        ranks: dict[str, list[int]] = {a: [] for a in self.ids}
        for c in self.all_act:
            for rank, (account, _) in enumerate(c):
                ranks[account].append(rank)
        middle = (n - 1) / 2
        off = (
            max(abs(sum(r) / len(r) - middle) / middle for r in ranks.values() if r) * 100
            if n > 1
            else 0.0
        )
        return (
            f"all-act candles {len(self.all_act)}: last order accepted max {max(last):.1f} ms, "
            f"mean {sum(last) / len(last):.1f} ms; by rank (mean) first {at(0):.1f} / middle "
            f"{at(n // 2):.1f} / last {at(n - 1):.1f} ms; mean rank off the middle at most "
            f"{off:.0f} % | quiet candle p50 {quiet} ({len(self.quiet)} candles)"
        )


async def measure(accounts: int, candles: int, agent: str, store: Path | None) -> Case:
    ids = [f"acct{i}" for i in range(accounts)]
    setup = now()
    if agent == "flip":
        engine, _venue, clock, bus = await build(
            ScriptedAgent(flip), capital="100000", accounts=ids
        )
    else:
        engine, clock, bus = await _trend_engine(ids)
    writer: StoreWriter | None = None
    if store is not None:
        writer = StoreWriter(open_database(f"sqlite:///{store / f'{accounts}.db'}"))
        for acct in engine.accounts.values():
            writer.upsert_account(acct.spec, acct.state.value, acct.paused, 0)
        bus.subscribe(writer)
    setup = now() - setup
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
    accepted: list[tuple[str, float]] = []  # this candle's: account, ms after the close

    def on_event(event: Event) -> None:
        if (
            isinstance(event, OrderUpdated)
            and event.order.status is OrderStatus.SUBMITTED
            and not event.order.role.protective
        ):
            ms = (now() - started[0]) * 1000
            latencies.append(ms)
            accepted.append((event.order.account_id, ms))

    bus.subscribe(on_event)
    per_candle: list[float] = []
    writes: list[float] = []
    all_act: list[list[tuple[str, float]]] = []  # per all-act candle, in order of acceptance
    quiet: list[float] = []  # the candles on which no order was sent
    # The trend agent's indicators warm first, untimed (indicators only, no decisions): the
    # timed candles then trade from the first one, so a case of a few candles has orders.
    # (the agent's own warm-up: its indicators settled, so the first timed candle can trade)
    warm = make_agent("trend", dict(TREND)).warmup if agent == "trend" else 0
    for i in range(warm):
        close = _close(i, agent)
        c = candle(i, close, close + 0.5, close - 0.5, close, 1e9)
        clock.set(c.close_ts)
        engine.warm(c)
    for i in range(warm, warm + candles):
        close = _close(i, agent)
        c = candle(i, close, close + 0.5, close - 0.5, close, 1e9)
        clock.set(c.close_ts)
        accepted.clear()
        started[0] = now()
        await engine.on_candle(c)
        per_candle.append((now() - started[0]) * 1000)
        if len({account for account, _ in accepted}) == accounts:
            all_act.append(list(accepted))
        elif not accepted:
            quiet.append(per_candle[-1])
        if writer is not None:
            began = now()
            writer.flush()
            writes.append((now() - began) * 1000)
    return Case(latencies, per_candle, setup, writes, all_act, quiet, ids)


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
    parser.add_argument(
        "--agent",
        choices=("flip", "trend"),
        default="flip",
        help="flip: a scripted agent, every account trades every candle; trend: the built-in "
        "trend agent (fast=2 slow=3)",
    )
    parser.add_argument("--store", action="store_true", help="the store writer on (SQLite)")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time with this thread's CPU time, not the wall clock (a shared machine)",
    )
    args = parser.parse_args()
    if args.cpu:
        global now
        now = time.thread_time
    wanted = set(args.accounts)
    quiet_logs()
    print(machine_speed())
    what = (
        "flip (scripted: every account opens on even candles and closes on odd ones)"
        if args.agent == "flip"
        else f"trend, the built-in agent ({', '.join(f'{k}={v}' for k, v in TREND.items())})"
    )
    print(f"clock: {'this thread CPU time (--cpu)' if args.cpu else 'wall'}")
    print(
        f"agent: {what}; store writer: "
        + ("on (SQLite; buffering timed in the candle, its write apart)" if args.store else "off")
    )
    print(
        f"{'accounts':>8} {'orders':>7} {'p50 ms':>8} {'p99 ms':>8} {'candle p50 ms':>14} "
        f"{'candle p99 ms':>14} {'candle max ms':>14} {'candle mean ms':>15} {'setup s':>8} "
        f"{'peak RSS MB':>12}"
        + (f" {'write p50 ms':>13} {'write max ms':>13}" if args.store else ""),
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        for accounts, candles in CASES:
            if wanted and accounts not in wanted:
                continue
            store = Path(tmp) if args.store else None
            case = asyncio.run(measure(accounts, candles, args.agent, store))
            lat, per, setup, writes = case.latencies, case.per_candle, case.setup, case.writes
            line = (
                f"{accounts:8} {len(lat):7} {percentile(lat, 50):8.3f} {percentile(lat, 99):8.3f} "
                f"{percentile(per, 50):14.1f} {percentile(per, 99):14.1f} {max(per):14.1f} "
                f"{sum(per) / len(per):15.1f} {setup:8.2f} {peak_rss_mb():12.0f}"
            )
            if writes:
                line += f" {percentile(writes, 50):13.1f} {max(writes):13.1f}"
            print(line, flush=True)
            print(f"{'':8} {case.headline()}", flush=True)


if __name__ == "__main__":
    main()
