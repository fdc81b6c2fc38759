"""Typed errors. Each user-facing error carries one plain sentence in ``message``."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class RampartError(Exception):
    """An error a user may see: ``message`` is one plain sentence, never a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(RampartError):
    """A setting is missing, malformed or out of range."""


class DataError(RampartError):
    """A market data file or stream cannot be used as it is."""


class VenueError(RampartError):
    """The venue refused or failed a request. ``code`` is a stable machine-readable reason."""

    def __init__(self, message: str, code: str = "venue_error") -> None:
        super().__init__(message)
        self.code = code


class OutcomeUnknown(RampartError):
    """A create or cancel whose outcome the venue did not tell us (timed out, response lost or
    unreadable). Not a refusal: the order may exist. It stays ``UNKNOWN`` until the venue is
    asked by client order id."""


class StoreError(RampartError):
    """The database cannot be opened, migrated or written."""


class IllegalTransition(Exception):
    """An order was asked to move between states the state machine forbids. Always a bug."""


class BrokenInvariant(Exception):
    """Something the code's own rules guarantee does not hold (a limit order without a
    price). Always a bug; raised explicitly because an ``assert`` vanishes under ``python -O``."""


def present(value: T | None, what: str) -> T:
    """``value``, which an invariant says is set; :class:`BrokenInvariant` when it is not."""
    if value is None:
        raise BrokenInvariant(f"{what} is missing")
    return value
