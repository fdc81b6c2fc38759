"""How a replay is stopped from outside while it runs: SIGTERM/SIGINT noted and obeyed between
two candles, and the fault-injection variables the crash and shutdown tests set."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress

CRASH_ENV = "RAMPART_FAULT_KILL_AT_CANDLE"  # crash tests: SIGKILL itself after that many candles
TERM_ENV = "RAMPART_FAULT_TERM_AT_CANDLE"
"""Fault injection for shutdown tests: send this process SIGTERM after that many candles."""


@contextmanager
def stop_signals() -> Iterator[list[str]]:
    """Note SIGTERM/SIGINT instead of dying; the loop stops after the candle in hand.

    Plain ``signal.signal`` handlers, not the event loop's: the replay loop rarely yields to
    the loop, and a Python-level handler runs between two bytecodes wherever it is.
    """
    received: list[str] = []

    def handler(signum: int, frame: object) -> None:
        del frame
        if not received:
            received.append(signal.Signals(signum).name)

    previous: dict[signal.Signals, object] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(ValueError):  # not the main thread: signals stay with their owner
            previous[sig] = signal.signal(sig, handler)
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
