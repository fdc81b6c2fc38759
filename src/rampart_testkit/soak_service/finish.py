"""The end of a service soak's run: the fault under way ended, the service stopped (SIGTERM),
the simulator read while it is up, then the books, the investors' messages and the backups put
into the evidence."""

from __future__ import annotations

import asyncio
import math
import time
from decimal import Decimal

import aiohttp
import sqlalchemy as sa

from rampart.backup.keys import key_from_text
from rampart_testkit.soak_service import collect, procs, resume, state
from rampart_testkit.soak_service.evidence import FaultWindow
from rampart_testkit.soak_service.faults import BOT_CUT, EXPECTS, FIRE_SLACK_S, after_s
from rampart_testkit.soak_service.jobs import asked_end_ms
from rampart_testkit.soak_service.run import Run

STOPPING_BUDGET_S = 6.5  # what is left for collecting after a SIGTERM: it ends within 10 s
END_BUDGET_S = 120.0
BACKUP_SLOT_TOLERANCE = 1
"""A backup whose slot falls in the run's last stretch may not have been taken yet."""


async def end_fault(run: Run, http: aiohttp.ClientSession, now: float) -> None:
    """End the fault under way (if any) and put its window into the evidence."""
    if run.faults is None:
        return
    episode = await run.faults.end(http, now)
    if episode is None:
        return
    run.ev.faults.append(
        FaultWindow(
            episode.kind,
            episode.start_ms,
            run.business_estimate(now),
            int(FIRE_SLACK_S * run.config.speed * 1000),
            EXPECTS[episode.kind],
            int(after_s(episode.kind) * run.config.speed * 1000),
        )
    )
    if run.bot is not None:
        run.bot.mark(f"fault {episode.kind} off")
    run.progress(f"fault {episode.kind} off")


async def finish(run: Run, http: aiohttp.ClientSession, key: str) -> None:
    """Stop the service (SIGTERM), read the simulator while it is up, then the books, the
    messages and the backups; within :data:`STOPPING_BUDGET_S` when the run was told to stop."""
    ev = run.ev
    budget = STOPPING_BUDGET_S if run.stop.is_set() else END_BUDGET_S
    deadline = time.monotonic() + budget
    await end_fault(run, http, time.monotonic())
    if run.faults is not None:
        ev.notes += [f"the simulator's fault switch failed: {e}" for e in run.faults.errors[:5]]
    await run.scrape(http)
    if run.proc is not None and run.life is not None and run.proc.returncode is None:
        code = await procs.stop(
            run.proc, min(procs.STOP_WAIT_S, max(deadline - time.monotonic() - 3, 1))
        )
        run.life.ended_by = (
            "stop"
            if code == 0
            else ("stop (killed: it did not end)" if code is None else f"exit {code}")
        )
    try:
        async with asyncio.timeout(max(deadline - time.monotonic() - 2, 1)):
            ev.sim_trade_ids = await collect.sim_trades(
                http, run.sim.url, run.sim.keys, run.config.symbols
            )
            stopped = await collect.sim_stops(http, run.sim.url)
    except (aiohttp.ClientError, TimeoutError, RuntimeError, KeyError) as exc:
        ev.sim_read_error = f"{type(exc).__name__}: {exc}"
        stopped = {}
    if run.db is not None:
        run.db.dispose()
    _read_books(run, stopped)
    every_s = run.config.backup_every_h * 3600
    # The backups of the span asked: not those falling due while the end waits to settle.
    asked_end, span_s = asked_end_ms(ev), ev.simulated_s
    if asked_end is not None and ev.begin_ms is not None:
        span_s = min(span_s, (asked_end - ev.begin_ms) / 1000)
    ev.backups_expected = max(0, math.floor(span_s / every_s) - BACKUP_SLOT_TOLERANCE)
    backup_dir = run.config.out_dir / "backups"
    if backup_dir.is_dir():
        collect.check_backups(
            backup_dir,
            key_from_text(key),
            run.business_ms or 0,
            deadline - 0.5,
            ev,
            None if run.read_url.startswith("sqlite") else run.read_url,
        )


def _read_books(run: Run, stopped: dict[str, dict[str, Decimal]]) -> None:
    """The books (with the fills of the parts before a host restart set apart), the holdings
    against the simulator's stops, and the investors' messages."""
    ev, url = run.ev, run.read_url
    try:
        held = collect.read_books(url, ev)
        if ev.parts:  # the fills of the parts before a host restart are judged with them
            ev.book_trade_ids, ev.repairs = state.split_books(resume.book_fills(url), ev.parts)
    except sa.exc.SQLAlchemyError as exc:
        ev.notes.append(f"the books could not be read: {exc}")
        held = {}
    ev.holdings = collect.holdings(held, stopped)
    if run.bot is not None:
        cut = run.config.bot_cut_s if any(f.kind == BOT_CUT for f in ev.faults) else None
        try:
            run.bot.collect(url, ev, cut)
        except sa.exc.SQLAlchemyError as exc:
            ev.notes.append(f"the investors' messages could not be read: {exc}")


__all__ = ["END_BUDGET_S", "STOPPING_BUDGET_S", "end_fault", "finish"]
