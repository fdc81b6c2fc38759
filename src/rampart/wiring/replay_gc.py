"""A replay's garbage collector: frozen start-up objects and rare collections while it trades."""

from __future__ import annotations

import gc

REPLAY_GC_THRESHOLD = (10_000, 10, 100)
"""The garbage collector's thresholds while a replay trades (CPython's default: 700, 10, 10).
The per-candle path allocates and frees thousands of short-lived objects that reference
counting already frees; at the default a young collection ran every few candles and a full one
(~50 ms, walking every imported object) every ~125k candles: 3-4 % of a replay."""


_start_up_frozen = False


def start_up_frozen() -> None:
    """What the process built to start is frozen for the rest of its life (said by whoever
    froze it): a session then freezes and thaws nothing."""
    global _start_up_frozen
    _start_up_frozen = True


class ReplayGc:
    """During a replay, the objects alive at the start (imports, schema, settings: they live as
    long as the process) are kept out of the collector's walks and collections run rarely;
    both are undone when the session closes.

    Where the process froze its start-up already (the ``rampart`` script does,
    :mod:`rampart.cli.collector`), that freeze is left alone: only the thresholds change. A
    search opens a session per trial in one process; thawing the script's freeze at each
    trial's end made the next trial's first collection walk every imported object again
    (~40 % of a trial's CPU)."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None
        self._froze = False

    def start(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            # Frozen by its owner: nothing more to freeze, and nothing of this session is
            # frozen either, so its garbage is collected as any other's once it closes. (A
            # flag, not gc.get_freeze_count(), which walks every frozen object: ~13 ms.)
            self._froze = not _start_up_frozen
            if self._froze:
                # Garbage first: frozen, the cycles an earlier session left would never be
                # collected (one full collection a session, ~10-30 ms).
                gc.collect()
                gc.freeze()
            gc.set_threshold(*REPLAY_GC_THRESHOLD)

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            if self._froze:
                gc.unfreeze()
            self._saved = None
            self._froze = False


__all__ = ["REPLAY_GC_THRESHOLD", "ReplayGc", "start_up_frozen"]
