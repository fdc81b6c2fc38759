"""Account trading states and the settings an account trades with."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class TradingState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"
    """Closes only: no new entries, open positions are managed to their exits."""
    HALTED = "halted"
    """No trading at all; protective orders stay on the venue until positions are flat."""


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """What an account trades: set by config, an operator or (later) the investor."""

    account_id: str
    agent: str
    profile: str
    capital: Decimal
    symbols: tuple[str, ...]
    owner: str = ""
    quote: str = "USDT"
    tags: dict[str, str] = field(default_factory=dict)
