"""The investors' flood: ``--investors`` investors send six commands each while ``--confirmers``
press Confirm on ``/demo``, against the Bot API stand-in of the tests keeping Telegram's limits
(30 messages a second overall, one a second per chat, edits counted), on the wall clock, with
the investor notices wired as the service wires them (outbox → the bot's one pacer).

Prints: commands answered; confirmers told "Order placed" / told "something went wrong" /
proposals still showing buttons; the fill notice's delay (from the entry filling to Telegram
accepting its notice) p50, p95, max; the pacer's waits per lane; 429 answers.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))
_spec = importlib.util.spec_from_file_location("bench_util", HERE / "_util.py")
_util = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_util)  # type: ignore[union-attr]
percentile, quiet_logs = _util.percentile, _util.quiet_logs

from tests.telegram.conftest import TgService  # noqa: E402
from tests.telegram.flood_demo import demo_ready, flood_and_confirm  # noqa: E402

from rampart.clock import WallClock  # noqa: E402
from rampart.domain.events import PositionChanged  # noqa: E402
from rampart.wiring.notices import investor_outbox  # noqa: E402

FILL_TARGET_S = 3.0
"""A fill notice within 3 s at p95 while 300 investors flood the bot."""


async def main(investors: int, confirmers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with TgService(Path(tmp), rate=100_000, pace=WallClock()) as svc:
            quiet_logs()
            outbox = investor_outbox(svc.session, svc.bot, svc.pace)
            stop = asyncio.Event()
            task = asyncio.create_task(outbox.run(stop, lambda: None, 0.05))
            flooders = list(range(40_000, 40_000 + investors))
            tappers = list(range(41_000, 41_000 + confirmers))
            await svc.register(flooders)
            confirm = await demo_ready(svc, tappers)
            demo_accounts = {f"tg-{uid}" for uid in tappers}
            filled: dict[str, float] = {}
            told: dict[str, float] = {}

            def on_event(event: object) -> None:
                if isinstance(event, PositionChanged) and event.account_id in demo_accounts:
                    filled.setdefault(event.account_id, time.perf_counter())

            svc.session.bus.subscribe(on_event)
            deliver = svc.bot.deliver

            async def timed(account_id: str, html: str) -> bool:
                done = await deliver(account_id, html)
                if done and account_id in filled:
                    told.setdefault(account_id, time.perf_counter())
                return done

            svc.bot.deliver = timed  # type: ignore[method-assign]
            while not outbox.idle():
                await asyncio.sleep(0.05)
            limited = len(svc.api.limited)
            wall = time.perf_counter()
            out = await flood_and_confirm(svc, flooders, confirm)
            while not outbox.idle():
                await asyncio.sleep(0.05)
            wall = time.perf_counter() - wall
            delays = [told[a] - filled[a] for a in told]
            print(
                f"flood: {investors} investors x 6 commands while {confirmers} press Confirm on "
                f"/demo, {wall:.1f} s of wall time"
            )
            print(
                f"  commands answered {out.answered}/{out.asked}; confirmers told 'Order placed' "
                f"{out.placed}/{out.confirmed}, 'something went wrong' {out.sorry}, proposals "
                f"still showing buttons {out.buttons_left}"
            )
            print(
                f"  fill notice delay ({len(delays)} notices): p50 {percentile(delays, 50):.2f} s, "
                f"p95 {percentile(delays, 95):.2f} s, max {max(delays, default=0):.2f} s"
            )
            p95 = percentile(delays, 95)
            verdict = "met" if p95 <= FILL_TARGET_S else "NOT met"
            print(
                f"  fill notice p95 {p95:.2f} s against the goal <= {FILL_TARGET_S:g} s: {verdict}"
            )
            pacer = svc.bot.pacer
            if pacer is not None and hasattr(pacer.stats, "lane_waits_ms"):
                lanes = ", ".join(
                    f"{lane} p95 {percentile(list(w), 95) / 1000:.2f} s ({len(w)})"
                    for lane, w in pacer.stats.lane_waits_ms.items()
                )
                print(f"  pacer waits by lane: {lanes}")
            print(f"  429 answers from the stand-in: {len(svc.api.limited) - limited}")
            stop.set()
            await task


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--investors", type=int, default=300)
    parser.add_argument("--confirmers", type=int, default=35)
    args = parser.parse_args()
    asyncio.run(main(args.investors, args.confirmers))
