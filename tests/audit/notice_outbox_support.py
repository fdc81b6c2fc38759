"""The notice outbox tests' shared parts: a deliverer answering from a script per chat, a
notice, the outbox's table rows, one round of due sends, and the log at every level."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
import structlog

from rampart.clock import SimClock
from rampart.notices.investor_notices import InvestorNotice
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox import Outbox
from rampart.runtime.messaging import Deliverer
from rampart.store.models import notify as mn

T0 = 1_767_225_600_000
HALF_HOUR = 1_800_000


class Telegram:
    """A deliverer answering from a script per chat: True (accepted), False (never deliverable:
    dropped), or an exception to raise (a :class:`SendLater`, a network error)."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.script: dict[str, list[bool | Exception]] = {}
        self.tries: list[tuple[str, str, int]] = []
        self.accepted: list[tuple[str, str]] = []

    async def deliver(self, account_id: str, html: str) -> bool:
        self.tries.append((account_id, html, self.clock.now_ms()))
        answers = self.script.get(account_id)
        answer = answers.pop(0) if answers else True
        if isinstance(answer, Exception):
            raise answer
        if answer:
            self.accepted.append((account_id, html))
        return answer


@contextmanager
def _every_log_line() -> Iterator[list[dict[str, Any]]]:
    """The lines logged meanwhile, at every level (the tests run with errors only)."""
    before = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(wrapper_class=before)


def _notice(
    key: str, account: str = "a1", kind: str = "kill", text: str | None = None
) -> InvestorNotice:
    return InvestorNotice(key, account, kind, text or f"text {key}", T0)


def _rows(db: sa.Engine) -> dict[str, tuple[str, str, str, int, int | None]]:
    t = mn.notify_outbox
    with db.connect() as conn:
        found = conn.execute(
            sa.select(t.c.key, t.c.account_id, t.c.kind, t.c.text, t.c.created_at, t.c.sent_at)
        ).all()
    return {k: (a, kind, text, created, sent) for k, a, kind, text, created, sent in found}


async def _send_due(outbox: Outbox, stop: asyncio.Event | None = None) -> int:
    """Start every send due now and wait for them; how many were started."""
    tasks: set[asyncio.Task[None]] = set()
    await outbox.pump(stop or asyncio.Event(), tasks)
    started = len(tasks)
    if tasks:
        await asyncio.gather(*list(tasks))
    return started


def _box(db: sa.Engine, clock: SimClock, telegram: Deliverer | None, **kw: int) -> Outbox:
    return Outbox(db, clock, lambda: telegram, NotifyPrefs(db).load(), **kw)


def _run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())
