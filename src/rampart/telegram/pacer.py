"""Telegram's flood limits, kept for every message the bot sends: one limiter, on the Clock.

Telegram's Bots FAQ ("My bot is hitting limits, how do I avoid this?"): about one message a
second in one chat, no more than twenty a minute in one group, about thirty a second overall;
past them it answers ``429 Too Many Requests: retry after N``. python-telegram-bot hands every
Bot API request to the application's rate limiter (``ApplicationBuilder.rate_limiter``), so with
:class:`Pacer` there nothing the bot sends — a command's reply, an investor notice from the
outbox, an operator alert, a report's chart — can go around it.

**Why not python-telegram-bot's AIORateLimiter.** It waits with ``aiolimiter`` on the event
loop's time and on a 429 with ``asyncio.sleep``: wall time, which a test, a replay or a soak cannot
drive through the injected :class:`~rampart.clock.Clock` (the rule: no business code sleeps on
wall time). It also limits groups and the overall rate but not a private chat's one message a
second, and a 429 in one chat stops every chat. This one is small and sits on the Clock.

**How.** A message (a ``send…`` request to a chat) joins one queue, first in first out per chat.
One dispatcher task sends every queued message whose chat, group and the overall budget allow it
now, waits until they are answered, then sleeps on the Clock until the next may go. A send counts
from when it was answered (Telegram saw it no later than that), so a slow round trip can never
make two messages look closer than the limits. Requests that are not messages (edits, deletes,
button answers, ``getChat``) go straight on.

**A 429.** The chat is held for ``retry_after``; the message waits and is sent again — a reply is
delayed, never lost — unless its caller asked to hear it (``rate_limit_args={"flood": "raise"}``):
the outbox keeps notices durably and reschedules the chat itself. Messages for a chat already
held are then refused at once the same way, without a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from telegram.error import NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from rampart.clock import Clock

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

Json = bool | dict[str, Any] | list[dict[str, Any]]
Callback = Callable[..., Coroutine[Any, Any, Json]]


@dataclass(eq=False, slots=True)
class _Message:
    seq: int
    chat: int | str
    call: Callable[[], Coroutine[Any, Any, Json]]
    future: asyncio.Future[Json]
    queued_ms: int
    raise_on_flood: bool


@dataclass(slots=True)
class PacerStats:
    sent: int = 0
    floods: int = 0
    """429 answers (each held its chat for its retry_after)."""
    waits_ms: deque[int] = field(default_factory=lambda: deque(maxlen=WAITS_KEPT))
    """From joining the queue to being answered, of the latest messages sent."""


def is_group(chat: int | str) -> bool:
    """Groups, supergroups and channels have negative ids (or are named by ``@username``)."""
    return isinstance(chat, str) or chat < 0


def retry_after_s(exc: RetryAfter) -> float:
    """Seconds Telegram asked to wait (an int or a timedelta, by python-telegram-bot's version)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


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
        self.clock = clock
        self._chat_gap_ms = chat_gap_ms
        self._overall_per_s = overall_per_s
        self._group_per_min = group_per_min
        self._queues: dict[int | str, deque[_Message]] = {}
        self._free_at: dict[int | str, int] = {}
        """Chat → when it may get its next message (its last one's answer + the gap)."""
        self._held: dict[int | str, int] = {}
        """Chat → until when a 429 holds it."""
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
        """Stop the dispatcher; messages still queued fail (a reply is logged as not sent, a
        notice stays in the outbox for the next start)."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
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
        chat = data.get("chat_id")
        if chat is None or not _is_message(endpoint):
            return await callback(*args, **kwargs)
        raise_on_flood = (rate_limit_args or {}).get("flood") == RAISE
        now = self.clock.now_ms()
        held = self._held.get(chat, 0)
        if raise_on_flood and held > now:
            raise RetryAfter(max(1, math.ceil((held - now) / 1000)))
        if self._closed:
            raise NetworkError("The bot is stopping; nothing more is sent.")
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        message = _Message(
            next(self._seq), chat, lambda: callback(*args, **kwargs), future, now, raise_on_flood
        )
        self._queues.setdefault(chat, deque()).append(message)
        self._start()
        self._wake.set()
        return await future

    # -- reading ------------------------------------------------------------------------------

    def queued(self) -> int:
        """Messages waiting or being sent."""
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

    def _heads(self) -> list[_Message]:
        """The first live message of every chat, oldest first."""
        heads = []
        for chat in list(self._queues):
            queue = self._queues[chat]
            while queue and queue[0].future.done():
                queue.popleft()  # its caller gave up (cancelled): nothing to send
            if queue:
                heads.append(queue[0])
            else:
                del self._queues[chat]
        return sorted(heads, key=lambda m: m.seq)

    def _chat_free_at(self, chat: int | str) -> int:
        at = max(self._free_at.get(chat, 0), self._held.get(chat, 0))
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

    def _due(self, now: int) -> list[_Message]:
        self._trim(now)
        batch: list[_Message] = []
        for head in self._heads():
            if len(self._overall) + len(batch) >= self._overall_per_s:
                break
            if self._chat_free_at(head.chat) <= now:
                batch.append(head)
        return batch

    def _next_due(self, now: int) -> int | None:
        heads = self._heads()
        if not heads:
            return None
        chat_at = min(self._chat_free_at(h.chat) for h in heads)
        return max(chat_at, self._overall_free_at(), now)

    async def _send(self, message: _Message) -> None:
        chat = message.chat
        try:
            result = await message.call()
        except RetryAfter as exc:
            wait_ms = math.ceil(retry_after_s(exc) * 1000)
            self._held[chat] = max(self._held.get(chat, 0), self.clock.now_ms() + wait_ms)
            self.stats.floods += 1
            log.info("telegram_flood_wait", chat_id=chat, retry_after_s=wait_ms / 1000)
            if message.raise_on_flood:
                self._finish(message, error=exc)
            # Otherwise it stays at the head of its chat and goes again after the hold.
            return
        except Exception as exc:  # the caller hears it (a refusal, the network)
            self._finish(message, error=exc)
            return
        answered = self.clock.now_ms()
        self._free_at[chat] = answered + self._chat_gap_ms
        self._overall.append(answered)
        if is_group(chat):
            self._groups.setdefault(chat, deque()).append(answered)
        self.stats.sent += 1
        self.stats.waits_ms.append(answered - message.queued_ms)
        self._finish(message, result=result)

    def _finish(
        self, message: _Message, *, result: Json | None = None, error: BaseException | None = None
    ) -> None:
        queue = self._queues.get(message.chat)
        if queue and queue[0] is message:
            queue.popleft()
        if not message.future.done():
            if error is not None:
                message.future.set_exception(error)
            else:
                message.future.set_result(result if result is not None else True)


def _is_message(endpoint: str) -> bool:
    """Requests that put a message in a chat (``sendChatAction`` shows "typing…" only)."""
    return endpoint.lower().startswith("send") and endpoint.lower() != "sendchataction"


__all__ = ["GROUP_PER_MIN", "OVERALL_PER_S", "Pacer", "PacerStats", "is_group", "retry_after_s"]
