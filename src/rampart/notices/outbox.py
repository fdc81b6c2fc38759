"""The durable outbox of investor notices, sent a chat at a time.

``outbox.put(notice)`` is the bus subscriber's sink (on the engine's path): it only appends to
memory. :meth:`Outbox.run`, a supervised component off the engine's path, writes what was put
to ``notify_outbox`` first, then sends: one queue per account (one investor, one chat), one
notice in flight per chat, a 429's ``retry_after`` honoured for that chat. The pace itself —
Telegram's one message a second per chat and thirty overall, shared with command replies and
operator alerts — is the deliverer's: the bot sends every message through one limiter
(``rampart.telegram.pacer``), so the outbox keeps no second budget of its own. A row is marked
sent only once Telegram accepted it, so after a restart :meth:`run` resumes with exactly the
notices not yet delivered; a key already in the table (the same event replayed) is not queued
again; a notice put again under its key before it was saved (a fuller telling of the same
event) replaces the first.

Waiting uses the Clock (a SimClock in tests moves at once) and asyncio events, never a fixed
wall-clock sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import sqlalchemy as sa
import structlog

from rampart.clock import Clock
from rampart.notices.after_record import Waits, leaving, wait_for_record
from rampart.notices.investor_notices import (
    OPERATOR,
    InvestorNotice,
    claims_normal,
    event_ms,
)
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.stage_notices import NoticeBox as NoticeBox  # re-exported: callers use it here
from rampart.notices.stage_notices import OutboxMessenger as OutboxMessenger
from rampart.runtime.messaging import Deliverer, SendLater
from rampart.store.errors import translating
from rampart.store.marks import DurableMarks
from rampart.store.models import notify as mn

log = structlog.get_logger("rampart.ops.outbox")

PARALLEL = 8
"""Sends in flight at once (each to a different chat): a send's round trip must not cap the
rate below Telegram's."""
RETRY_CAP_S = 60.0
"""Longest wait before retrying a chat whose send failed for a reason other than flooding."""
KEEP_SENT_MS = 86_400_000
"""Sent rows kept (a day): a replay of the same events within it is recognised and not resent."""
PRUNE_EVERY_MS = 3_600_000
"""How often sent rows older than :data:`KEEP_SENT_MS` are deleted while running."""
CHUNK = 500
COMMIT_EVERY_MS = 1_000
"""How often the outbox itself commits the books for money notices waiting on them."""
DAY_MS = 86_400_000
"""The operator hears of notices that could not be delivered at most this often."""
NAMED_MAX = 20
"""Accounts the undelivered report names; the rest are counted."""


def insert_new(db: sa.Engine, now: int, batch: Sequence[InvestorNotice]) -> list[InvestorNotice]:
    """Write the notices whose key is not in the table yet (once each); returns those."""
    t = mn.notify_outbox
    unique: dict[str, InvestorNotice] = {}
    for n in batch:
        unique.setdefault(n.key, n)
    with translating("Saving notifications failed"), db.begin() as conn:
        keys = list(unique)
        known: set[str] = set()
        for i in range(0, len(keys), CHUNK):
            part = keys[i : i + CHUNK]
            known.update(conn.execute(sa.select(t.c.key).where(t.c.key.in_(part))).scalars())
        fresh = [n for k, n in unique.items() if k not in known]
        if fresh:
            conn.execute(
                sa.insert(t),
                [
                    {
                        "key": n.key,
                        "account_id": n.account_id,
                        "kind": n.kind,
                        "text": n.text,
                        "created_at": now,
                    }
                    for n in fresh
                ],
            )
    return fresh


@dataclass(slots=True)
class Queued:
    key: str
    kind: str
    text: str


@dataclass(slots=True)
class OutboxStats:
    sent: int = 0
    dropped: int = 0
    """Notices that can never be delivered (no investor, the bot blocked)."""
    throttled: int = 0
    """429 answers honoured."""
    failed: int = 0
    """Sends that failed and were retried later."""


