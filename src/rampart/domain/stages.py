"""A rollout stage: who may trade, what, with how much. The default allows everything.

A domain value object: the risk engine checks intents against it (``RiskContext.stage``),
the rollout rules and the controller choose it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Stage:
    name: str = "open"
    users: frozenset[str] | None = None
    """Allowed account owners; None means anyone."""
    max_users: int | None = None
    symbols: frozenset[str] | None = None
    """Allowed symbols; None means every configured symbol."""
    profiles: frozenset[str] | None = None
    min_capital: Decimal | None = None
    max_capital: Decimal | None = None
    max_total_capital: Decimal | None = None
    """The capital all accounts together may trade with (a timed ramp's step); None: no total."""
    limit_scale: Decimal | None = None
    """The share of each profile's position-size and daily-loss limits the stage allows
    (limits relaxed by measured stability, rollout/inside.py); None: the profiles' own."""
    kill_on_position_loss: Decimal | None = None
    """Plan 004's "Position Loss > $50 → kill switch" for the stage: one position losing more
    than this (in its account's quote asset) engages the kill switch for the whole service,
    whatever the account's profile says; None: the profiles' own amounts and scope."""

    def allows_user(self, owner: str) -> bool:
        return self.users is None or owner in self.users

    def allows_symbol(self, symbol: str) -> bool:
        return self.symbols is None or symbol in self.symbols

    def allows_profile(self, profile: str) -> bool:
        return self.profiles is None or profile in self.profiles


OPEN_STAGE = Stage()

LATENCY_TARGET_MS = 2000.0
"""The default p95 order-latency target (creation to the venue's acknowledgement) a stage is
held to: ``rollout.latency_target_ms``'s default, and the alert rules' when no settings are
given. Here, below both, because the alerts (an adapter) may not import the rollout."""

UPTIME_TARGET = 0.999
"""The default uptime a stage must keep and below which UptimeLow pages (the launch plans'
99.9 %): ``rollout.uptime_target``'s default, and the alert rules' when no settings are given."""
