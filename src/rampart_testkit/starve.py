"""Starve a process tree of CPU without loading the machine: duty-cycle it with SIGSTOP/SIGCONT.

A process on a machine whose CPU is oversubscribed ``n`` times (``n`` runnable threads per core
with equal weight) gets about ``1/n`` of a core, handed out in scheduler slices: it runs a few
milliseconds, then waits while the others run, over and over. Its wall-clock timers keep
running while it waits, so every piece of CPU work takes ``n`` times as long in wall time and a
deadline measured on the wall clock sees its work ``n`` times slower; its sockets fill while it
is off the CPU and are read in bursts.

:class:`Starve` gives a process tree the same share the same way without burning the CPU it
takes away: in each ``window_s`` it lets the tree run for ``share * window_s`` (SIGCONT) and
stops it for the rest (SIGSTOP). ``share=0.1`` with ``window_s=0.1`` (10 ms of every 100 ms)
is what the tree sees at 10x oversubscription with a scheduler slice of about 10 ms: the same
CPU share, the same wall-clock stretch of its work, the same bursty timers. The one difference
is that the other nine tenths of the CPU stay free for everyone else on the machine (a test
run, the exchange simulator the process talks to), which is the point on a shared CI host.

Signals sent to a stopped process stay pending until its next run slice, as with a descheduled
one (SIGKILL excepted); a SIGTERM sent while starved is therefore heard within ``window_s``.
When the tree exits, or the context ends, the helper stops and leaves every process running.

On a machine already oversubscribed (``make test-loaded`` runs the suite at 4x and says so in
:data:`LOAD_ENV`) the tree gets only a share of each running slice; its slices are then that
many times longer, so it still gets ``share`` of a core, not ``share`` of what the load leaves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from types import TracebackType

import psutil

STARVED_SHARE = 0.1
"""The CPU share at 10x oversubscription."""
WINDOW_S = 0.1
"""One duty cycle: 10 ms running, 90 ms stopped at :data:`STARVED_SHARE`."""
LOAD_ENV = "RAMPART_TEST_LOAD"
"""The CPU oversubscription the whole test run already has (unset: none)."""


def background_load() -> float:
    """How many runnable threads a core already has beside the test (at least 1)."""
    try:
        return max(float(os.environ.get(LOAD_ENV, "1")), 1.0)
    except ValueError:
        return 1.0


class Starve:
    """``with Starve(pid):`` runs ``pid`` and its descendants ``share`` of every ``window_s``.

    Counts what it did (:attr:`cycles`, :attr:`stopped_s`) so a test can show the starvation
    really happened. The descendants are looked up on every cycle, so processes the tree starts
    while starved are starved too."""

    def __init__(self, pid: int, share: float = STARVED_SHARE, window_s: float = WINDOW_S):
        if not 0 < share < 1:
            raise ValueError(f"share is a fraction between 0 and 1, not {share}")
        self.pid = pid
        self.share = share
        self.running = min(share * background_load(), 1.0)
        """The share of each window the tree runs: ``share`` on an idle machine."""
        self.window_s = window_s
        self.cycles = 0
        self.stopped_s = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"starve-{pid}", daemon=True)

    def __enter__(self) -> Starve:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """End the starvation: every process of the tree runs freely again."""
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5 * self.window_s + 1)
        self._signal(signal.SIGCONT)

    @property
    def alive(self) -> bool:
        """The starvation still runs (the tree has not exited and :meth:`stop` was not called)."""
        return self._thread.is_alive()

    def _tree(self) -> list[int]:
        try:
            root = psutil.Process(self.pid)
            if root.status() == psutil.STATUS_ZOMBIE:
                return []
            return [self.pid, *(child.pid for child in root.children(recursive=True))]
        except psutil.Error:
            return []

    def _signal(self, sig: signal.Signals, pids: list[int] | None = None) -> bool:
        """Sends ``sig`` to the tree; False once it is gone."""
        pids = self._tree() if pids is None else pids
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        return bool(pids)

    def _run(self) -> None:
        running_s = self.running * self.window_s
        try:
            while not self._done.is_set():
                if self.running >= 1.0:  # the machine's own load starves it enough
                    self._done.wait(self.window_s)
                    self.cycles += 1
                    continue
                pids = self._tree()
                if not self._signal(signal.SIGCONT, pids):
                    return
                if self._done.wait(running_s):
                    return
                self._signal(signal.SIGSTOP, pids)
                stopped = time.monotonic()
                self._done.wait(self.window_s - running_s)
                self.stopped_s += time.monotonic() - stopped
                self.cycles += 1
        finally:
            self._signal(signal.SIGCONT)
