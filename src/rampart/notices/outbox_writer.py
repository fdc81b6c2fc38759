"""A worker's side of the notices outbox: it writes, a server sends.

A worker trades without a bot. What its engines' events tell investors (entries, exits,
breakers, money moved outside Rampart) is put here, in memory, on the engine's path, and
written to ``notify_outbox`` a batch at a time off it; the ``rampart serve`` holding the ops
lease collects the rows and sends them (:meth:`rampart.notices.outbox.Outbox.collect`). A key
already in the table (the same event told by the shard's next owner after a takeover) is not
written twice. Whether an investor turned a kind off with ``/notify`` is decided by the
sending server, which reads the choices with the rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import sqlalchemy as sa
import structlog

from rampart.clock import Clock
from rampart.notices.after_record import Waits, leaving, wait_for_record
from rampart.notices.investor_notices import InvestorNotice
from rampart.notices.outbox import insert_new
from rampart.observability import tracing
from rampart.store.marks import DurableMarks

log = structlog.get_logger("rampart.ops.outbox")


def notice_attributes(notice: InvestorNotice) -> dict[str, str]:
    """A notice's span attributes; an entry's or exit's key names the order's client id."""
    attrs = {"rampart.notice_key": notice.key, "rampart.account": notice.account_id}
    named = [part for part in notice.key.split("|") if part.startswith("rp-")]
    if named:
        attrs[tracing.CLIENT_ID] = named[0]
    return attrs


class OutboxWriter:
    def __init__(self, db: sa.Engine, clock: Clock) -> None:
        self._db = db
        self.clock = clock
        self._new: dict[str, InvestorNotice] = {}
        """Put and not written yet, by key, in the order put."""
        self._waits: Waits = {}

    def sink(self, marks: DurableMarks | None) -> Callable[[InvestorNotice], None]:
        """``put`` for one shard: its money notices wait for ``marks`` (its store writer's),
        so none is written for the server to send before its order is committed."""

        def put(notice: InvestorNotice) -> None:
            self.put(notice)
            wait_for_record(marks, notice, self._waits)

        return put

    def put(self, notice: InvestorNotice) -> None:
        # The same key again before the write: the same event, told more fully.
        self._new[notice.key] = notice
        if tracing.enabled():  # on the engine's path: a span of the candle's trace
            with tracing.span("notice", notice_attributes(notice)):
                pass

    def unsaved(self) -> int:
        return len(self._new)

    async def flush(self, *, all_put: bool = False) -> int:
        """Write what was put since the last flush and may leave (a money notice once its order
        is committed; ``all_put``: everything, at a clean stop); returns how many were new."""
        if not self._new:
            return 0
        batch, self._new = leaving(self._new, self._waits, all_put=all_put)
        if not batch:
            return 0
        try:
            fresh = await asyncio.to_thread(insert_new, self._db, self.clock.now_ms(), batch)
        except Exception:
            # Kept, in order, for the next try (a fuller telling put meanwhile wins).
            self._new = {**{n.key: n for n in batch}, **self._new}
            raise
        return len(fresh)

    async def run(self, stop: asyncio.Event, every_s: float) -> None:
        """Write what is put, at most every ``every_s``, until ``stop``; then once more."""
        try:
            while not stop.is_set():
                try:
                    await self.flush()
                except Exception as exc:  # the database is away: kept for the next round
                    log.warning("notices_not_saved", error=type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every_s)
        finally:
            with contextlib.suppress(Exception):
                await self.flush(all_put=True)
