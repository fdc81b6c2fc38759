"""Graceful stop on SIGTERM and SIGINT: set one stop event, log it, let the service drain.

Everything long-running in the service watches the same :class:`asyncio.Event`; setting it
stops new entries while in-flight work finishes and is persisted (see the supervisor's drain
bound). A second signal while already stopping is logged and otherwise ignored: the drain
bound, not the operator's impatience, decides when unfinished work is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from types import FrameType, TracebackType

import structlog

from rampart.domain.errors import present

log = structlog.get_logger("rampart.shutdown")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """``with StopSignals(stop):`` inside a running event loop.

    Uses the loop's signal handlers when it can (the main thread on Unix); otherwise plain
    ``signal.signal`` handlers that hand the event to the loop thread-safely. ``received``
    names the signal that asked to stop, for the closing sentence.
    """

    def __init__(self, stop: asyncio.Event, signals: tuple[signal.Signals, ...] = STOP_SIGNALS):
        self.stop = stop
        self.signals = signals
        self.received: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._via_loop: list[signal.Signals] = []
        self._previous: dict[signal.Signals, object] = {}

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.received is not None:
            log.warning("already stopping; waiting for work in hand to finish", signal=sig.name)
            return
        self.received = sig.name
        log.info("stop requested", signal=sig.name)
        self.stop.set()

    def __enter__(self) -> StopSignals:
        self._loop = asyncio.get_running_loop()
        for sig in self.signals:
            try:
                self._loop.add_signal_handler(sig, self._on_signal, sig)
                self._via_loop.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                self._install_plain(sig)
        return self

    def _install_plain(self, sig: signal.Signals) -> None:
        loop = present(self._loop, "the event loop the signals were installed on")

        def handler(signum: int, frame: FrameType | None) -> None:
            del frame
            loop.call_soon_threadsafe(self._on_signal, signal.Signals(signum))

        with contextlib.suppress(ValueError):  # not the main thread: nothing to install
            self._previous[sig] = signal.signal(sig, handler)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None:
            for sig in self._via_loop:
                self._loop.remove_signal_handler(sig)
        for sig, previous in self._previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, previous)  # type: ignore[arg-type]
        self._via_loop.clear()
        self._previous.clear()
