"""The request budget's lanes: each kind of request has a reserved share of the
address's limit, and a spare pool any lane may borrow from.

One pool spent by priority held candle polls back for 31 s at a time while entries and a
takeover's reconciliation spent the minute: a poll skipped at 80 % came again into a window
already at 80 %. With lanes, each kind of request spends its own reservation first and then
the spare pool, so what one lane does can never take another's reservation:

- **market**: candles and tickers (the feed's polls, the fee and trigger prices);
- **protect**: stop-losses, take-profits, exits and cancels, with the reads they need;
- **reconcile**: what reconciliation and order polling read (orders, trades, balances);
- **entry**: new positions, with the reads they need.

Each lane's count and the spare pool's are rows of their own in the ledger (a row per window
per lane); a spend is one atomic conditional update of one row, so the address's total never
passes the limit, across processes, and a lane asking within its reservation is always let
through. A reservation a lane does not use is not lent: that room is what makes a candle poll
or a stop-loss go at once whatever the others do.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Lane(StrEnum):
    MARKET = "market"
    PROTECT = "protect"
    RECONCILE = "reconcile"
    ENTRY = "entry"


SPARE = "spare"
"""The row of the spare pool (a share no lane reserves)."""
ROWS: tuple[str, ...] = (SPARE, Lane.ENTRY, Lane.RECONCILE, Lane.MARKET, Lane.PROTECT)
"""Every row of a window, in the order use the budget did not count (another program on the
address, seen in the exchange's headers) is charged to them: the spare pool first, protective
orders' reservation last."""
EPS = 1e-9


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """Shares of each limit reserved per lane (the rest is the spare pool), and how long a
    request waits for the next window before it is refused."""

    market: float = 0.15
    protect: float = 0.15
    reconcile: float = 0.25
    entry: float = 0.15
    entry_wait_s: float = 5.0
    """The longest an entry waits for room; then it is refused (nothing is sent)."""
    read_wait_s: float = 60.0
    """The longest a market-data or reconciliation read waits (a poll never waits)."""
    protect_wait_s: float = 300.0

    def __post_init__(self) -> None:
        for lane in Lane:
            share = self.share(lane)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"The {lane} lane's share must be between 0 and 1, not {share}.")
        if self.reserved() > 1.0 + EPS:
            raise ValueError(
                f"The lanes reserve {self.reserved() * 100:.0f} % of the request limit "
                "together; they may reserve at most 100 %."
            )

    def share(self, lane: str) -> float:
        """The share of each limit ``lane`` (or the spare pool) holds."""
        if lane == SPARE:
            return self.spare
        return float(getattr(self, Lane(lane).value))

    def reserved(self) -> float:
        return self.market + self.protect + self.reconcile + self.entry

    @property
    def spare(self) -> float:
        return max(1.0 - self.reserved(), 0.0)

    def wait_s(self, lane: Lane, *, poll: bool = False) -> float:
        if poll:
            return 0.0  # polling comes again by itself: never held up waiting
        if lane is Lane.PROTECT:
            return self.protect_wait_s
        if lane is Lane.ENTRY:
            return self.entry_wait_s
        return self.read_wait_s


__all__ = ["EPS", "ROWS", "SPARE", "BudgetPolicy", "Lane"]
