"""Graceful stop on SIGTERM and SIGINT: set one stop event, log it, let the service drain.

Everything long-running in the service watches the same :class:`asyncio.Event`; setting it
stops new entries while in-flight work finishes and is persisted (see the supervisor's drain
bound). A second signal while already stopping is logged and otherwise ignored: the drain
bound, not the operator's impatience, decides when unfinished work is cancelled.

With a ``deadline_s`` (the fleet's processes: ``rampart worker``, ``feed``, ``serve``), the
process also ends by itself that long after the signal, whatever its event loop is doing
(else a worker whose loop waits on a silent database does not stop in 150 s). The loop
cannot be relied on to hear the signal then, so a thread of its own does: the interpreter
writes each signal's number to the wakeup fd from whichever thread it lands on, the thread reads
it there, hands it on to the loop's own wakeup socket (the graceful stop, as before) and arms
the deadline; past it the process exits at once (code 128 + the signal), having said why. What
it had not saved is the next holder's to reconcile, as after a kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType, TracebackType

import structlog

from rampart.domain.errors import present
from rampart.runtime.settings import STOP_DEADLINE_S as STOP_DEADLINE_S

log = structlog.get_logger("rampart.shutdown")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """``with StopSignals(stop):`` inside a running event loop.

    Uses the loop's signal handlers when it can (the main thread on Unix); otherwise plain
    ``signal.signal`` handlers that hand the event to the loop thread-safely. ``received``
    names the signal that asked to stop, for the closing sentence.
    """

    def __init__(
        self,
        stop: asyncio.Event,
        signals: tuple[signal.Signals, ...] = STOP_SIGNALS,
        *,
        deadline_s: float | None = None,
        exit_now: Callable[[int], object] = os._exit,
    ):
        """``deadline_s``: end the process that long after a stop signal, whatever the loop
        does (None: only the graceful stop). ``exit_now(code)``: how (a test's stand-in)."""
        self.stop = stop
        self.signals = signals
        self.deadline_s = deadline_s
        self.exit_now = exit_now
        self.received: str | None = None
        self._watch: _SignalWatch | None = None
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
        if self.deadline_s is not None and self._via_loop:
            self._watch = _SignalWatch(self.signals, self.deadline_s, self.exit_now)
            self._watch.start()
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
        if self._watch is not None:
            self._watch.close()  # the loop's own wakeup fd back before its handlers go
            self._watch = None
        if self._loop is not None:
            for sig in self._via_loop:
                self._loop.remove_signal_handler(sig)
        for sig, previous in self._previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, previous)  # type: ignore[arg-type]
        self._via_loop.clear()
        self._previous.clear()


class _SignalWatch:
    """Reads the signals off the interpreter's wakeup fd on a thread, hands them on to the
    loop's, and ends the process ``deadline_s`` after the first stop signal."""

    def __init__(
        self,
        signals: tuple[signal.Signals, ...],
        deadline_s: float,
        exit_now: Callable[[int], object],
    ) -> None:
        self.signals = {int(s) for s in signals}
        self.deadline_s = deadline_s
        self.exit_now = exit_now
        self._read, self._write = socket.socketpair()
        self._write.setblocking(False)
        self._loops = -1
        self._closed = threading.Event()
        self._armed: threading.Timer | None = None

    def start(self) -> None:
        self._loops = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        threading.Thread(target=self._run, name="stop-deadline", daemon=True).start()

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                data = self._read.recv(64)
            except OSError:
                return
            if not data:
                return
            if self._loops >= 0:
                with contextlib.suppress(OSError):
                    os.write(self._loops, data)  # the loop's own handling, when it turns
            if self._armed is None and any(b in self.signals for b in data):
                self._armed = threading.Timer(self.deadline_s, self._expire, args=(data[0],))
                self._armed.daemon = True
                self._armed.start()

    def _expire(self, signum: int) -> None:
        if self._closed.is_set():
            return
        log.error("stop_deadline_passed", deadline_s=self.deadline_s, signal=signum)
        self.exit_now(128 + signum)

    def close(self) -> None:
        self._closed.set()
        if self._armed is not None:
            self._armed.cancel()
        with contextlib.suppress(ValueError):  # not the main thread
            signal.set_wakeup_fd(self._loops)
        with contextlib.suppress(OSError):
            self._read.shutdown(socket.SHUT_RDWR)  # wakes the thread's recv
        for sock in (self._write, self._read):
            sock.close()
