"""The trading session of :class:`~rampart.wiring.service.Service`: its instruments (from the
exchange, from chain, or made up for a simulated feed), its venue wrapped in metrics, and where it
resumes, on business time. A function of the service, kept apart from its lifecycle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rampart.observability.instrumented import instrument_venue
from rampart.operator.control import restore_operator_accounts
from rampart.operator.investors import restore_investor_accounts
from rampart.runtime.business_time import business_start
from rampart.wiring.instruments import instruments_for
from rampart.wiring.quarantine import watch_guard
from rampart.wiring.session import TradingSession
from rampart.wiring.solana import observe, solana_venue_of
from rampart.wiring.venue_kinds import load_instruments

if TYPE_CHECKING:
    from rampart.wiring.service_state import ServiceState


async def open_session(self: ServiceState) -> TradingSession:
    settings = self.settings
    metrics, label = self.metrics, self.venue_label
    ccxt = settings.venue.kind == "ccxt"
    if ccxt:
        instruments = await load_instruments(settings, self.symbols)
    elif settings.venue.kind == "solana":
        instruments = {}  # the venue reads each mint's decimals from chain: load() below
    else:
        instruments = instruments_for(self.symbols, self._typical)
    session = TradingSession(
        settings,
        self.clock,
        instruments,
        db_url=settings.store.url,
        checkpoint_name="run",
        accounts=list(settings.accounts),
        checkpoint_every=settings.store.checkpoint_every,
        wrap_venue=lambda venue: instrument_venue(venue, metrics, label, count_calls=not ccxt),
        on_call=self.reconnects,
    )
    self._undo.append(session.close)
    watch_guard(session.prices, metrics.launch.market_data)  # MarketDataSuspect's series
    chain = solana_venue_of(session.venue)
    if chain is not None:
        observe(chain, metrics.solana)
    if ccxt or chain is not None:
        await session.venue.load(self.symbols)  # type: ignore[attr-defined]
    session.llm_metrics = metrics.llm
    self.state.resume_at = await session.open()
    start = business_start(settings, session.resumed_at, self._stream)
    if start is not None:
        self.clock.set(max(self.clock.now_ms(), start))
    # Engines an operator started through the API come back before the checkpoint loads.
    await restore_operator_accounts(session)
    await restore_investor_accounts(session)
    return session
