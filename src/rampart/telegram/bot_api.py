"""What the pacer reads off a Bot API request and its answer: the lane a method goes in and
whether it is paced and counted, whether a chat is a group, how long a flood answer asks to
wait, and whether a failure is worth another try."""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram.error import BadRequest, NetworkError, RetryAfter

MONEY, REPLY, REPORT = "money", "reply", "report"
LANES = (MONEY, REPLY, REPORT)
"""Lanes in the order they go: what moved money (and its outcome) first, reports last."""


def is_group(chat: int | str) -> bool:
    """Groups, supergroups and channels have negative ids (or are named by ``@username``)."""
    return isinstance(chat, str) or chat < 0


def retry_after_s(exc: RetryAfter) -> float:
    """Seconds Telegram asked to wait (an int or a timedelta, by python-telegram-bot's version)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def kind_of(endpoint: str) -> tuple[bool, bool, str] | None:
    """(paced, counted, default lane) of a Bot API method; None: it goes straight on."""
    name = endpoint.lower()
    if name.startswith("send") and name != "sendchataction":
        files = name in ("sendphoto", "senddocument", "sendmediagroup")
        return True, True, REPORT if files else REPLY
    if name.startswith("editmessage"):
        return True, True, MONEY
    if name in ("deletemessage", "deletemessages", "answercallbackquery"):
        return True, False, MONEY
    return None


def retried(exc: Exception) -> bool:
    """A failure on the way, worth another try: python-telegram-bot's NetworkError (no
    connection, a timeout, a 5xx), never a refusal (its BadRequest is a NetworkError too)."""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


__all__ = ["LANES", "MONEY", "REPLY", "REPORT", "is_group", "kind_of", "retried", "retry_after_s"]
