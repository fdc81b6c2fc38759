"""The port through which rollout and reports talk to people (the Telegram bot implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol


class Messenger(Protocol):
    async def tell_account(self, account_id: str, html: str) -> bool:
        """Send Telegram-HTML text to the investor who owns ``account_id``.

        Returns False (and raises nothing) when the account has no investor or sending failed.
        """
        ...

    async def tell_operators(self, html: str, attachments: Sequence[Path] = ()) -> bool:
        """Send text, then each attachment (PNG as a photo, anything else as a document), to
        the operator chat. Returns False when there is no operator chat or sending failed."""
        ...


class SendLater(Exception):
    """The messenger was told to wait (Telegram's 429 with ``retry_after``) before it sends to
    that chat again; the notice was not sent."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class Deliverer(Protocol):
    async def deliver(self, account_id: str, html: str) -> bool:
        """Send to the investor who owns ``account_id``. True once Telegram accepted it; False
        when it can never be delivered (no investor, the user blocked the bot, a refused
        message): the notice is dropped. Raises :class:`SendLater` on a flood answer and any
        other exception when it may succeed later (the network)."""
        ...
