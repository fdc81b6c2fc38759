"""Telegram's flood limits, kept for everything the bot sends: one limiter, on the Clock.

Telegram's Bots FAQ ("My bot is hitting limits, how do I avoid this?"): about one message a
second in one chat, no more than twenty a minute in one group, about thirty a second overall;
past them it answers ``429 Too Many Requests: retry after N``. python-telegram-bot hands every
Bot API request to the application's rate limiter (``ApplicationBuilder.rate_limiter``), so with
:class:`Pacer` there nothing the bot sends — a command's reply, an edit showing an order's
outcome, a deleted key, a button's answer, an investor notice from the outbox, an operator
alert, a report's chart — can go around it.

**Why not python-telegram-bot's AIORateLimiter.** It waits with ``aiolimiter`` on the event
loop's time and on a 429 with ``asyncio.sleep``: wall time, which a test, a replay or a soak cannot
drive through the injected :class:`~rampart.clock.Clock` (the rule: no business code sleeps on
wall time). It also limits groups and the overall rate but not a private chat's one message a
second. This one is small and sits on the Clock.

**What is paced.** Messages (``send…``) and edits (``editMessage…``) count toward a chat's one a
second and the thirty a second overall: Telegram does not document edits as free, and an edit
sent beside a flood of replies was refused. Deletions and button answers (``deleteMessage``,
``answerCallbackQuery``) are not counted but wait in the same queues, so a 429's pause holds
them too. ``getUpdates``, ``getMe``, ``getChat`` and ``setMyCommands`` go straight on.

**Lanes.** Each request has a lane (:data:`~rampart.telegram.bot_api.LANES`): ``money`` (money
notices, operator alerts, an order's outcome, button answers, deletions) before ``reply`` (command
replies) before ``report`` (reports' charts and files). The dispatcher picks, among the chats that
may receive now, the first in lane order; within a chat the same rule, so a fill notice never waits
behind that investor's six queued replies. A caller names the lane with
``rate_limit_args={"lane": "money"}``; without it, edits, deletions and button answers are
``money``, documents and photos ``report``, other messages ``reply``.

**How.** One dispatcher task sends every queued request whose chat, group and the overall budget
allow it now, waits until they are answered, then sleeps on the Clock until the next may go. A
send counts from when it was answered (Telegram saw it no later than that), so a slow round trip
can never make two messages look closer than the limits.

**A 429.** Everything pauses for ``retry_after`` — every chat, not only the one refused: Telegram
says how long the bot is to wait, and going straight on to other chats earned ~150 refusals in
0.4 s. The request waits and is sent again — a reply is delayed, never lost — unless its caller
asked to hear it (``rate_limit_args={"flood": "raise"}``): the outbox keeps notices durably and
reschedules the chat itself. Messages for a chat still held are then refused at once the same
way, without a request.

**The network.** A request that fails on the way (no connection, a timeout, Telegram's 5xx) stays
at the head of its chat and goes again after a back-off on the Clock (1 s doubling to
:data:`RETRY_CAP_S`), for as long as the outage lasts: replies are sent at least once and in
order in every chat (a 60 s outage left 45 of 56 commands unanswered when a failed reply was
sent again only at the next restart). A timeout may have reached Telegram, so one reply may
arrive twice; none is lost. A notice whose caller asked to hear a flood hears this too (the
outbox keeps it and tries again itself); a refusal (400, 403) is never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog
from telegram.error import NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from rampart.clock import Clock, FeedClock
from rampart.runtime.backoff import ceiling_s
from rampart.telegram.bot_api import LANES, is_group, kind_of, retried, retry_after_s

log = structlog.get_logger("rampart.telegram")

CHAT_GAP_MS = 1_000
"""One message a second in a chat."""
OVERALL_PER_S = 30
"""Thirty messages a second overall."""
GROUP_PER_MIN = 20
"""Twenty messages a minute in one group (a chat whose id is negative, or a ``@name``)."""
MINUTE_MS = 60_000
SECOND_MS = 1_000
WAITS_KEPT = 10_000
"""How many recent waits :attr:`PacerStats.waits_ms` keeps (for a percentile)."""
RAISE = "raise"
STOP_WAIT_S = 5.0
"""How long a stop waits for requests already on their way to be answered."""
RETRY_BASE_S = 1.0
RETRY_CAP_S = 30.0
"""Longest wait between two tries of a request that failed on the network."""
FREE = "free"
"""Names the queue of an uncounted request (a deletion, a button answer): one queue each."""

Json = bool | dict[str, Any] | list[dict[str, Any]]
Callback = Callable[..., Coroutine[Any, Any, Json]]


@dataclass(eq=False, slots=True)
class _Request:
    seq: int
    lane: int
    chat: Any
    """The chat's id, or (FREE, seq) for an uncounted request."""
    counted: bool
    """A message or an edit: it counts toward the chat's and the overall limits."""
    call: Callable[[], Coroutine[Any, Any, Json]]
    future: asyncio.Future[Json]
    queued_ms: int
    raise_on_flood: bool
    sending: bool = False

    @property
    def order(self) -> tuple[int, int]:
        return (self.lane, self.seq)


