"""What calls cost in USD, from configured token prices, against a daily budget.

The day is the UTC day on the Clock; the budget refills at midnight. Money is Decimal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from rampart.clock import Clock

DAY_MS = 86_400_000
THOUSAND = Decimal(1000)


@dataclass(frozen=True, slots=True)
class Price:
    prompt_per_1k: Decimal
    completion_per_1k: Decimal


class Budget:
    def __init__(
        self, clock: Clock, daily_usd: Decimal, prices: Mapping[str, Price] | None = None
    ) -> None:
        self.clock = clock
        self.daily_usd = daily_usd
        self.prices = dict(prices or {})
        self._day = clock.now_ms() // DAY_MS
        self._spent = Decimal(0)

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
        price = self.prices.get(model)
        if price is None:
            return Decimal(0)
        return (
            price.prompt_per_1k * prompt_tokens + price.completion_per_1k * completion_tokens
        ) / THOUSAND

    def _roll(self) -> None:
        day = self.clock.now_ms() // DAY_MS
        if day != self._day:
            self._day = day
            self._spent = Decimal(0)

    @property
    def spent(self) -> Decimal:
        self._roll()
        return self._spent

    @property
    def remaining(self) -> Decimal:
        return max(self.daily_usd - self.spent, Decimal(0))

    def exhausted(self) -> bool:
        return self.spent >= self.daily_usd

    def charge(self, usd: Decimal) -> bool:
        """Add a call's cost; True when this call spent the last of today's budget."""
        was = self.exhausted()
        self._spent += usd
        return not was and self.exhausted()

    def restore(self, spent_today: Decimal) -> None:
        """What was already spent today (from ``llm_calls``), so a restart cannot overspend."""
        self._roll()
        self._spent = spent_today

    def day_start_ms(self) -> int:
        self._roll()
        return self._day * DAY_MS
