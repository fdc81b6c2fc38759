"""The one error type of the backup package: a sentence an operator can act on."""

from __future__ import annotations

from rampart.domain.errors import RampartError


class BackupError(RampartError):
    """A backup cannot be made, read, verified or restored; nothing was changed."""