@dataclass(slots=True)
class PacerStats:
    sent: int = 0
    floods: int = 0
    """429 answers (each paused everything for its retry_after)."""
    network_retries: int = 0
    """Requests that failed on the network and were held for another try."""
    waits_ms: deque[int] = field(default_factory=lambda: deque(maxlen=WAITS_KEPT))
    """From joining the queue to being answered, of the latest requests sent."""
    lane_waits_ms: dict[str, deque[int]] = field(
        default_factory=lambda: {lane: deque(maxlen=WAITS_KEPT) for lane in LANES}
    )
    """The same, per lane."""


class Pacer(BaseRateLimiter[dict[str, Any]]):
    """The bot's rate limiter (see the module's docstring)."""

    def __init__(
        self,
        clock: Clock,
        *,
        chat_gap_ms: int = CHAT_GAP_MS,
        overall_per_s: int = OVERALL_PER_S,
        group_per_min: int = GROUP_PER_MIN,
    ) -> None:
        # Telegram counts real seconds. On a simulated feed's FeedClock (a server's ops clock
        # in tests), now is the feed's time while sleeping is the wall's: a second message to
        # one chat waited for the feed's next second, for ever once the feed had stopped.
        self.clock = clock.pace if isinstance(clock, FeedClock) else clock
        self._chat_gap_ms = chat_gap_ms
        self._overall_per_s = overall_per_s
        self._group_per_min = group_per_min
        self._queues: dict[Any, list[_Request]] = {}
        """Chat → its requests, in (lane, seq) order."""
        self._free_at: dict[int | str, int] = {}
        """Chat → when it may get its next message (its last one's answer + the gap)."""
        self._held: dict[int | str, int] = {}
        """Chat → until when a 429 holds it."""
        self._paused_until = 0
        """Until when a 429 pauses everything."""
        self._failures: dict[Any, int] = {}
        """Chat → network failures in a row of its head request (forgotten once one is sent)."""
        self._overall: deque[int] = deque()
        """When each message of the last second was answered."""
        self._groups: dict[int | str, deque[int]] = {}
        """Group → when each of its messages of the last minute was answered."""
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.stats = PacerStats()

    # -- python-telegram-bot's interface ----------------------------------------------------

    async def initialize(self) -> None:
        self._closed = False

    async def shutdown(self) -> None:
        """Stop the dispatcher; requests still queued fail (a reply stays in the bot's durable
        outbox, a notice in the notices' outbox, for the next start)."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            # What is on its way is let finish (bounded): cut off, Telegram may have taken it
            # while its sender never hears so, and sends it again after the restart.
            self._wake.set()
            await asyncio.wait({task}, timeout=STOP_WAIT_S)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        left = [m for q in self._queues.values() for m in q if not m.future.done()]
        self._queues.clear()
        for message in left:
            message.future.set_exception(NetworkError("The bot stopped before sending this."))
        if left:
            log.warning("telegram_unsent_at_stop", messages=len(left))

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> Json:
        kind = kind_of(endpoint)
        chat = data.get("chat_id")
        if kind is None or (chat is None and kind[1]):
            return await callback(*args, **kwargs)
        _, counted, default_lane = kind
        asked = rate_limit_args or {}
        lane = LANES.index(asked.get("lane", default_lane))
        raise_on_flood = asked.get("flood") == RAISE
        now = self.clock.now_ms()
        # Uncounted requests are each their own queue: none waits behind another.
        seq = next(self._seq)
        where: Any = chat if counted else (FREE, seq)
        held = self._held.get(where, 0)
        if raise_on_flood and held > now:
            raise RetryAfter(max(1, math.ceil((held - now) / 1000)))
        if self._closed:
            raise NetworkError("The bot is stopping; nothing more is sent.")
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        request = _Request(
            seq,
            lane,
            where,
            counted,
            lambda: callback(*args, **kwargs),
            future,
            now,
            raise_on_flood,
        )
        queue = self._queues.setdefault(where, [])
        # Lane, then arrival: an outcome overtakes replies still queued for the same chat.
        at = len(queue)
        while at > 0 and queue[at - 1].order > request.order:
            at -= 1
        if at == 0 and queue and queue[0].sending:
            at = 1  # never displace a request already on its way
        queue.insert(at, request)
        self._start()
        self._wake.set()
        return await future

    # -- reading ------------------------------------------------------------------------------

    def queued(self) -> int:
        """Requests waiting or being sent."""
        return sum(len(q) for q in self._queues.values())

    def next_due_ms(self) -> int | None:
        """When the dispatcher next sends something (None: nothing is queued)."""
        return self._next_due(self.clock.now_ms())

    # -- the dispatcher -----------------------------------------------------------------------

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._closed:
            now = self.clock.now_ms()
            batch = self._due(now)
            if batch:
                # Answered before anything is chosen again: a chat's next message never
                # overtakes this one, and the windows count what Telegram has seen.
                await asyncio.gather(*(self._send(m) for m in batch))
                continue
            due = self._next_due(now)
            self._wake.clear()
            if due is None:
                await self._wake.wait()
            else:
                await self._sleep_or_wake(due)

    async def _sleep_until(self, due_ms: int) -> None:
        # Measured when the sleep starts: the clock may have moved since ``due`` was chosen.
        while (left := due_ms - self.clock.now_ms()) > 0:
            await self.clock.sleep(left / 1000)

    async def _sleep_or_wake(self, due_ms: int) -> None:
        waits = [
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(self._sleep_until(due_ms)),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    def _trim(self, now: int) -> None:
        while self._overall and self._overall[0] <= now - SECOND_MS:
            self._overall.popleft()
        for group in list(self._groups):
            times = self._groups[group]
            while times and times[0] <= now - MINUTE_MS:
                times.popleft()
            if not times:
                del self._groups[group]
        # Chats whose gap and hold are over need no entry (bounded memory).
        for table in (self._free_at, self._held):
            for chat in [c for c, at in table.items() if at <= now]:
                del table[chat]

    def _heads(self) -> list[_Request]:
        """The first live request of every chat, in lane order, then oldest first."""
        heads = []
        for chat in list(self._queues):
            queue = self._queues[chat]
            while queue and queue[0].future.done():
                queue.pop(0)  # its caller gave up (cancelled): nothing to send
            if queue:
                heads.append(queue[0])
            else:
                del self._queues[chat]
                self._failures.pop(chat, None)
        return sorted(heads, key=lambda m: m.order)

    def _chat_free_at(self, request: _Request) -> int:
        chat = request.chat
        at = max(self._paused_until, self._held.get(chat, 0))
        if not request.counted:
            return at
        at = max(at, self._free_at.get(chat, 0))
        if is_group(chat):
            times = self._groups.get(chat, ())
            if len(times) >= self._group_per_min:
                at = max(at, times[-self._group_per_min] + MINUTE_MS)
        return at

    def _overall_free_at(self) -> int:
        """When one more message may go overall (nothing being sent)."""
        if len(self._overall) < self._overall_per_s:
            return 0
        return self._overall[-self._overall_per_s] + SECOND_MS

    def _due(self, now: int) -> list[_Request]:
        self._trim(now)
        batch: list[_Request] = []
        counted = 0
        for head in self._heads():
            if self._chat_free_at(head) > now:
                continue
            if head.counted:
                if len(self._overall) + counted >= self._overall_per_s:
                    continue  # uncounted requests (button answers) may still go
                counted += 1
            batch.append(head)
        return batch

    def _next_due(self, now: int) -> int | None:
        heads = self._heads()
        if not heads:
            return None
        overall = self._overall_free_at()
        return max(
            min(max(self._chat_free_at(h), overall if h.counted else 0) for h in heads),
            now,
        )

    async def _send(self, request: _Request) -> None:
        chat = request.chat
        request.sending = True
        try:
            result = await request.call()
        except RetryAfter as exc:
            wait_ms = math.ceil(retry_after_s(exc) * 1000)
            until = self.clock.now_ms() + wait_ms
            self._held[chat] = max(self._held.get(chat, 0), until)
            # Telegram said how long to wait: nothing goes meanwhile, to any chat.
            self._paused_until = max(self._paused_until, until)
            self.stats.floods += 1
            request.sending = False
            log.info("telegram_flood_wait", chat_id=chat, retry_after_s=wait_ms / 1000)
            if request.raise_on_flood:
                self._finish(request, error=exc)
            # Otherwise it stays at the head of its chat and goes again after the pause.
            return
        except Exception as exc:
            if retried(exc) and not request.raise_on_flood and not self._closed:
                self._hold_after_failure(request, exc)
                return
            self._failures.pop(chat, None)
            self._finish(request, error=exc)  # the caller hears it: a refusal
            return
        self._failures.pop(chat, None)
        answered = self.clock.now_ms()
        if request.counted:
            self._free_at[chat] = answered + self._chat_gap_ms
            self._overall.append(answered)
            if is_group(chat):
                self._groups.setdefault(chat, deque()).append(answered)
        self.stats.sent += 1
        self.stats.waits_ms.append(answered - request.queued_ms)
        self.stats.lane_waits_ms[LANES[request.lane]].append(answered - request.queued_ms)
        self._finish(request, result=result)

    def _hold_after_failure(self, request: _Request, exc: Exception) -> None:
        """Keep ``request`` at the head of its chat and hold the chat for a back-off."""
        chat = request.chat
        tries = self._failures.get(chat, 0)
        self._failures[chat] = tries + 1
        wait_ms = math.ceil(ceiling_s(tries, RETRY_BASE_S, RETRY_CAP_S) * 1000)
        self._held[chat] = max(self._held.get(chat, 0), self.clock.now_ms() + wait_ms)
        request.sending = False
        self.stats.network_retries += 1
        log.info(
            "telegram_send_retried",
            chat_id=chat if not isinstance(chat, tuple) else None,
            retry_in_s=wait_ms / 1000,
            error=type(exc).__name__,
        )

    def _finish(
        self, request: _Request, *, result: Json | None = None, error: BaseException | None = None
    ) -> None:
        queue = self._queues.get(request.chat)
        if queue and request in queue:
            queue.remove(request)
        if not request.future.done():
            if error is not None:
                request.future.set_exception(error)
            else:
                request.future.set_result(result if result is not None else True)


__all__ = [
    "GROUP_PER_MIN",
    "OVERALL_PER_S",
    "Pacer",
    "PacerStats",
]
