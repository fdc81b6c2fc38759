"""``ops:`` settings: heartbeats, worker staleness, restarts and shutdown."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from rampart.settings_base import Section

STOP_DEADLINE_S = 9.0
"""How long a process may take to stop after SIGTERM before it exits regardless (the goal is
10 s; the rest is the interpreter's own exit). Here, not in ``runtime.shutdown``: reading the
settings must not load structlog (a read-only command's start)."""


class InvestorFees(Section):
    """What the operator charges each investor, per the terms the investor accepted
    (docs/users/fees.md): accrued by week in the revenue review, never taken from an account
    by Rampart. Both zero (the default): the operator charges nothing through Rampart."""

    subscription_per_month: Decimal = Field(default=Decimal(0), ge=0)
    """A flat fee per investor account per month, in the account's quote currency, counted
    from the day the account began (a month is 365.25 / 12 days)."""
    performance_share: Decimal = Field(default=Decimal(0), ge=0, le=1)
    """The share of the account's realised profit (after trading fees) above its high-water
    mark: a week's profit that only wins back earlier losses earns no fee."""


class OpsConfig(Section):
    heartbeat_every_s: float = Field(default=5.0, gt=0)
    worker_stale_s: float = Field(default=30.0, gt=0)
    """A component whose last heartbeat is older than this counts as down."""
    shutdown_timeout_s: float = Field(default=6.0, gt=0, lt=STOP_DEADLINE_S)
    """How long ``rampart run`` lets work in hand finish after SIGTERM before cancelling it and
    writing its checkpoint. Under the stop deadline (9 s: SIGTERM ends any process
    within 10 s), which ends the process whatever it still waits on."""
    restart_initial_s: float = Field(default=1.0, gt=0)
    restart_max_s: float = Field(default=60.0, gt=0)
    infra_cost_usd_per_month: dict[str, Decimal] = Field(default_factory=dict)
    """Each host's monthly cost in US dollars (name → amount: servers, database, bandwidth),
    shown beside the LLM cost and the fees in the weekly report (plans 000, 001)."""
    investor_fees: InvestorFees = Field(default_factory=InvestorFees)

    def infra_cost_usd(self, days: int) -> Decimal:
        """The configured hosts' cost for ``days`` days (a month is 365.25 / 12 days)."""
        monthly = sum(self.infra_cost_usd_per_month.values(), Decimal(0))
        return (monthly * days * 12 / Decimal("365.25")).quantize(Decimal("0.01"))


__all__ = ["InvestorFees", "OpsConfig"]
