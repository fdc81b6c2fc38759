"""What the routes need, in one object the service builds once and hands to ``create_app``.

The routes reach the service through the operator facade only: the context holds the facade,
never the trading session behind it (``.importlinter``, contract ``fronts-through-facade``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rampart.api.auth import TokenAuth
from rampart.api.settings import ApiSettings
from rampart.clock import Clock
from rampart.operator.control import Operator
from rampart.operator.views import InvestorViews
from rampart.runtime.health import Health

if TYPE_CHECKING:
    from rampart.observability.alerts.engine import AlertEngine
    from rampart.observability.metrics import Metrics
    from rampart.rollout.desk import RolloutDesk


@dataclass
class ApiContext:
    settings: ApiSettings
    clock: Clock
    """The ops clock (wall time in the service): rate limits and token caching run on it."""
    health: Health
    metrics: Metrics
    lock: asyncio.Lock
    """Held by the candle loop while it processes a candle and by every operator mutation."""
    operator: Operator
    alerts: AlertEngine | None = None
    business_clock: Clock | None = None
    """The clock the orders are on (a simulated feed's time in the paper demo): what drills,
    reports, promotions and other records are stamped with. The ops clock when not given."""
    doctor: Callable[[int], list[Any]] | None = None
    """``rampart doctor``'s checks (business time ms -> checks with status, name, message),
    given by the composition root for the panel's Operations page; None: not offered."""
    auth: TokenAuth = field(init=False)

    def __post_init__(self) -> None:
        if self.operator.lock is not self.lock:
            raise ValueError("the Operator must share the context's lock")
        self.auth = TokenAuth(
            self.operator.tokens,
            self.clock,
            self.settings.api,
            on_failure=self.metrics.api_auth_failure,
        )
        # Until the service hands over its started controller, the facade's reports the stage
        # and GO/NO-GO from the store (one that was never started runs no gates).
        if self.operator.serves_rollout:
            self.rollout.settings = self.settings

    @property
    def rollout(self) -> RolloutDesk:
        """The staged rollout, on the facade the fronts share."""
        desk: RolloutDesk = self.operator.rollout_desk()
        return desk

    @rollout.setter
    def rollout(self, controller: Any) -> None:
        """The service's started rollout controller (its gates run, its notices go out)."""
        self.rollout.use(controller)

    @property
    def business(self) -> Clock:
        return self.business_clock or self.clock

    @property
    def views(self) -> InvestorViews:
        return self.operator.views

    @classmethod
    def build(
        cls,
        settings: ApiSettings,
        operator: Operator,
        clock: Clock,
        health: Health,
        metrics: Metrics,
        *,
        alerts: AlertEngine | None = None,
        business: Clock | None = None,
    ) -> ApiContext:
        """A context over ``operator``, sharing its lock."""
        return cls(
            settings,
            clock,
            health,
            metrics,
            operator.lock,
            operator,
            alerts,
            business_clock=business,
        )
