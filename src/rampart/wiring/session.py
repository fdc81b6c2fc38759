"""Wiring: the only place where concrete adapters are chosen.

A :class:`TradingSession` is one engine with its venue, store and checkpoints. ``rampart run``
and ``rampart replay`` both drive one, candle by candle; a session opened on a database that
holds a checkpoint resumes from it exactly (same positions, orders and protective orders).

When the store refuses a write, the session rides the outage out (``ride_out_outages``):
the rows stay buffered in order, entries are refused with ``store_unavailable`` while exits,
protective orders and the position monitor go on, the write is retried every
:data:`STORE_RETRY_MS` of the session's clock, and entries resume once a write lands.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from rampart.agents.registry import make_agent
from rampart.clock import Clock
from rampart.config import AccountConfig, Settings, account_spec, quote_of
from rampart.domain.candles import Candle
from rampart.domain.errors import StoreError, present
from rampart.domain.instruments import Instrument
from rampart.market.price_guard import PriceGuard
from rampart.market.second_reading import SecondOpinions, SecondReading
from rampart.ml.registry import ModelRegistry, RegistryModels
from rampart.observability import tracing
from rampart.risk.profiles import RiskProfile, get_profile
from rampart.store.db import open_database
from rampart.store.errors import not_answering
from rampart.store.leases import FencedOut
from rampart.store.queries import load_checkpoint
from rampart.store.writer import Checkpoint, StoreWriter
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.ports import Updates, Venue
from rampart.trading.reconcile.overlap import gate
from rampart.wiring.quarantine import second_reading_of
from rampart.wiring.replay_gc import ReplayGc
from rampart.wiring.session_rules import room_rules
from rampart.wiring.traced_venue import traced_venue
from rampart.wiring.venue_kinds import make_venue
from rampart.wiring.venues import PAPER_HISTORY

if TYPE_CHECKING:
    # The LLM stack and ccxt load only when an ``llm`` agent or a ccxt venue needs them.
    from rampart.llm.decider import LlmDecider
    from rampart.venues.ccxt_errors import OnCall

log = structlog.get_logger("rampart.wiring.session")

VENUE_HISTORY = PAPER_HISTORY
"""Finished orders the paper venue remembers per account (each checkpoint carries them)."""

STORE_RETRY_MS = 5_000
"""While the store refuses writes, the first candle at least this long (session clock) after
the last try writes again: a hung database is not asked on every candle of a fast replay."""


NO_CHECKPOINT = 2**62
"""Candles between checkpoints of a session that never writes one."""


class TradingSession:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        instruments: dict[str, Instrument],
        *,
        db_url: str,
        checkpoint_name: str,
        accounts: list[AccountConfig],
        checkpoint_every: int | None,
        wrap_venue: Callable[[Venue], Venue] | None = None,
        on_call: OnCall | None = None,
        ride_out_outages: bool = True,
        db: Any = None,
        fence: Callable[[Any], None] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.bus = EventBus()
        v = settings.venue
        # Paper or a real exchange through ccxt (whose instruments come from load_instruments).
        self.venue = make_venue(
            settings, instruments, clock, accounts=[a.id for a in accounts], on_call=on_call
        )
        if wrap_venue is not None:
            # Metrics time every venue call; the engine sees the wrapper only.
            self.venue = wrap_venue(self.venue)
        self.venue = traced_venue(self.venue)  # orders and fills as spans, when tracing is on
        overrides = settings.profiles or None

        def profile_for(name: str) -> RiskProfile:
            return get_profile(name, overrides)

        self.engine = Engine(
            venue=self.venue,
            clock=clock,
            bus=self.bus,
            make_agent=self._make_agent,
            profile_for=profile_for,
            taker_fee=v.taker_fee,
            history=settings.engine.history,
            equity_snapshot_ms=settings.engine.equity_snapshot_ms,
            room=room_rules(settings, live=ride_out_outages),
        )
        self.engine.guard.kill_scope = settings.risk.kill_on_position_loss_scope
        self.prices = PriceGuard(
            settings.feed.guard,
            settings.feed.kind,
            suspect=self.engine.suspect_symbols,
            volumes=settings.feed.kind != "solana",  # quotes carry no volume (solana_feed)
        )
        """Every candle and price tick passes it before the engine sees it (market data is
        evidence, not truth): a suspect one is held until confirmed, an impossible one dropped."""
        self.opinions: SecondOpinions | None = None
        """Where the venue offers one (an exchange's ticker, order book, trades), the price
        read elsewhere that alone confirms a held candle, asked beside the feed."""
        guard = settings.feed.guard
        self.second_reading = second_reading_of(self.venue, guard.second_reading_timeout_s)
        self.db_url = db_url
        self.checkpoint_name = checkpoint_name
        self.account_configs = accounts
        self.checkpoints = checkpoint_every is not None
        """False for a research trial (``checkpoint_every=None``): its store is never written,
        as nothing resumes it, so its writer takes no events (no row is built)."""
        every = NO_CHECKPOINT if checkpoint_every is None else checkpoint_every
        self.checkpoint_every = every
        self._every = every if ride_out_outages else max(1, every // 2)
        """Candles until the next checkpoint is due. A replay's first comes after half the
        interval, as it always has (the schedule, and so every resume point, is unchanged)."""
        self.db: Any = db
        self._owns_db = db is None
        """A database handed in (a worker's shards share one) is not disposed on close."""
        self.fence = fence  # checked in each write's transaction (a worker's lease on its shard)
        self.models: RegistryModels | None = None  # the ml agent's models (the session's store)
        self.writer: StoreWriter | None = None
        self.cursor = 0
        self._since_checkpoint = 0
        self._snapshot: dict[str, Any] | None = None
        self.resumed_at: int | None = None  # the checkpoint resumed from: its business time, ms
        self.llm: LlmDecider | None = None
        """The model ``llm`` agents ask when ``llm.enabled``; built once the store is open."""
        self.llm_metrics: Any = None  # the service's, set before open: LLM calls count on it
        self.ride_out_outages = ride_out_outages
        """Keep trading (exits only) through a failed checkpoint instead of raising it; a
        replay raises, since halting its entries would change its result."""
        self.on_store: Callable[[bool], None] | None = None
        """Told after each checkpoint whether the store took it (the service's database gauge,
        so DatabaseDown counts a failed write at once, not only the next health probe)."""
        self.store_unanswered = False  # the database does not answer: what DatabaseDown reads
        self._retry_at = 0
        self._told_over_limit = False
        self._gc = ReplayGc() if not ride_out_outages else None
        """A replay (it does not ride outages out) trades with a quieter garbage collector."""

    async def open(self) -> int:
        """Open the store, add accounts and load a checkpoint. Returns candles already done."""
        if self.db is None:
            self.db = open_database(self.db_url)
        ml = self.settings.ml
        registry = ModelRegistry(self.db, ml.models_dir)
        self.models = RegistryModels(registry, self.clock, int(ml.poll_s * 1000))
        self.writer = StoreWriter(
            self.db, max_unsaved=self.settings.store.max_unsaved_rows, fence=self.fence
        )
        if self.settings.llm.enabled:
            from rampart.llm.decider import build_decider

            self.llm = build_decider(self.settings, self.clock, self.db, self.llm_metrics)
        if "rampart.venues.solana.venue" in sys.modules:
            # Only a Solana venue loads that module; its wiring (and the metrics library it
            # brings) is not imported for a paper session or a replay.
            from rampart.wiring.solana import attach_store, solana_venue_of

            chain = solana_venue_of(self.venue)
            if chain is not None:
                # Before any account opens on it: its wallets sign, its journal records each
                # swap.
                await attach_store(
                    chain, self.db, self.settings, [a.id for a in self.account_configs]
                )
        await self._add_accounts()
        saved = load_checkpoint(self.db, self.checkpoint_name)
        if saved is not None:
            self.resumed_at, self._snapshot = saved
            self.cursor = int(self._snapshot["candles_seen"])
        now = self.clock.now_ms()
        for acct in self.engine.accounts.values():
            self.writer.upsert_account(acct.spec, acct.state.value, acct.paused, now)
        if self.checkpoints:  # a trial's rows would only be dropped: not made
            self.bus.subscribe(self.writer)
        if self._gc is not None:
            self._gc.start()
        return self.cursor

    async def _add_accounts(self) -> None:
        """Add the configured accounts. On a venue polled over the network (an exchange, a
        chain) each account's opening waits on it (its key checked, its balances read): after
        the first (which loads the venue's markets), they are opened side by side, at most
        ``venue.reconcile_concurrency`` of the process at a time (the gate reconciliation
        uses, shared by a worker's shards). They enter the engine in the configured
        order either way, and a failure is the first failing account's, as one after another.
        """
        adds = [
            partial(self.engine.add_account, account_spec(c, quote_of(c.symbols)), c.params or None)
            for c in self.account_configs
        ]
        if self.venue.capabilities.updates is not Updates.POLLED or len(adds) < 3:
            for add in adds:
                await add()
            return
        await adds[0]()
        places = gate(self.settings.venue.reconcile_concurrency)  # the process's, all shards'

        async def gated(add: Callable[[], Awaitable[None]]) -> None:
            async with places:
                await add()

        # Tasks start in order and each enters the engine before its first wait.
        outcomes = await asyncio.gather(*(gated(a) for a in adds[1:]), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    def _make_agent(self, name: str, params: dict[str, Any] | None) -> Any:
        if name == "llm":
            return make_agent(name, params, llm=self.llm, fallback=self.settings.llm.fallback_agent)
        if name != "ml":
            return make_agent(name, params)
        ml = self.settings.ml
        defaults = {"threshold": ml.threshold, "atr_stop": ml.atr_stop, "atr_target": ml.atr_target}
        return make_agent(name, {**defaults, **(params or {})}, models=self.models)

    def warm(
        self, candle: Candle, admitted: tuple[Candle, ...] | None = None
    ) -> tuple[Candle, ...]:
        """:meth:`process` for a candle already traded (a resume, a take, the history before
        the first decision): through the guard as when it was traded, so the guard holds what
        it held then, and to the agents only. No second reading is asked for a past candle."""
        admitted = self._counted(candle, None, admitted, ask=False)
        engine = self.engine
        for each in admitted:
            engine.warm(each)
        return admitted

    def _counted(
        self, candle: Candle, now_ms: int | None, admitted: tuple[Candle, ...] | None, *, ask: bool
    ) -> tuple[Candle, ...]:
        """The candles that count now (see :class:`PriceGuard`), counted as one feed candle.
        ``admitted``: the guard's verdict when the caller knows it already, as an optimizer's
        trials over one span do; ``now_ms``: a live feed's wall time, for the freshness checks;
        ``ask``: a held candle asks the venue for a second reading (a past one never does)."""
        if admitted is None:
            admitted = self.prices.admit(candle, now_ms)
            if ask and not admitted and self.opinions is not None:
                # Held: the venue's own price is asked for beside the feed, where it offers one.
                self.opinions.ask(candle.symbol)
        # The engine counts candles of the feed (a resume skips that many): one per candle
        # handed in, whatever the guard held, dropped or released with it.
        self.engine.candles_seen += 1 - len(admitted)
        return admitted

    @property
    def second_reading(self) -> SecondReading | None:
        return self.opinions.read if self.opinions is not None else None

    @second_reading.setter
    def second_reading(self, read: SecondReading | None) -> None:
        if self.opinions is not None:
            self.opinions.cancel()
        timeout = self.settings.feed.guard.second_reading_timeout_s
        # Its sources one after another, each within its own timeout, and a second to spare.
        self.opinions = None if read is None else SecondOpinions(self.prices, read, 3 * timeout + 1)
        self.prices.checked = read is not None

    async def settle(self, *, record: bool = False) -> tuple[Candle, ...]:
        """Trade what the second readings that came back released (the exchange loop calls it
        when ``opinions.ready`` is set; :meth:`process` before each candle)."""
        if self.opinions is None or not self.opinions.ready.is_set():
            return ()
        released = self.opinions.settle()
        self.engine.candles_seen -= len(released)  # counted as feed candles when held
        await self._trade(released, record)
        return released

    async def _trade(self, candles: tuple[Candle, ...], record: bool) -> None:
        engine = self.engine
        for each in candles:
            if record:
                self.record_close(each)
            if not tracing.active:
                # Off (the default): no span at all, not even the shared no-op's two calls.
                await engine.on_candle(each)
                continue
            with tracing.span("decision", {"rampart.symbol": each.symbol, "rampart.ts": each.ts}):
                await engine.on_candle(each)

    async def on_price(self, symbol: str, price: Decimal, ts: int) -> None:
        """A price tick between candles (a DEX quote), through the guard."""
        if self.prices.admit_price(symbol, float(price), ts):
            await self.engine.on_price(symbol, price)

    def record_close(self, candle: Candle) -> None:
        """Keep a live feed's close for its hour: the rollout's buy-and-hold reads it back, as
        an exchange's past candles cannot be re-read like a replayed or synthetic feed's."""
        if self.writer is not None:
            self.writer.record_close(candle.symbol, candle.ts, candle.close)

    @property
    def restored(self) -> bool:
        """The checkpoint is in the engine (or there was none): until the engine loop loads it,
        the engine reports a fresh state (no kill switch, no halt) that is not the truth."""
        return self._snapshot is None

    @property
    def checkpoint_seen(self) -> dict[str, int] | None:
        """Until the resume finishes: the close time of the last candle of each symbol the
        loaded checkpoint had seen; None when there was no checkpoint."""
        if self._snapshot is None:
            return None
        return {s: int(ts) for s, ts in self._snapshot["data_ts"].items()}

    def finish_resume(self) -> None:
        if self._snapshot is not None:
            self.engine.load_snapshot(self._snapshot)
            self._snapshot = None

    async def process(
        self,
        candle: Candle,
        now_ms: int | None = None,
        *,
        record: bool = False,
        admitted: tuple[Candle, ...] | None = None,
    ) -> tuple[Candle, ...]:
        """The one way a candle is traded (replay, backtest trials, the
        service's loops and every worker's shards call this, configured, never a copy): what
        second readings released, the guard (a second reading asked where the venue offers
        one), the engine, the checkpoint when due. Returns what was traded. ``record``: keep
        each traded close for the rollout (:meth:`record_close`); ``admitted``: see
        :meth:`_counted`."""
        # Without a second reading's sources nothing can have been released: not asked.
        settled = await self.settle(record=record) if self.opinions is not None else ()
        admitted = self._counted(candle, now_ms, admitted, ask=True)
        if record or tracing.active:
            await self._trade(admitted, record)
        else:  # most candles: no close kept, no span (see _trade)
            for each in admitted:
                await self.engine.on_candle(each)
        if self.checkpoints and self.traded():
            await self.checkpoint_off_loop()
        return settled + admitted

    def traded(self) -> bool:
        """Count a candle the engine has just traded; whether a checkpoint is due now (the
        caller then awaits :meth:`checkpoint_off_loop`); :meth:`process` does both."""
        self._since_checkpoint += 1
        writer = self.writer
        # The engine's flag read directly, not through the store_down property: once a candle.
        if writer is not None and (self.engine.store_down or writer.failing):
            return self.clock.now_ms() >= self._retry_at
        # A full buffer is written now rather than at the checkpoint, keeping memory bound
        # (the bound on its size compared first: over_limit's own first test, without a call).
        # A money notice waiting on these rows: written now, so it leaves within the candle.
        return self._since_checkpoint >= self._every or (
            writer is not None
            and (
                writer.marks.flush_wanted
                or (writer.bound > writer.max_unsaved and writer.over_limit)
            )
        )

    @property
    def store_down(self) -> bool:
        """Entries are halted because the store could not take a write."""
        return self.engine.store_down

    def store_unreachable(self, detail: str) -> None:
        """The health probe cannot reach the database: halt entries now rather than at the next
        checkpoint, and try a write on the next candle (its success lifts the halt)."""
        if not self.store_down:
            log.error("store_unreachable", detail=detail)
            self._retry_at = self.clock.now_ms()
        self.engine.store_down = True
        self.store_unanswered = True

    def _checkpoint_state(self) -> Checkpoint:
        writer = present(self.writer, "the store writer (the session is open)")
        now = self.clock.now_ms()
        for acct in self.engine.accounts.values():
            writer.upsert_account(acct.spec, acct.state.value, acct.paused, now)
        self._since_checkpoint = 0
        self._every = self.checkpoint_every
        return (self.checkpoint_name, now, self.engine.snapshot())

    def checkpoint(self) -> None:
        if self.writer is None:
            return
        self.writer.flush(self._checkpoint_state())

    async def checkpoint_off_loop(self) -> bool:
        """The same checkpoint, written from a worker thread so the event loop keeps serving
        the API while the database works. The state is captured here, on the loop, first.

        Returns whether the store took it. A failure puts the rows back in the buffer and,
        with ``ride_out_outages``, halts entries instead of raising out of the engine loop
        (which would stall trading, exits included, in the supervisor's restart back-off)."""
        writer = self.writer
        if writer is None:
            return True
        checkpoint = self._checkpoint_state()
        batch = writer.detach()
        try:
            if self.ride_out_outages:
                await asyncio.to_thread(writer.write, batch, checkpoint)
            else:
                # A replay serves no API while it runs: the rows since the last checkpoint go
                # in one transaction right here, without a thread hand-off. (Writing them
                # from a forked child would cost a quarter of the CPU at 1M bars: forking a
                # large process and its copy-on-write faults, ~100 times.)
                writer.write(batch, checkpoint)
        except FencedOut as err:
            # Not an outage: the shard is another worker's, which rebuilds these rows from the
            # venue. Put back, they would stall every later checkpoint here (and count as the
            # database being down) until the shard is dropped.
            dropped = writer.forget(batch)
            log.warning("checkpoint_fenced", error=err.message, dropped_rows=dropped)
            if not self.ride_out_outages:
                raise
            return False
        except StoreError as err:
            writer.restore(batch)
            self._store_failed(err)
            if not self.ride_out_outages:
                raise
            return False
        except BaseException:
            writer.restore(batch)
            raise
        self._store_back()
        return True

    def _store_failed(self, err: StoreError) -> None:
        writer = present(self.writer, "the store writer (the session is open)")
        now = self.clock.now_ms()
        self._retry_at = now + STORE_RETRY_MS
        if not self.engine.store_down:
            log.error("store_unavailable", error=err.message, unsaved_rows=writer.pending)
        if writer.over_limit and not self._told_over_limit:
            # Said once per outage: nothing is dropped, but memory now grows with every exit.
            self._told_over_limit = True
            log.error(
                "store_backlog_over_limit",
                unsaved_rows=writer.pending,
                limit=writer.max_unsaved,
            )
        self.engine.store_down = True
        # Entries halt whatever the reason; rows refused for their own reason are not DatabaseDown.
        self.store_unanswered = not_answering(err)
        if self.on_store is not None and self.store_unanswered:
            self.on_store(False)

    def _store_back(self) -> None:
        if self.engine.store_down:
            log.warning("store_available", detail="entries resume")
        self.engine.store_down = False
        self.store_unanswered = False
        self._told_over_limit = False
        if self.on_store is not None:
            self.on_store(True)

    def close(self) -> None:
        if self.opinions is not None:
            self.opinions.cancel()
        if self._gc is not None:
            self._gc.stop()
        # A resume that failed before the snapshot was loaded must not save a fresh engine
        # over the real checkpoint.
        if self.writer is not None and self._snapshot is None:
            self.checkpoint()
        if self.db is not None and self._owns_db:
            self.db.dispose()

    def discard(self) -> None:
        """Let go without writing anything: another worker holds this session's shard now,
        and what this one had not saved is the new owner's to find on the venue."""
        if self._gc is not None:
            self._gc.stop()
        self.writer = None
        if self.db is not None and self._owns_db:
            self.db.dispose()
