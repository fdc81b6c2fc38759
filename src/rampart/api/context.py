"""What the routes need, in one object the service builds once and hands to ``create_app``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
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
    from rampart.operator.session import Session as TradingSession
    from rampart.rollout.controller import RolloutController


@dataclass
class ApiContext:
    settings: ApiSettings
    session: TradingSession
    clock: Clock
    """The ops clock (wall time in the service): rate limits and token caching run on it."""
    health: Health
    metrics: Metrics
    lock: asyncio.Lock
    """Held by the candle loop while it processes a candle and by every operator mutation."""
    operator: Operator
    alerts: AlertEngine | None = None
    rollout: RolloutController | None = None
    """The staged rollout's controller (the service sets its started one after building this)."""
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
            lambda: self.session.db,
            self.clock,
            self.settings.api,
            on_failure=self.metrics.api_auth_failure,
        )
        if self.rollout is None:
            # A controller that was never started still reports the stage and GO/NO-GO; the
            # service replaces it with the started one that also runs the gates.
            from rampart.rollout.controller import RolloutController

            self.rollout = RolloutController(
                self.settings.rollout,
                self.session.db,
                self.business,
                engine=self.session.engine,
                lock=self.lock,
            )

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
        session: TradingSession,
        clock: Clock,
        health: Health,
        metrics: Metrics,
        *,
        feed_symbols: Iterable[str],
        alerts: AlertEngine | None = None,
        lock: asyncio.Lock | None = None,
        business: Clock | None = None,
    ) -> ApiContext:
        """A context with a fresh lock (or the given one) and an Operator sharing it."""
        lock = lock or asyncio.Lock()
        operator = Operator(
            session, lock, feed_symbols=feed_symbols, mode=settings.mode, business=business
        )
        return cls(
            settings,
            session,
            clock,
            health,
            metrics,
            lock,
            operator,
            alerts,
            business_clock=business,
        )
