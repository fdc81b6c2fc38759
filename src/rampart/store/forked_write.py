"""Write-behind for a replay: each checkpoint's batch is written by a forked child process.

A replay waits on every flush (a fifth of a 100k-bar run), and a writer *thread* cannot
overlap it: converting rows holds the GIL, and SQLite gives the GIL back and takes it again on
every row, so the engine and the thread convoy. A forked child holds a copy-on-write image of
the batch (nothing is pickled), writes it in one transaction on its own connection while the
engine runs on, and exits; the parent waits for it before the next batch is detached, so
batches land one at a time and in order, and the database ends with exactly the rows the
synchronous flush would have written.

Only for a file-backed SQLite store (an in-memory database is not shared with the child) on a
system with ``fork``. A failed write is reported one checkpoint later, by :meth:`join`, which
puts its batch back under the rows buffered since and raises the StoreError.
"""

from __future__ import annotations

import os
import pickle
import signal
from typing import Any

import sqlalchemy as sa

from rampart.domain.errors import StoreError
from rampart.store.writer import Batch, Checkpoint, StoreWriter, WriterStats


def forkable(db_url: str) -> bool:
    """Whether writes to ``db_url`` can be handed to a forked child."""
    if not hasattr(os, "fork"):
        return False
    url = sa.engine.make_url(db_url)
    memory = not url.database or url.database == ":memory:" or "memory" in str(url.query)
    return url.get_backend_name() == "sqlite" and not memory


class ForkedWrites:
    """At most one batch being written by a child process at a time."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._fd = -1
        self._batch: Batch | None = None
        self._exiting: list[int] = []
        """Children that answered and are still tearing down: reaped at the next join."""

    @property
    def busy(self) -> bool:
        return self._pid is not None

    def start(self, writer: StoreWriter, batch: Batch, checkpoint: Checkpoint | None) -> None:
        """Fork a child that writes ``batch`` (already detached from ``writer``) and exits."""
        self.join(writer)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child leaves by os._exit, unseen by coverage
            os.close(read_fd)
            _child(writer, batch, checkpoint, write_fd)
        os.close(write_fd)
        self._pid, self._fd, self._batch = pid, read_fd, batch

    def join(self, writer: StoreWriter) -> None:
        """Wait for the batch in flight, if any. On failure the batch goes back into the
        writer's buffer (under anything newer) and the child's StoreError is raised."""
        self.reap()
        pid, batch = self._pid, self._batch
        if pid is None or batch is None:
            return
        chunks = []
        while chunk := os.read(self._fd, 1 << 16):
            chunks.append(chunk)
        os.close(self._fd)
        self._pid, self._fd, self._batch = None, -1, None
        answer: dict[str, Any] = pickle.loads(b"".join(chunks)) if chunks else {}  # noqa: S301 - from the pipe of our own forked child
        stats = answer.get("stats")
        if isinstance(stats, WriterStats):
            # Written and committed; the child's exit (a millisecond of tearing down its
            # copy of this process) is not waited for here.
            self._exiting.append(pid)
            writer.settle(batch, stats, "")
            return
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        error = answer.get("error") or f"The store's writer process ended with status {code}."
        writer.settle(batch, None, error)
        raise StoreError(error)

    def reap(self) -> None:
        """Wait for the children that answered to finish exiting (none is left a zombie)."""
        while self._exiting:
            os.waitpid(self._exiting.pop(), 0)


def _child(writer: StoreWriter, batch: Batch, checkpoint: Checkpoint | None, fd: int) -> None:
    code = 1
    try:
        # Ctrl-C reaches the whole process group: the parent stops at the next candle and
        # joins this write, so the batch in flight still lands instead of failing.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # The parent's pooled connections are its own: drop them unclosed, open a fresh one.
        writer.engine.dispose(close=False)
        writer.write(batch, checkpoint)
        answer: dict[str, Any] = {"stats": writer.stats}
        code = 0
    except StoreError as err:
        answer = {"error": err.message}
    except BaseException as err:  # any failure must reach the parent, as text
        answer = {"error": f"Saving the replay's rows failed: {err or type(err).__name__}."}
    try:
        data = pickle.dumps(answer)
        while data:
            data = data[os.write(fd, data) :]
        os.close(fd)  # the parent's read ends here, before this process has torn down
    finally:
        # No atexit handlers, no buffered output flushed twice, no finalizers on shared state.
        os._exit(code)
