"""What the root hands the fleet's processes (``rampart worker``, ``rampart feed``, ``rampart
serve``'s mirror): the parts that depend on the configured venue kind and adapters, built from
the settings here so that ``rampart.fleet`` chooses no adapter and reads no ``rampart.config``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry
from rich.console import Console

from rampart.clock import Clock, SimClock
from rampart.config import Settings
from rampart.domain.instruments import Instrument
from rampart.domain.shards import shard_of
from rampart.fleet.feed_publisher import FeedPublisher
from rampart.fleet.parts import FeedParts, WorkerParts
from rampart.fleet.shard import ShardTrader, checkpoint_name
from rampart.fleet.worker import Worker
from rampart.market.service_feed import feed_of
from rampart.observability.anomaly_watch import AnomalyWatch
from rampart.trading.engine import Engine
from rampart.trading.ports import Venue
from rampart.wiring.anomalies import anomaly_watch
from rampart.wiring.instruments import instruments_for
from rampart.wiring.quarantine import watch_guard
from rampart.wiring.session import TradingSession
from rampart.wiring.session_rules import validate_accounts
from rampart.wiring.venue_kinds import check_trading_mode, live_feed, load_instruments
from rampart.wiring.venues import make_ccxt_feed

if TYPE_CHECKING:
    from rampart.market.ccxt_feed import CcxtFeed

MIRROR_CHECKPOINTS = 2**62
"""The mirror's checkpoint interval: it never writes one."""


def shard_trader(
    settings: Settings,
    shard: int,
    shards: int,
    clock: SimClock,
    instruments: dict[str, Instrument],
    *,
    db: Any,
    fence: Callable[[Any], None],
    wrap_venue: Callable[[Venue], Venue],
) -> ShardTrader:
    """One shard's trader: the accounts of ``shard`` (``shard_of``) in a session of their own,
    with a checkpoint of their own, on the configured venue."""
    mine = [a for a in settings.accounts if shard_of(a.id, shards) == shard]
    session = TradingSession(
        settings,
        clock,
        instruments,
        db_url=settings.store.url,
        checkpoint_name=checkpoint_name(shard),
        accounts=mine,
        checkpoint_every=settings.store.checkpoint_every,
        wrap_venue=wrap_venue,
        db=db,
        fence=fence,
    )
    return ShardTrader(
        shard, shards, session, reconcile_concurrency=settings.venue.reconcile_concurrency
    )


async def worker_instruments(
    settings: Settings, symbols: list[str], typical: dict[str, float] | None
) -> dict[str, Instrument]:
    """The instruments a worker's shards trade: an exchange's markets, none for a chain (the
    venue reads each mint's decimals from it), else the paper defaults."""
    if settings.venue.kind == "ccxt":
        return await load_instruments(settings, symbols)
    if settings.venue.kind == "solana":
        return {}
    return instruments_for(symbols, typical)


def tells_investors(settings: Settings) -> bool:
    """Whether this deployment has a bot: without one nothing would ever send the rows."""
    token = settings.telegram_token
    return token is not None and bool(token.get_secret_value())


def worker_parts(settings: Settings) -> WorkerParts:
    """A worker's parts; refuses, in one sentence, an account whose agent or profile is unknown
    (before anything starts)."""
    validate_accounts(settings)

    def watch(
        engines: Callable[[], Iterable[Engine]], registry: CollectorRegistry
    ) -> AnomalyWatch | None:
        return anomaly_watch(settings, engines, registry)

    return WorkerParts(
        trader=partial(shard_trader, settings),
        instruments=partial(worker_instruments, settings),
        check_trading_mode=partial(check_trading_mode, settings),
        anomaly_watch=watch,
        watch_prices=watch_guard,
        live_feed=live_feed(settings),
        tells_investors=tells_investors(settings),
    )


def build_worker(settings: Settings, console: Console, **options: Any) -> Worker:
    """``rampart worker``'s process (``options``: the worker's name, version, role, clock)."""
    return Worker(settings, console, worker_parts(settings), **options)


def feed_parts(settings: Settings) -> FeedParts:
    def exchange_feed(clock: Clock, symbols: list[str], since_ms: int) -> CcxtFeed:
        return make_ccxt_feed(settings, clock, symbols, since_ms=since_ms)

    return FeedParts(live_feed=live_feed(settings), exchange_feed=exchange_feed)


def build_feed(settings: Settings, console: Console, **options: Any) -> FeedPublisher:
    """``rampart feed``'s publisher (``options``: its name, clock, pacing, candles to send)."""
    return FeedPublisher(settings, console, feed_parts(settings), **options)


def mirror_settings(settings: Settings) -> Settings:
    """The settings the mirror's engine is built on: a paper venue (it sends nothing, and opens
    no exchange client or wallet), whatever the service trades on."""
    venue = settings.venue.model_copy(update={"kind": "paper"})
    return settings.model_copy(update={"venue": venue, "mode": "paper"})


def mirror_session(settings: Settings, db: Any, clock: Clock) -> TradingSession:
    """``rampart serve``'s mirror: every account, on a paper venue, never checkpointed."""
    _stream, typical, symbols = feed_of(settings)
    return TradingSession(
        mirror_settings(settings),
        clock,
        instruments_for(symbols, typical),
        db_url=settings.store.url,
        checkpoint_name="serve-mirror",
        accounts=list(settings.accounts),
        checkpoint_every=MIRROR_CHECKPOINTS,
        db=db,
    )


__all__ = [
    "build_feed",
    "build_worker",
    "feed_parts",
    "mirror_session",
    "mirror_settings",
    "shard_trader",
    "tells_investors",
    "worker_instruments",
    "worker_parts",
]
