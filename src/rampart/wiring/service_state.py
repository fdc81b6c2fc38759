"""What :class:`~rampart.wiring.service.Service` holds before it opens: its settings, clocks,
loop state, metrics, health, supervisor and feed. The service's helpers
(:mod:`rampart.wiring.service_loops`, :mod:`rampart.wiring.service_session`) read this, the
module below them and the service both, so the service's files form no circle."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rich.console import Console

from rampart.clock import Clock, FeedClock, SimClock, WallClock
from rampart.config import Settings
from rampart.loops.candle import LoopState
from rampart.market.service_feed import feed_of
from rampart.observability.launch_sampler import clock_jump_hook
from rampart.observability.logging import register_settings_secrets
from rampart.observability.metrics import Metrics
from rampart.runtime.business_time import feed_is_simulated
from rampart.runtime.health import Health
from rampart.runtime.supervisor import Supervisor
from rampart.trading.reconcile.schedule import ReconnectWatch
from rampart.wiring.parts import Parts
from rampart.wiring.session_rules import validate_accounts


class ServiceState:
    """The service's state from construction on (see :mod:`rampart.wiring.service`'s two clocks)."""

    def __init__(
        self,
        settings: Settings,
        console: Console,
        *,
        max_candles: int | None = None,
        view: bool | None = None,
        ops_clock: Clock | None = None,
        feed_clock: Clock | None = None,
        install_signals: bool = True,
    ) -> None:
        validate_accounts(settings)
        register_settings_secrets(settings)  # masked by their exact text in every log line
        self.settings = settings
        self.console = console
        self.show = console.is_terminal if view is None else view
        # One wall clock for all three: a step of the host clock is counted once (ClockJump).
        wall = WallClock()
        self.ops_clock: Clock = ops_clock or wall
        self.install_signals = install_signals
        self.clock = SimClock(0)
        """The engine's clock: set to each traded candle's close."""
        self.business: Clock = (
            FeedClock(self.clock, self.ops_clock)
            if feed_is_simulated(settings)
            else (feed_clock or wall)
        )
        """The clock every figure is on (see the module's docstring)."""
        self.feed_clock: Clock = feed_clock or wall
        """What an exchange feed's staleness runs on (the wall clock in production)."""
        self.stop = asyncio.Event()
        self.state = LoopState(max_candles=max_candles)
        ccxt = settings.venue.kind == "ccxt"
        self.venue_label = settings.venue.exchange if ccxt else settings.venue.kind
        self.metrics = Metrics(venue=self.venue_label)
        wall.on_jump = clock_jump_hook(self.metrics)
        self.reconnects = (
            ReconnectWatch(self.metrics.exchange_hook(self.venue_label)) if ccxt else None
        )
        self.health = Health()
        self.lock = asyncio.Lock()
        self.supervisor = Supervisor(
            self.ops_clock,
            initial_backoff_s=settings.ops.restart_initial_s,
            max_backoff_s=settings.ops.restart_max_s,
            stale_after_s=settings.ops.worker_stale_s,
            drain_timeout_s=settings.ops.shutdown_timeout_s,
            on_heartbeat=self.metrics.heartbeat,
            on_state=self.metrics.component_up,
        )
        self._parts: Parts | None = None
        self.opened = asyncio.Event()
        """Set once :meth:`open` has built every part (what a test or a caller waits for)."""
        self._undo: list[Callable[[], None]] = []
        """What :meth:`close` releases, in reverse order of acquiring (also after a failed open)."""
        self._stream, self._typical, self.symbols = feed_of(settings)


__all__ = ["ServiceState"]