class Outbox:
    def __init__(
        self,
        db: sa.Engine,
        clock: Clock,
        deliverer: Callable[[], Deliverer | None],
        prefs: NotifyPrefs,
        *,
        parallel: int = PARALLEL,
        may_send: Callable[[], bool] | None = None,
        trades_normally: Callable[[str, int], bool | None] | None = None,
        marks: DurableMarks | None = None,
        commit: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self.clock = clock
        self._deliverer = deliverer
        self.prefs = prefs
        self._parallel = parallel
        self._may_send = may_send
        self._trades_normally = trades_normally
        """(Account, business time of the event told) → whether it trades normally right now
        (None: not known here). A notice that says it does is checked when it leaves, not when
        it was queued."""
        """Past one machine every server saves what it is given, and only the one holding
        the ops lease sends (None: this one always sends)."""
        self._sent: set[str] | None = None
        """Keys sent since the last :meth:`collect` began (None until one does): one that
        read a row just before it was marked sent must not queue it again."""
        self._marks = marks
        """The store writer's marks: a money notice waits until its order is committed (a
        kill -9 after "Bought" and before the checkpoint left an order nobody had booked)."""
        self._waits: Waits = {}
        self._commit = commit
        """Commits the books now (a checkpoint under the operator lock): for a money notice
        whose event came between candles (an investor's /close fills at once), which would
        otherwise wait for the next candle's write."""
        self._committed_at: int | None = None
        """Key → the marks and the mark its notice waits for."""
        self.undelivered: dict[str, int] = {}
        """Account → notices it could not receive (blocked the bot, no chat) since the operator
        was last told."""
        self._reported_at: int | None = None
        self._new: dict[str, InvestorNotice] = {}
        """Put and not saved yet, by key, in the order put."""
        self._queues: dict[str, deque[Queued]] = {}
        self._queued: set[str] = set()
        self._next_at: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._in_flight: set[str] = set()
        self._pruned_at = 0
        self._wake = asyncio.Event()
        self.stats = OutboxStats()

    # -- the sink (on the engine's path: memory only) ---------------------------------------

    def put(self, notice: InvestorNotice) -> None:
        if self.prefs.enabled(notice.account_id, notice.kind):
            # The same key again before the save: the same event, told more fully.
            self._new[notice.key] = notice
            wait_for_record(self._marks, notice, self._waits)
            self._wake.set()

    def idle(self) -> bool:
        """Nothing put, queued or being sent."""
        return not self._new and not self._queues and not self._in_flight

    def settled(self) -> bool:
        """Nothing to do until the Clock moves on: nothing put and not yet queued, no send in
        flight, and every queued chat waiting for its turn (a chat's gap, a flood wait). What
        is not sent by now is held back by time, not by work still in hand."""
        return not self._new and not self._in_flight and self._ready(self._clock.now_ms()) is None

    def unsaved(self) -> int:
        """Notices put but not yet written to the table (lost if the process died now)."""
        return len(self._new)

    def pending(self) -> int:
        """Notices not yet accepted by Telegram (put, or queued to send)."""
        return len(self._new) + sum(len(q) for q in self._queues.values())

    # -- the table ----------------------------------------------------------------------------

    async def save(self, *, all_put: bool = False) -> int:
        """Write what was put since the last save and may leave (a money notice once its order
        is committed; ``all_put``: everything, at a clean stop, which commits the books too);
        returns how many were new."""
        if not self._new:
            return 0
        batch, self._new = leaving(self._new, self._waits, all_put=all_put)
        if not batch:
            return 0
        try:
            fresh = await asyncio.to_thread(self._insert, batch)
        except Exception:
            # Kept, in order, for the next try (a fuller telling put meanwhile wins).
            self._new = {**{n.key: n for n in batch}, **self._new}
            raise
        for n in fresh:
            self._enqueue(n.account_id, Queued(n.key, n.kind, n.text))
        return len(fresh)

    def _insert(self, batch: Sequence[InvestorNotice]) -> list[InvestorNotice]:
        return insert_new(self._db, self._clock.now_ms(), batch)

    async def resume(self) -> int:
        """Queue the notices a previous run left unsent, oldest first; prune old sent rows."""
        await asyncio.to_thread(self._prune)
        rows = await asyncio.to_thread(self._unsent)
        for account_id, key, kind, text in rows:
            self._enqueue(account_id, Queued(key, kind, text))
        return len(rows)

    def _prune(self) -> None:
        t = mn.notify_outbox
        cutoff = self._clock.now_ms() - KEEP_SENT_MS
        with translating("Pruning sent notifications failed"), self._db.begin() as conn:
            conn.execute(sa.delete(t).where(t.c.sent_at.is_not(None), t.c.sent_at < cutoff))
        self._pruned_at = self._clock.now_ms()

    async def collect(self) -> int:
        """Queue the unsent rows other processes wrote (a worker's notices; another server's
        put); the investors' ``/notify`` choices are read again with them."""
        sent = self._sent = set()
        rows = await asyncio.to_thread(self._unsent)
        await asyncio.to_thread(self.prefs.load)
        before = len(self._queued)
        for account_id, key, kind, text in rows:
            if key not in sent:  # sent while the rows were read: unsent in the read
                self._enqueue(account_id, Queued(key, kind, text))
        return len(self._queued) - before

    def _unsent(self) -> list[tuple[str, str, str, str]]:
        c = mn.notify_outbox.c
        with translating("Reading notifications failed"), self._db.begin() as conn:
            found = conn.execute(
                sa.select(c.account_id, c.key, c.kind, c.text)
                .where(c.sent_at.is_(None))
                .order_by(c.id)
            ).all()
        return [(str(a), str(k), str(kind), str(text)) for a, k, kind, text in found]

    def _mark_sent(self, key: str) -> None:
        t = mn.notify_outbox
        with translating("Saving a sent notification failed"), self._db.begin() as conn:
            conn.execute(sa.update(t).where(t.c.key == key).values(sent_at=self._clock.now_ms()))

    def _enqueue(self, account_id: str, item: Queued) -> None:
        if item.key in self._queued:
            return
        self._queued.add(item.key)
        self._queues.setdefault(account_id, deque()).append(item)
        self._wake.set()

    # -- sending ------------------------------------------------------------------------------

    def _ready(self, now: float) -> str | None:
        for account_id, queue in self._queues.items():
            waiting = queue and account_id not in self._in_flight
            if waiting and self._next_at.get(account_id, 0.0) <= now:
                return account_id
        return None

    def _next_due(self) -> float | None:
        due = [
            self._next_at.get(a, 0.0)
            for a, q in self._queues.items()
            if q and a not in self._in_flight
        ]
        return min(due) if due else None

    async def _send(self, account_id: str) -> None:
        queue = self._queues[account_id]
        item = queue[0]
        deliverer = self._deliverer()
        try:
            if deliverer is None:
                raise ConnectionError("no bot yet")
            if item.kind == OPERATOR:
                delivered = await _tell_operators(deliverer, item.text)
            elif not self.prefs.enabled(account_id, item.kind):
                delivered = False  # turned off with /notify while it waited
            elif claims_normal(item.key) and self._no_longer_true(account_id, item.key):
                # Paused, halted or under the kill switch again since it was queued: the notice
                # of that change tells the truth; this one would contradict it.
                log.info("notice_superseded", account_id=account_id, key=item.key)
                delivered = False
            else:
                delivered = await deliverer.deliver(account_id, item.text)
                if not delivered:
                    self.undelivered[account_id] = self.undelivered.get(account_id, 0) + 1
            await asyncio.to_thread(self._mark_sent, item.key)
        except SendLater as later:
            self.stats.throttled += 1
            self._next_at[account_id] = self._clock.now_ms() + later.seconds * 1000
            log.info("notice_flood_wait", account_id=account_id, retry_after_s=later.seconds)
            return
        except Exception as exc:  # kept at the head of its queue and tried again later
            self.stats.failed += 1
            tries = self._failures[account_id] = self._failures.get(account_id, 0) + 1
            wait_s = min(RETRY_CAP_S, 2.0 ** min(tries, 10))
            self._next_at[account_id] = self._clock.now_ms() + wait_s * 1000
            log.warning("notice_send_failed", account_id=account_id, error=type(exc).__name__)
            return
        finally:
            self._in_flight.discard(account_id)
            self._wake.set()
        queue.popleft()
        self._queued.discard(item.key)
        if self._sent is not None:
            self._sent.add(item.key)
        if not queue:
            del self._queues[account_id]
        self._failures.pop(account_id, None)
        self._next_at.pop(account_id, None)
        if delivered:
            self.stats.sent += 1
        else:
            self.stats.dropped += 1

    def _no_longer_true(self, account_id: str, key: str) -> bool:
        if self._trades_normally is None:
            return False
        return self._trades_normally(account_id, event_ms(key)) is False

    async def _wait(self, stop: asyncio.Event, due_s: float | None, idle_s: float) -> None:
        """Until ``due_s`` pass on the Clock (a chat's cool-down), something is put or a send
        ends, stop, or at the latest ``idle_s`` of real time (the heartbeat)."""
        self._wake.clear()
        waits: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(self._wake.wait()),
        ]
        if due_s is not None:
            waits.append(asyncio.ensure_future(self._clock.sleep(max(due_s, 0.0))))
        try:
            await asyncio.wait(waits, timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def pump(self, stop: asyncio.Event, tasks: set[asyncio.Task[None]]) -> None:
        """Start every send that is due now (the deliverer paces them); return when none is."""
        if self._may_send is not None and not self._may_send():
            if not self._in_flight:
                # Another server sends now, from the table: what is queued here is there too,
                # and is read again when this one sends once more.
                self._queues.clear()
                self._queued.clear()
            return
        while len(tasks) < self._parallel and not stop.is_set():
            now = self._clock.now_ms()
            account_id = self._ready(now)
            if account_id is None:
                return
            self._in_flight.add(account_id)
            task = asyncio.create_task(self._send(account_id))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def run(
        self,
        stop: asyncio.Event,
        beat: Callable[[], None],
        every_s: float,
        collect_every_s: float | None = None,
    ) -> None:
        """Save, then send what is due, until ``stop``. With ``collect_every_s``, rows other
        processes wrote are collected that often while this one may send."""
        await self.resume()
        tasks: set[asyncio.Task[None]] = set()
        collected_at = self._clock.now_ms()
        try:
            while not stop.is_set():
                try:
                    await self.save()
                    if await self._commit_for_waiting():
                        await self.save()
                    now = self._clock.now_ms()
                    sending = self._may_send is None or self._may_send()
                    every_ms = None if collect_every_s is None else collect_every_s * 1000
                    if sending and every_ms is not None and now - collected_at >= every_ms:
                        collected_at = now
                        await self.collect()
                    if self._clock.now_ms() - self._pruned_at > PRUNE_EVERY_MS:
                        await asyncio.to_thread(self._prune)
                except Exception as exc:  # the database is down: keep them and try again
                    log.warning("notices_not_saved", error=type(exc).__name__)
                await self.pump(stop, tasks)
                await self.report_undelivered()
                beat()
                due = self._next_due()
                now = self._clock.now_ms()
                # All slots busy, or nothing queued: a finishing send or a new notice wakes us.
                due_s = None if due is None or due <= now else (due - now) / 1000
                await self._wait(stop, due_s, every_s)
        finally:
            # What was put before the stop is written, so the next start sends it.
            with contextlib.suppress(Exception):
                await self.save(all_put=True)
            if tasks:
                await asyncio.wait(set(tasks), timeout=10)

    async def _commit_for_waiting(self) -> bool:
        """Commit the books for money notices still waiting on them, at most once a second;
        True when it did."""
        now = self._clock.now_ms()
        if not self._waits or self._commit is None:
            return False
        if self._committed_at is not None and now - self._committed_at < COMMIT_EVERY_MS:
            return False
        self._committed_at = now
        await self._commit()
        return True

    async def report_undelivered(self) -> bool:
        """Tell the operator chat which investors' notices could not be delivered, at most once
        a day (a blocked investor's notices were dropped with nobody told); True when told."""
        now = self._clock.now_ms()
        if not self.undelivered or (
            self._reported_at is not None and now - self._reported_at < DAY_MS
        ):
            return False
        deliverer = self._deliverer()
        if deliverer is None:
            return False
        counts = sorted(self.undelivered.items(), key=lambda item: (-item[1], item[0]))
        named = ", ".join(f"<code>{escape(a)}</code> ({n})" for a, n in counts[:NAMED_MAX])
        more = f" and {len(counts) - NAMED_MAX} more" if len(counts) > NAMED_MAX else ""
        total = sum(self.undelivered.values())
        text = (
            f"📭 {total} notice{'s' if total != 1 else ''} could not reach "
            f"{len(counts)} investor{'s' if len(counts) != 1 else ''} (they blocked the bot or "
            f"have no chat with it): {named}{more}. They get no notices until they write to "
            "the bot again; /users shows who they are."
        )
        if not await _tell_operators(deliverer, text):
            return False
        self._reported_at = now
        self.undelivered.clear()
        return True


async def _tell_operators(deliverer: Deliverer, html: str) -> bool:
    """The operator chat's copy of a worker's money notice (the bot's ``tell_operators``: False
    when there is no operator chat or the send failed, as ``rampart run``'s copy)."""
    tell = getattr(deliverer, "tell_operators", None)
    return False if tell is None else bool(await tell(html))
