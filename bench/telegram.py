"""The bot under Telegram's flood limits: a burst of commands from many investors, reply
latency with 1,000 investors, and the fan-out of notices when one candle fills every account's
stop-loss.

One process: a TradingSession on simulated candles, the real python-telegram-bot Application
long-polling the local Bot API stand-in (``src/rampart_testkit/botapi/standin.py``), which
answers 429 with ``retry_after`` past one message a second in a chat, thirty a second overall
and twenty a minute in a group; the investor notices wired as the service wires them (bus
subscriber → durable outbox → the bot's one limiter).

1. Burst: ``--burst-investors`` investors each send ``--burst-commands`` commands at once
   (50 × 6 by default), on the simulated pace clock (the limiter's waits cost no wall time).
   Prints answered and lost (lost must be 0), the 429 answers, and the wait from the command
   to its answer reaching the stand-in: p50, p99, max (seconds of the simulated clock), with
   the busiest second overall and the closest two answers in one chat.
2. Reply latency, on the wall clock: ``--replies`` commands (``/portfolio``, ``/notify``,
   ``/help``), each from a random one of ``--investors``, one at a time; latency is from the
   update being offered to ``getUpdates`` to the bot's answer reaching the stand-in.
3. Fan-out, on the wall clock: every account opens a position (identical accounts decide
   alike), then one candle per symbol falls below every stop. Prints when every exit notice was
   queued and delivered, and the highest message rate the stand-in saw per chat and overall.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import importlib.util
import itertools
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This file is named like the python-telegram-bot package: its folder must not shadow it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))
_spec = importlib.util.spec_from_file_location("bench_util", HERE / "_util.py")
_util = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_util)  # type: ignore[union-attr]
percentile, quiet_logs = _util.percentile, _util.quiet_logs

from tests.telegram.conftest import TgService  # noqa: E402

from rampart.clock import SimClock, WallClock  # noqa: E402
from rampart.domain.candles import Candle  # noqa: E402
from rampart.domain.events import TradeClosed  # noqa: E402
from rampart.notices.investor_notices import EXITS, KINDS  # noqa: E402
from rampart.operator import investors as inv_store  # noqa: E402
from rampart.wiring.notices import investor_outbox  # noqa: E402

FIRST_ID = 10_000
COMMANDS = ["/portfolio", "/notify", "/help"]
BURST = ["/portfolio", "/profit", "/balance", "/status", "/performance", "/count"]
"""Six commands a Freqtrade user sends, each answered with one message."""
REFUSED = ("Something went wrong", "too fast")


async def register(svc: TgService, n: int) -> list[int]:
    """``n`` paper investors, each with a running account (what /start … /invest leave)."""
    ids = list(range(FIRST_ID, FIRST_ID + n))
    await svc.register(ids)
    return ids


def closest_gap(sent: list[tuple[float, int]]) -> float:
    per_chat: dict[int, list[float]] = defaultdict(list)
    for stamp, chat in sent:
        per_chat[chat].append(stamp)
    gaps = [b - a for v in per_chat.values() for a, b in itertools.pairwise(sorted(v))]
    return min(gaps, default=float("nan"))


async def burst(svc: TgService, investors: int, commands: int) -> None:
    ids = await register(svc, investors)
    asked = BURST[:commands] if commands <= len(BURST) else BURST * (commands // len(BURST) + 1)
    asked = asked[:commands]
    start = svc.pace.now_ms() / 1000
    mark = len(svc.api.sent_at)
    wall = time.perf_counter()
    last = 0
    for command in asked:  # everyone's first command, then everyone's second, …
        for uid in ids:
            last = svc.api.push_text(uid, command)
    await svc.until(lambda: svc.bot.processed >= last, limit_s=600)
    wall = time.perf_counter() - wall
    answered = sum(1 for uid in ids for t in svc.api.texts(uid) if not any(r in t for r in REFUSED))
    sent = svc.api.sent_at[mark:]
    waits = [stamp - start for stamp, _ in sent]
    total = investors * len(asked)
    print(
        f"burst: {investors} investors x {len(asked)} commands = {total:,} under the limit: "
        f"answered {answered:,}, lost {total - answered:,}, 429 answers "
        f"{len(svc.api.limited)}"
    )
    print(
        f"  wait to the answer (simulated clock): p50 {percentile(waits, 50):.1f} s, "
        f"p99 {percentile(waits, 99):.1f} s, max {max(waits, default=0):.1f} s; "
        f"busiest second {max_in_window([s for s, _ in sent])} messages, closest two in one "
        f"chat {closest_gap(sent):.2f} s; {wall:.1f} s of wall time"
    )


async def reply_latency(svc: TgService, ids: list[int], count: int) -> list[float]:
    rng = random.Random(7)
    latencies = []
    for _ in range(count):
        uid = rng.choice(ids)
        before = len(svc.api.texts(uid))
        started = time.perf_counter()
        svc.api.push_text(uid, rng.choice(COMMANDS))
        while len(svc.api.texts(uid)) == before:
            await asyncio.sleep(0.0005)
        latencies.append((time.perf_counter() - started) * 1000)
    target = len(svc.api.updates)
    await svc.until(lambda: svc.bot.processed >= target)
    return latencies


def max_in_window(stamps: list[float], window: float = 1.0) -> int:
    stamps = sorted(stamps)
    return max(
        (bisect.bisect_right(stamps, t + window - 1e-9) - i for i, t in enumerate(stamps)),
        default=0,
    )


async def open_everywhere(svc: TgService, ids: list[int], limit: int) -> int:
    engine = svc.session.engine
    accounts = [engine.accounts[inv_store.account_id_for(u)] for u in ids]
    for n in range(1, limit + 1):
        await svc.trade(1)
        if sum(1 for a in accounts if a.ledger.positions) >= 0.9 * len(accounts):
            return n
    return limit


async def fan_out(svc: TgService, ids: list[int]) -> None:
    engine = svc.session.engine
    outbox = svc.outbox  # type: ignore[attr-defined]
    # Only the crash's exits are measured: everything is off (as /notify off all would) while
    # the accounts open their positions, then exits are turned on.
    accounts = [inv_store.account_id_for(uid) for uid in ids]
    for account_id in accounts:
        await outbox.prefs.set(account_id, list(KINDS), False, 0)
    candles = await open_everywhere(svc, ids, 3000)
    for account_id in accounts:
        await outbox.prefs.set(account_id, [EXITS], True, 0)
    held = [
        a for a in engine.accounts.values() if a.account_id.startswith("tg-") and a.ledger.positions
    ]
    print(f"  {len(held):,} of {len(ids):,} accounts hold a position after {candles} candles")
    while not outbox.idle():
        await asyncio.sleep(0.05)
    mark = len(svc.events)
    sent_before = len(svc.api.sent_at)
    now = svc.clock.now_ms()
    ts = now - now % 60_000 + 60_000
    started = time.perf_counter()
    for symbol in sorted({s for a in held for s in a.ledger.positions}):
        lowest = min(
            a.ledger.positions[symbol].stop_loss for a in held if symbol in a.ledger.positions
        )
        mark_price = float(engine.marks[symbol])
        crash = Candle(
            symbol, ts, mark_price, mark_price, float(lowest) * 0.97, float(lowest) * 0.98, 1e6
        )
        svc.clock.set(crash.close_ts)
        async with svc.lock:
            await svc.session.process(crash)
    engine_s = time.perf_counter() - started
    closed = [e for e in svc.events[mark:] if isinstance(e, TradeClosed)]
    legs = defaultdict(int)
    for e in closed:
        legs[e.trade.exit_reason] += 1
    while outbox.unsaved() or (outbox.pending() == 0 and closed):
        await asyncio.sleep(0.001)
    queued_s = time.perf_counter() - started
    while not outbox.idle():
        await asyncio.sleep(0.01)
    delivered_s = time.perf_counter() - started
    sends = svc.api.sent_at[sent_before:]
    per_chat: dict[int, list[float]] = defaultdict(list)
    for stamp, chat in sends:
        per_chat[chat].append(stamp)
    print(
        f"  one candle closed {len(closed):,} trades ({dict(legs)}) in "
        f"{engine_s * 1000:,.0f} ms of engine time"
    )
    print(
        f"  notices written to the outbox table by {queued_s * 1000:,.0f} ms; "
        f"all {len(sends):,} delivered in "
        f"{delivered_s:,.1f} s"
    )
    print(
        f"  highest rate seen: {max_in_window([s for s, _ in sends])} messages/s overall, "
        f"{max((max_in_window(v) for v in per_chat.values()), default=0)} per chat in any 1 s; "
        f"429 answers honoured: {outbox.stats.throttled}, failed sends: {outbox.stats.failed}, "
        f"dropped: {outbox.stats.dropped}, refused: {svc.api.refusals()[-3:]}"
    )


async def main(investors: int, replies: int, burst_investors: int, burst_commands: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "burst").mkdir()
        async with TgService(Path(tmp) / "burst", rate=100_000, pace=SimClock(0)) as svc:
            quiet_logs()
            await burst(svc, burst_investors, burst_commands)
        (Path(tmp) / "wall").mkdir()
        async with TgService(Path(tmp) / "wall", rate=100_000, pace=WallClock()) as svc:
            quiet_logs()
            svc.outbox = investor_outbox(svc.session, svc.bot, svc.pace)  # type: ignore[attr-defined]
            stop = asyncio.Event()
            task = asyncio.create_task(svc.outbox.run(stop, lambda: None, 1.0))  # type: ignore[attr-defined]
            t0 = time.perf_counter()
            ids = await register(svc, investors)
            print(f"{investors:,} investors registered in {time.perf_counter() - t0:.1f} s")
            latencies = await reply_latency(svc, ids, replies)
            print(
                f"reply latency over {replies:,} commands: p50 {percentile(latencies, 50):.1f} ms, "
                f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms"
            )
            print("fan-out when one candle fills every account's stop-loss:")
            await fan_out(svc, ids)
            stop.set()
            await task


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--investors", type=int, default=1000)
    parser.add_argument("--replies", type=int, default=1000)
    parser.add_argument("--burst-investors", type=int, default=50)
    parser.add_argument("--burst-commands", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(main(args.investors, args.replies, args.burst_investors, args.burst_commands))
