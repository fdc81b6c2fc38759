"""What an agent wants: an intent, which the risk engine approves, sizes or rejects."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from rampart.domain.money import ZERO
from rampart.domain.orders import Side
from rampart.domain.quick import quick_init


class IntentAction(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    MOVE = "move"
    """Move the open position's stop-loss and/or take-profit: ``stop_loss`` and
    ``take_profit`` are the new prices, ZERO leaving that one where it is. The risk engine
    lets a stop tighten, and loosen only within the profile (``rampart.risk.moves``)."""
    REDUCE = "reduce"
    """Sell ``size_hint`` (a fraction) of the open position; the bracket keeps the rest."""
    ADD = "add"
    """Buy more of the open position, sized by the risk engine as an entry with the
    position's own bracket; the bracket then covers the whole."""


@quick_init
@dataclass(frozen=True, slots=True)
class Intent:
    account_id: str
    symbol: str
    side: Side
    action: IntentAction
    entry_price: Decimal
    """The reference price the agent decided on (usually the last close)."""
    stop_loss: Decimal = ZERO
    take_profit: Decimal = ZERO
    size_hint: Decimal = Decimal(1)
    """Fraction (0–1] of the largest size the risk profile allows."""
    confidence: float = 0.5
    rationale: str = ""
    agent: str = ""
    ts: int = 0

    @property
    def reward_risk(self) -> Decimal:
        risk = abs(self.entry_price - self.stop_loss)
        if risk == ZERO:
            return ZERO
        return abs(self.take_profit - self.entry_price) / risk
