"""The rollout's Messenger through the outbox: a stage change that limits an investor is a
``stage`` notice, kept and sent as every notice is; operator messages go straight on.

Apart from :mod:`rampart.notices.outbox` (which keeps the notices in the store) so that the bot,
which hands this to the rollout desk, does not reach the store through it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from rampart.clock import Clock
from rampart.notices.investor_notices import STAGE, InvestorNotice
from rampart.runtime.messaging import Messenger


class NoticeBox(Protocol):
    """Where a notice is put: the outbox, or a worker's writer."""

    clock: Clock

    def put(self, notice: InvestorNotice) -> None: ...


class OutboxMessenger:
    """The Messenger port for rollout: what it tells an investor (a stage change that limits
    them) goes through the outbox as a ``stage`` notice; operator messages go straight on."""

    def __init__(self, outbox: NoticeBox, inner: Callable[[], Messenger | None]) -> None:
        self._outbox = outbox
        self._inner = inner

    async def tell_account(self, account_id: str, html: str) -> bool:
        now = self._outbox.clock.now_ms()
        digest = hashlib.sha1(html.encode(), usedforsecurity=False).hexdigest()[:16]
        key = f"stage|{account_id}|{now}|{digest}"
        self._outbox.put(InvestorNotice(key, account_id, STAGE, html, now))
        return True

    async def tell_operators(self, html: str, attachments: Sequence[Path] = ()) -> bool:
        inner = self._inner()
        return False if inner is None else await inner.tell_operators(html, attachments)


__all__ = ["NoticeBox", "OutboxMessenger"]
