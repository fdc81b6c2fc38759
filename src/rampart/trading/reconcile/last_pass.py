"""A clean stop's last pass: before a process that trades on an exchange exits, every fill the
exchange reported is booked and every held coin has a resting stop.

Between the last candle and the exit, the exchange keeps filling: an entry's later parts, a
take-profit in part (after which the exchange cancels the stop), a stop itself. A process that
just exits leaves those fills unbooked and the coins they bought without a stop until the next
holder's first pass. So on a stop signal the process runs one reconciliation pass of reason
:data:`STOP` (the venue's orders read and their fills booked by exchange trade id, so nothing is
booked twice; each position explained from the balances and its stop placed or grown for any
uncovered coin) within a deadline, then reads every position's protection from the real orders.

What could not be done in time is said in words (a log line at error, and :attr:`StopPass.text`
for the operator's console) and written into the checkpoint that follows (``Engine.owed``): the
next holder's first pass (a start, a shard's take), which runs before its first candle, books the
venue's trades and covers the coins, and says that it did the work its predecessor left.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from rampart.domain.errors import RampartError
from rampart.trading.protection_state import bare_positions
from rampart.trading.reconcile.reconciler import Reconciler

if TYPE_CHECKING:
    from rampart.trading.engine import Engine
    from rampart.trading.reconcile.context import ReconcileReport

log = structlog.get_logger("rampart.reconcile")

STOP = "stop"
"""The reason of a clean stop's last pass."""
LAST_PASS_TRIES = 4
"""Passes a clean stop runs, one after another while the previous one left work, within
:data:`LAST_PASS_S`."""
LAST_PASS_S = 5.0
"""How long a clean stop gives its last pass: within the process's stop deadline, with room for
the checkpoint after it."""


@dataclass
class StopPass:
    """What a clean stop's last pass left: nothing, or what the next holder must do first."""

    finished: bool = False
    """The pass ran to its end within the deadline."""
    differences: list[str] = field(default_factory=list)
    """What still differs from the venue (the pass's verdict), in words."""
    bare: list[str] = field(default_factory=list)
    """``account symbol qty``: positions no stop rests for on the exchange after the pass."""
    failure: str = ""
    """Why the pass did not finish (the deadline, the venue's error), or ""."""

    @property
    def clean(self) -> bool:
        return self.finished and not self.differences and not self.bare

    @property
    def text(self) -> str:
        """The operator's sentence."""
        if self.clean:
            return "Last pass before stopping: every fill booked, every held coin under a stop."
        told = []
        if self.failure:
            told.append(f"the last pass did not finish ({self.failure})")
        if self.bare:
            told.append("no stop rests for " + ", ".join(self.bare))
        if self.differences:
            told.append("the books still differ: " + "; ".join(self.differences))
        return (
            "Stopping with work left: "
            + "; ".join(told)
            + ". The next start books the exchange's trades and covers every coin before it "
            "trades; start it soon."
        )


async def _entries_canceled(engine: Engine, accounts: list[str] | None) -> None:
    """Every working entry canceled: an entry the exchange goes on filling after the process
    has gone buys coins no stop covers until the next holder's first pass."""
    for account_id, acct in engine.accounts.items():
        if accounts is None or account_id in accounts:
            await engine.executor.cancel_entries(acct)


async def _reconciled(
    engine: Engine, reconciler: Reconciler, accounts: list[str] | None, first: bool
) -> ReconcileReport:
    if first:
        await _entries_canceled(engine, accounts)
    return await reconciler.run(engine, accounts, reason=STOP)


async def _one_pass(
    engine: Engine,
    reconciler: Reconciler,
    accounts: list[str] | None,
    within_s: float,
    first: bool = False,
) -> StopPass:
    out = StopPass()
    try:
        report = await asyncio.wait_for(
            _reconciled(engine, reconciler, accounts, first), timeout=within_s
        )
    except TimeoutError:
        out.failure = f"not done within {within_s:g} s"
    except RampartError as exc:
        out.failure = exc.message
    else:
        out.finished = True
        out.differences = list(report.differences)
    out.bare = bare_positions(
        engine.accounts, engine.venue.instrument, engine.clock.now_ms(), accounts
    )
    return out


async def last_pass(
    engine: Engine,
    reconciler: Reconciler | None = None,
    accounts: list[str] | None = None,
    within_s: float = LAST_PASS_S,
) -> StopPass:
    """Books what the venue reported and covers every held coin, within ``within_s``; what it
    left is in the result (and logged)."""
    reconciler = reconciler or Reconciler()
    loop = asyncio.get_running_loop()  # the deadline on the clock wait_for bounds a pass on
    deadline = loop.time() + within_s
    out = await _one_pass(engine, reconciler, accounts, within_s, first=True)
    tries = 1
    # Fills still arriving (an entry the exchange fills over several trades, an order whose
    # answer was lost, a stop sent as the stop began) leave the first pass short: the next one
    # books and covers what has landed since, while the deadline allows.
    while not out.clean and out.finished and tries < LAST_PASS_TRIES:
        left = deadline - loop.time()
        if left <= 0:
            break
        out = await _one_pass(engine, reconciler, accounts, left)
        tries += 1
    engine.owed = "" if out.clean else out.text  # saved with the checkpoint that follows
    if out.clean:
        log.info("stop_last_pass", clean=True)
    else:
        log.error(
            "stop_last_pass",
            clean=False,
            failure=out.failure,
            bare=out.bare,
            differences=out.differences,
            text=out.text,
        )
    return out
