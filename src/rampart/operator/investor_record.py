"""An investor as the desk and the fronts read them: one Telegram user and their account.

The records (``investors``: loading, saving, restoring accounts after a restart) and the
actions that route an account to a venue (``routing``) both name this type, so it lives apart
from them: the records run the routing when they restore, and the routing reads an investor
without reading the records back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Investor:
    telegram_id: int
    account_id: str
    accepted_disclaimer: bool = False
    profile: str = "moderate"
    capital: Decimal = Decimal(0)
    mode: str = ""
    """'' (not connected yet), 'paper', 'demo' or an exchange name whose key is stored."""
    created_at: int = 0

    def with_(self, **changes: Any) -> Investor:
        return replace(self, **changes)


class InvestorRecords(Protocol):
    """The investors' records as the desk reaches them
    (:class:`~rampart.operator.investors.InvestorBook` is one)."""

    async def load(self, telegram_id: int) -> Investor | None: ...

    async def save(self, inv: Investor) -> None: ...

    async def all(self) -> list[Investor]: ...

    async def telegram_id_of(self, account_id: str) -> int | None: ...


__all__ = ["Investor", "InvestorRecords"]
