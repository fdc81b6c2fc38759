"""Reconciliation of many accounts side by side: the venue's reads overlap, the booking does not.

A pass spends nearly all its time waiting on the venue: on an exchange every account costs a
dozen round trips (its orders, its trades, its balances, read again to check they held still).
Taken one account after another, a takeover of a shard of 50 accounts took 5-15 s. What the
accounts share is Rampart's, not the venue's: each trades with its own key, its own balances
and its own orders, so no account's venue state depends on another's. The engine's machinery is
shared: the executor applies one queue of reports for every account (and protects the positions
they change once it is empty), the venue delivers its reports to that queue, and the bus carries
every account's events.

So the pass keeps the sequential pass's steps, in the same order for each account, and lets only
the reads overlap (:class:`Booking`):

- **one account books at a time.** An account's task holds the booking turn (a FIFO lock) while
  it changes anything: delivering and applying reports, adopting, protecting, sending a cancel
  or a protective order, setting cash. Each step wraps its venue reads (which book nothing) in
  :meth:`~.context.RunContext.reading`: the turn is given up for the read, another account
  books meanwhile, and it is taken back before the answer is used;
- **a turn is given up only with the executor idle**: nothing queued and no position waiting for
  its protection. Otherwise (a step that delivered reports and reads again before it drains) the
  read keeps the turn, as the sequential pass would. So no account ever applies, classifies or
  protects another's reports, and a drain applies exactly what the sequential pass's would;
- **what the venue reports during a read is held for the account that read** (a refresh polls
  the account's orders and reports their fills): the venue's listener puts it aside in the
  reading task's context, and it enters the executor's queue when that account has the turn
  back, before the step looks at the queue. Without this, another account's drain would book
  those fills first, and the balance check that asks "did anything arrive since the read?"
  would see nothing and compare balances with books that lack them.

Ids are reserved for every account (reads only) before any account's books are touched, as in
the sequential pass; then each account's pass runs from its own catch-up (its orders polled)
to its verdict. At most ``concurrency`` accounts of the whole process are in their pass at once
(:func:`gate`, shared by the shards a worker takes together): a bound on the requests in flight
and on the work the event loop answers at once, the loop that also renews the worker's leases.
The request budget then spends those requests by priority (protective orders and cancels
before these reads).

Between two accounts, the order in which their turns come depends on the venue's answers' timing;
within an account, every step and every booking is in the sequential pass's order, and the
report lists its differences in the sequential order (:meth:`~.context.RunContext.finish`). That
is why the books and the report of an overlapped pass equal a sequential pass's; the events on
the bus interleave by account.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from rampart.trading.ports import VenueReport

if TYPE_CHECKING:
    from rampart.trading.execution import Executor

_HELD: ContextVar[list[VenueReport] | None] = ContextVar("rampart_reconcile_held", default=None)
"""Reports the venue makes during the current task's read, held for its account."""
_TURN: ContextVar[Turn | None] = ContextVar("rampart_reconcile_turn", default=None)


class Booking:
    """The booking turn of one overlapped pass, and the venue listener that holds reports."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.lock = asyncio.Lock()

    def listen(self, report: VenueReport) -> None:
        """The venue's listener during the pass: a report made during a read is held for the
        reading account; any other goes to the executor's queue, as always."""
        held = _HELD.get()
        if held is not None:
            held.append(report)
        else:
            self.executor.deliver(report)

    def reading(self) -> AbstractAsyncContextManager[None]:
        turn = _TURN.get()
        return turn.reading() if turn is not None else contextlib.nullcontext()

    async def account(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run one account's pass, booking only while it holds the turn."""
        turn = Turn(self)
        token = _TURN.set(turn)
        try:
            await turn.take()
            await work()
        finally:
            turn.give()
            _TURN.reset(token)


class Turn:
    """One account's hold on the booking turn."""

    def __init__(self, booking: Booking) -> None:
        self.booking = booking
        self.held = False

    async def take(self) -> None:
        await self.booking.lock.acquire()
        self.held = True

    def give(self) -> None:
        if self.held:
            self.held = False
            self.booking.lock.release()

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        executor = self.booking.executor
        if not self.held or executor.has_work():
            # Reports of this account wait in the queue (or a position for its protection):
            # another account's drain must not apply them, so this read keeps the turn.
            yield
            return
        held: list[VenueReport] = []
        token = _HELD.set(held)
        self.give()
        try:
            yield
        finally:
            _HELD.reset(token)
            try:
                await self.take()
            finally:
                # Queued once the turn is back (or, the pass being cancelled, for the next
                # drain): a fill the venue reported is never dropped.
                for report in held:
                    executor.deliver(report)


_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def gate(bound: int) -> asyncio.Semaphore:
    """The process's gate for accounts waiting on a venue side by side: one per event loop,
    shared by every shard's engine in it (a worker takes a round's shards at once; bounding
    each pass alone would let six shards send six times the bound, and the loop that also
    renews the worker's leases would answer them all). Its size is the first caller's bound."""
    loop = asyncio.get_running_loop()
    found = _GATES.get(loop)
    if found is None:
        found = _GATES[loop] = asyncio.Semaphore(max(1, bound))
    return found


async def side_by_side(jobs: Iterable[Callable[[], Awaitable[None]]], bound: int) -> None:
    """Run ``jobs`` side by side, at most ``bound`` of this process's at a time (:func:`gate`);
    the first failure (in the order they failed) is raised as itself once the others are
    cancelled. A job holds its place for all its work and never asks for a second one."""
    places = gate(bound)

    async def gated(job: Callable[[], Awaitable[None]]) -> None:
        async with places:
            await job()

    try:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(gated(job))
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


def listening(venue: Any, booking: Booking) -> contextlib.AbstractContextManager[None]:
    """The venue's reports go through ``booking`` for the pass, then to the executor again."""

    @contextlib.contextmanager
    def swapped() -> Any:
        venue.set_listener(booking.listen)
        try:
            yield
        finally:
            venue.set_listener(booking.executor.deliver)

    return swapped()


__all__ = ["Booking", "gate", "listening", "side_by_side"]
