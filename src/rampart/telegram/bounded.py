"""What the bot remembers, bounded: each button's outcome by its proposal's token, for later
taps (:class:`Outcomes`), and the one "too fast" notice per user and window
(:class:`Throttle`); see :mod:`rampart.telegram.chats`."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from rampart.clock import Clock
from rampart.runtime.ratelimit import RateLimiter

OUTCOME_KEEP_MS = 24 * 3_600_000
"""How long a button's outcome answers later taps (a phone can show a chat a day old)."""
MAX_KEPT = 10_000
"""Outcomes and rate-limit notices remembered at most; the oldest is forgotten first."""
TOO_FAST_WINDOW_MS = 60_000
"""One "too fast" answer per user per minute; the sentence says "wait a minute"."""


class _Bounded:
    """A dict that forgets its oldest key past :data:`MAX_KEPT`."""

    def __init__(self) -> None:
        self.items: OrderedDict[Any, Any] = OrderedDict()

    def put(self, key: Any, value: Any) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        if len(self.items) > MAX_KEPT:
            self.items.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Outcome:
    owner: int
    html: str
    until_ms: int


class Outcomes(_Bounded):
    """What a confirmed or canceled proposal came to, by its token, for later taps."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def keep(self, token: str, owner: int, html: str) -> None:
        self.put(token, Outcome(owner, html, self.clock.now_ms() + OUTCOME_KEEP_MS))

    def get(self, token: str) -> Outcome | None:
        found: Outcome | None = self.items.get(token)
        if found is None or found.until_ms < self.clock.now_ms():
            return None
        return found


class Throttle(_Bounded):
    """The rate limiter plus one notice per window: :meth:`take` says "ok", "tell" (answer
    with the notice) or "drop" (already told in this window: say nothing)."""

    def __init__(self, limiter: RateLimiter, clock: Clock) -> None:
        super().__init__()
        self.limiter = limiter
        self.clock = clock

    def take(self, user_id: int) -> str:
        if self.limiter.take(user_id) is None:
            return "ok"
        now = self.clock.now_ms()
        told_until = self.items.get(user_id)
        if told_until is not None and now < told_until:
            return "drop"
        self.put(user_id, now + TOO_FAST_WINDOW_MS)
        return "tell"


__all__ = ["MAX_KEPT", "OUTCOME_KEEP_MS", "TOO_FAST_WINDOW_MS", "Outcome", "Outcomes", "Throttle"]
