"""Cash flows: money the investor moves, which is neither the strategy's profit nor its loss.

A deposit, a withdrawal, and the investor's own trades on the account (coins bought by hand
take cash out of what the strategy trades; coins sold by hand bring it back) change equity
without the strategy doing anything. The breakers measure the strategy's own result, so a flow
rebases their reference equities the time-weighted way: the day's start and the peak are
scaled by ``(equity + flow) / equity``, the equity just before the flow. A strategy down 3 %
from its peak is still down 3 % after the investor takes half the money out, and a withdrawal
alone never looks like a loss.

Each flow is kept (the latest :data:`KEPT`) in the breaker state, which the checkpoint holds, so
a restart knows which flows the limits already left out, and a breaker's sentence can name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rampart.clock import ms_to_datetime
from rampart.risk.codes import fmt_money

DEPOSIT = "deposit"
WITHDRAWAL = "withdrawal"
HAND_BUY = "hand_buy"
"""Coins bought by hand on the exchange: the cash they took is held apart with them."""
HAND_SALE = "hand_sale"
"""Coins held apart sold by hand: the cash they bring back."""
KINDS = (DEPOSIT, WITHDRAWAL, HAND_BUY, HAND_SALE)
WORDS = {
    DEPOSIT: "deposit",
    WITHDRAWAL: "withdrawal",
    HAND_BUY: "purchase by hand",
    HAND_SALE: "sale by hand",
}
KEPT = 20
"""Flows kept in the breaker state (and its checkpoint): enough for a day's sentences."""


def kind_of(amount: Decimal, apart_change: Decimal = Decimal(0)) -> str:
    """The flow's kind from its sign and what the coins held apart did meanwhile: cash out while
    coins held apart grew is a purchase by hand, cash in while they shrank a sale by hand."""
    if amount < 0:
        return HAND_BUY if apart_change > 0 else WITHDRAWAL
    return HAND_SALE if apart_change < 0 else DEPOSIT


@dataclass(frozen=True, slots=True)
class CashFlow:
    ts: int
    amount: Decimal
    """Into the account (+) or out of it (−), in the quote asset."""
    kind: str
    currency: str = ""

    def text(self) -> str:
        """ "withdrawal of 4,560 USDT seen at 12:03 UTC" (the date too when not today's)."""
        return f"{WORDS.get(self.kind, self.kind)} of {fmt_money(abs(self.amount), self.currency)}"

    def seen(self, now_ms: int | None = None) -> str:
        when = ms_to_datetime(self.ts)
        same_day = now_ms is not None and now_ms // 86_400_000 == self.ts // 86_400_000
        stamp = f"{when:%H:%M} UTC" if same_day else f"{when:%Y-%m-%d %H:%M} UTC"
        return f"{self.text()} seen at {stamp}"

    def to_list(self) -> list[Any]:
        return [self.ts, str(self.amount), self.kind, self.currency]

    @classmethod
    def from_list(cls, data: list[Any]) -> CashFlow:
        return cls(int(data[0]), Decimal(str(data[1])), str(data[2]), str(data[3]))


def scale(before: Decimal, amount: Decimal) -> Decimal | None:
    """The factor a flow of ``amount`` moves the reference equities by, from the equity
    ``before`` it; None when there was no equity to measure against (the references start
    again from the equity after)."""
    if before <= 0 or before + amount <= 0:
        return None
    return (before + amount) / before
