"""What :class:`~rampart.wiring.service.Service` trades with: the loop that drives the engine
(simulated candles, or an exchange or Solana feed), the feed it opens, and the components that
reconcile and probe a live venue. Functions of the service, kept apart from its lifecycle."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rampart.domain.candles import timeframe_ms
from rampart.domain.errors import ConfigError
from rampart.loops.candle import CandleLoop
from rampart.loops.exchange import ExchangeLoop, FollowLoop, ReconcileLoop
from rampart.loops.rpc_probe import RpcProbe
from rampart.market.ccxt_feed import CcxtFeed
from rampart.market.solana_feed import SolanaFeed
from rampart.wiring.session import TradingSession
from rampart.wiring.solana import open_solana_feed, solana_venue_of
from rampart.wiring.venue_kinds import live_feed, reconciliation_of
from rampart.wiring.venues import make_ccxt_feed, stale_marker

if TYPE_CHECKING:
    from rampart.wiring.service_state import ServiceState


def engine_loop(self: ServiceState, session: TradingSession) -> CandleLoop | ExchangeLoop:
    settings = self.settings
    feed = settings.feed
    if live_feed(settings):
        opener = open_solana_feed_for if feed.kind == "solana" else open_ccxt_feed
        return ExchangeLoop(
            session,
            partial(opener, self, session),
            clock=self.clock,
            feed_clock=self.feed_clock,
            lock=self.lock,
            state=self.state,
            metrics=self.metrics,
            symbols=self.symbols,
            timeframe_ms=timeframe_ms(feed.timeframe),
            history=settings.engine.history,
            reconnects=self.reconnects,
        )
    return CandleLoop(
        session,
        self._stream,
        clock=self.clock,
        lock=self.lock,
        state=self.state,
        metrics=self.metrics,
        console=self.console,
        show=self.show,
        step_s=timeframe_ms(feed.timeframe) / 1000 / feed.speed,
    )


def open_ccxt_feed(self: ServiceState, session: TradingSession, since_ms: int) -> CcxtFeed:
    feed = make_ccxt_feed(
        self.settings,
        self.feed_clock,
        self.symbols,
        on_stale=stale_marker(session.engine.stale_symbols),
        on_call=self.reconnects,
        since_ms=since_ms,
    )
    feed.on_ws_state = self.metrics.launch.websocket_state  # rampart_feed_websocket_state
    return feed


def open_solana_feed_for(self: ServiceState, session: TradingSession, since_ms: int) -> SolanaFeed:
    chain = solana_venue_of(session.venue)
    if chain is None:
        raise ConfigError("'feed.kind: solana' quotes the solana venue: set 'venue.kind' too.")
    return open_solana_feed(
        self.settings,
        chain,
        self.feed_clock,
        self.symbols,
        on_stale=stale_marker(session.engine.stale_symbols),
    )


def rpc_probe(self: ServiceState, session: TradingSession) -> RpcProbe | None:
    chain = solana_venue_of(session.venue)
    if chain is None:
        return None
    return RpcProbe(chain, self.ops_clock, self.settings.solana.probe_every_s)


def reconcile_loop(self: ServiceState, session: TradingSession) -> ReconcileLoop | None:
    """A ccxt venue fed by another feed is reconciled by a component of its own."""
    settings = self.settings
    if reconciliation_of(settings) != "reconcile loop":
        return None
    return ReconcileLoop(
        session,
        lock=self.lock,
        state=self.state,
        ops_clock=self.ops_clock,
        reconnects=self.reconnects,
        poll_s=settings.ops.heartbeat_every_s,
    )


def follow_loop(self: ServiceState, session: TradingSession) -> FollowLoop | None:
    """A ccxt venue's orders under way, followed between candles (a market entry the exchange
    fills in many trades over seconds)."""
    settings = self.settings
    if settings.venue.kind != "ccxt":
        return None
    return FollowLoop(
        session,
        lock=self.lock,
        state=self.state,
        ops_clock=self.ops_clock,
        every_s=settings.venue.follow_every_s,
    )
