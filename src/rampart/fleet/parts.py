"""What the fleet's processes get from the composition root: the parts that depend on the
configured venue kind and adapters, which only the root may choose (``wiring/fleet_parts.py``
builds them from the settings). Handed in, they keep the fleet free of ``wiring`` and of
``rampart.config``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from rampart.clock import Clock, SimClock
    from rampart.domain.instruments import Instrument
    from rampart.fleet.shard import ShardTrader
    from rampart.market.ccxt_feed import CcxtFeed
    from rampart.market.price_guard import PriceGuard
    from rampart.observability.anomaly_watch import AnomalyWatch
    from rampart.observability.market_data_metrics import MarketDataMetrics
    from rampart.trading.engine import Engine
    from rampart.trading.ports import Venue


class MakeTrader(Protocol):
    """A shard's trader: its accounts' session on the configured venue, sharing the worker's
    database, every write checked by ``fence`` and the venue wrapped by ``wrap_venue``."""

    def __call__(
        self,
        shard: int,
        shards: int,
        clock: SimClock,
        instruments: dict[str, Instrument],
        *,
        db: Any,
        fence: Callable[[Any], None],
        wrap_venue: Callable[[Venue], Venue],
    ) -> ShardTrader: ...


@dataclass(frozen=True)
class WorkerParts:
    trader: MakeTrader
    instruments: Callable[[list[str], dict[str, float] | None], Awaitable[dict[str, Instrument]]]
    """The instruments of the feed's symbols (its typical prices), as the venue kind knows them."""
    check_trading_mode: Callable[[], None]
    """Refuses, in one sentence, settings that may not trade in their mode."""
    anomaly_watch: Callable[
        [Callable[[], Iterable[Engine]], CollectorRegistry], AnomalyWatch | None
    ]
    """One anomaly watch over the engines given (None when the anomaly alerts are off)."""
    watch_prices: Callable[[PriceGuard, MarketDataMetrics], None]
    """Counts what a session's price guard holds and drops into the market-data metrics."""
    live_feed: bool
    """The feed reads a venue's own market (its candles come on the wall's time)."""
    tells_investors: bool
    """The deployment has a bot: the shards write investor notices for the servers to send."""


@dataclass(frozen=True)
class FeedParts:
    live_feed: bool
    """The feed reads a venue's own market, not a simulated stream."""
    exchange_feed: Callable[[Clock, list[str], int], CcxtFeed]
    """The exchange's candles of the symbols from a start time (ms), on the clock given."""


__all__ = ["FeedParts", "MakeTrader", "WorkerParts"]
