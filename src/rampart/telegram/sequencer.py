"""Updates handled at once across chats, in order within each.

python-telegram-bot handles one update at a time unless the application has an update
processor (``ApplicationBuilder.concurrent_updates``). In order, one investor's ``/vibe``
waiting 800 ms on the model held every other investor's command behind it: twenty at once took
15.4 s at p95. :class:`ChatSequencer` lets updates of different chats run together and keeps
each chat's in the order they came: an investor's Confirm is never handled before the
``/vibe`` it answers, nor two taps of one chat at the same time (so a double-tapped Confirm is
seen once, by the :class:`~rampart.telegram.bounded.Outcomes` the first tap leaves).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_AT_ONCE = 512
"""Updates being handled at once (each a task): past it the next waits for one to finish."""


class ChatSequencer(BaseUpdateProcessor):
    """One lock per chat (per user when an update has no chat), kept only while in use."""

    def __init__(self, max_at_once: int = MAX_AT_ONCE) -> None:
        super().__init__(max_at_once)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        """Chat → its lock and how many updates hold or wait for it."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _key(update)
        if key is None:
            await coroutine
            return
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            # asyncio.Lock wakes its waiters first come, first served: the chat's order.
            async with lock:
                await coroutine
        finally:
            _, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def chats_busy(self) -> int:
        """Chats with an update being handled or waiting (bounded by :data:`MAX_AT_ONCE`)."""
        return len(self._locks)

    async def initialize(self) -> None:
        """Nothing to open: the locks are made as chats need them."""

    async def shutdown(self) -> None:
        """Nothing to close: updates still running finish under the application's stop."""


def _key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    chat = update.effective_chat
    if chat is not None:
        return chat.id
    user = update.effective_user
    return None if user is None else user.id


__all__ = ["MAX_AT_ONCE", "ChatSequencer"]
