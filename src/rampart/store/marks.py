"""Which buffered rows are committed: what a money notice waits for.

The store writer buffers an event's rows in memory and commits them at the next checkpoint;
an investor told "Bought" before that commit, then a kill -9, left a notice for an order the
restarted books did not hold. Each batch the writer detaches is numbered; an event stored now
is in the next one (:meth:`DurableMarks.mark`), and is durable once a batch of that number or
later is committed (:meth:`DurableMarks.durable`) — unless a failed write put its rows back in
the buffer, when only a batch detached after that counts.
"""

from __future__ import annotations


class DurableMarks:
    def __init__(self) -> None:
        self.detached = 0
        """Batches detached so far (each numbered by it)."""
        self.written_upto = 0
        """The highest batch number committed."""
        self.restored_from: int | None = None
        """The lowest number of a batch put back after a failed write and not written since."""
        self.restored_after = 0
        """Batches detached when it was put back (those hold none of its rows)."""
        self.flush_wanted = False
        """Something waits for the buffer to be committed (a money notice): the session
        writes it after the candle rather than at the next checkpoint."""

    def mark(self) -> int:
        """What rows buffered now wait for: the next batch detached holds them."""
        return self.detached + 1

    def durable(self, mark: int) -> bool:
        upto = self.written_upto
        if self.restored_from is not None:
            upto = min(upto, self.restored_from - 1)
        return upto >= mark

    def on_detach(self) -> int:
        """A batch is detached: its number."""
        self.detached += 1
        self.flush_wanted = False
        return self.detached

    def on_restore(self, number: int) -> None:
        """A batch whose write failed is back in the buffer."""
        start = number if self.restored_from is None else min(self.restored_from, number)
        self.restored_from, self.restored_after = start, self.detached

    def on_written(self, number: int) -> None:
        if self.restored_from is not None and number > self.restored_after:
            self.restored_from = None  # the rows put back were in this batch
        self.written_upto = max(self.written_upto, number)


__all__ = ["DurableMarks"]
