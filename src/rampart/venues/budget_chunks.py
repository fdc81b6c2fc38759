"""The shared request budget spent a block at a time.

Past one machine every request of every worker on an address is counted in the database
(:mod:`rampart.store.request_budget`): one transaction per window per request, on the event
loop. A shard taken over reconciles each of its accounts with a handful of requests, so a
takeover of fifty accounts spent several seconds on the budget's own round trips alone.

:class:`ChunkedLedger` claims room in blocks (a share of the ceiling) and spends the requests
from the block in memory, going back to the database when the block is spent or the window
turns. Every block is counted in the database before any of it is used, so the address's
total never passes a ceiling, as before; what a worker holds and does not use is counted
until the window ends (at most one block per window), the price of a round trip per block
instead of per request.

A block is claimed under the ceiling of the row it is claimed in (a lane's reservation or the
spare pool: :mod:`rampart.venues.budget_lanes`). A request may use a block only if the count
with the whole block in it was within its own ceiling. The exchange
reporting more use than counted (another program on the address) forfeits the blocks held:
their room may not be there any more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rampart.venues.budget_ledgers import Ledger

SHARE = 0.04
"""A block is this share of the ceiling of the row that claims it, or the request's own cost
when larger. The rows are the lanes' shares and the spare pool (a sixth to a third of the
limit), so this keeps a block near what one was when a row held the whole limit at 1 % (60 of
Binance's 6,000 a minute; 36 to 72 now): a round trip per block, not four."""
EPS = 1e-9


@dataclass(slots=True)
class Block:
    start: int
    left: float
    """Claimed and not yet spent."""
    top: float
    """The window's count just after the block was claimed."""


class ChunkedLedger:
    def __init__(self, shared: Ledger, share: float = SHARE) -> None:
        self.shared = shared
        self.share = share
        self.blocks: dict[str, Block] = {}
        """The block held for each window key (its current window only)."""

    def _block(self, key: str, start: int) -> Block | None:
        block = self.blocks.get(key)
        if block is not None and block.start != start:
            del self.blocks[key]  # a new window: what was left of the old one is gone
            return None
        return block

    def spend(self, key: str, start: int, cost: float, ceiling: float) -> float | None:
        if cost <= 0:  # a request given back: straight to the shared count
            return self.shared.spend(key, start, cost, ceiling)
        block = self._block(key, start)
        if block is not None and block.left + EPS >= cost and block.top <= ceiling + EPS:
            block.left -= cost
            return block.top - block.left
        size = max(cost, ceiling * self.share)
        top = self.shared.spend(key, start, size, ceiling) if size > cost else None
        if top is None:
            size = cost
            top = self.shared.spend(key, start, cost, ceiling)
            if top is None:
                return None
        if block is not None and block.top <= ceiling + EPS:
            # The rest of the old block stays usable: it was within this ceiling too.
            left = block.left + size - cost
        else:
            left = size - cost
        self.blocks[key] = Block(start, left, top)
        return top - left

    def raise_to(self, key: str, start: int, used: float) -> float:
        total = self.shared.raise_to(key, start, used)
        block = self._block(key, start)
        if block is not None and total > block.top + EPS:
            del self.blocks[key]  # more was used than counted: the room held may be gone
        return total

    def used(self, key: str, start: int) -> float:
        return self.shared.used(key, start)

    def used_many(self, keys: Sequence[str], start: int) -> list[float]:
        return self.shared.used_many(keys, start)


__all__ = ["ChunkedLedger"]
