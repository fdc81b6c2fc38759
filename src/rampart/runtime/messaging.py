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
