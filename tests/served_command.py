"""A ``rampart`` command that serves until Ctrl-C, run as a real process: its start-up lines,
then SIGINT and what it says on the way out (``rampart simulator``, ``rampart solana-sim``)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from queue import Empty, Queue

READY = "Ctrl-C stops"
"""The last start-up line of a serving command says so."""
MAX_STARTUP_LINES = 50
"""Unless told more: the simulator prints a line per account before it."""


class ServedCommand:
    def __init__(self, proc: subprocess.Popen[str], max_lines: int = MAX_STARTUP_LINES) -> None:
        self.proc = proc
        self.max_lines = max_lines
        # A reader thread, because select() on the pipe cannot see lines already sitting in
        # the text wrapper's buffer; the bounded get() fails a hung process instead.
        self.lines: Queue[str] = Queue()
        self.reader = threading.Thread(
            target=lambda: [self.lines.put(line) for line in proc.stdout or ()], daemon=True
        )
        self.reader.start()
        self.startup = self._read_startup()
        """Every line up to and including the one that says Ctrl-C stops it."""

    def _read_startup(self) -> list[str]:
        lines: list[str] = []
        while not lines or READY not in lines[-1]:
            if len(lines) >= self.max_lines:
                raise AssertionError(f"no {READY!r} line: {lines}")
            try:
                lines.append(self.lines.get(timeout=30))
            except Empty:
                raise AssertionError(f"no more start-up lines: {lines}") from None
        return lines

    @property
    def url(self) -> str:
        """The first local address the start-up lines show."""
        found = re.search(r"http://127\.0\.0\.1:\d+", "".join(self.startup))
        assert found is not None, self.startup
        return found.group(0)

    def interrupt(self) -> str:
        """Ctrl-C; what it printed after the start-up lines (it must have exited)."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)
        self.reader.join(timeout=10)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return "".join(rest)


@contextmanager
def served(args: list[str], max_lines: int = MAX_STARTUP_LINES) -> Iterator[ServedCommand]:
    """``rampart *args`` running until the block ends (killed then if still running)."""
    code = "from rampart.cli.main import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield ServedCommand(proc, max_lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
