"""What a soak (:class:`rampart_testkit.soak.harness.Soak`) keeps between its steps: its
counts, the books it keeps beside the engine's, the store and the checkpoints a restart goes
back to, the database outage it holds, and how it records engine work that fails."""

from __future__ import annotations

import contextlib
import json
import random
from collections import Counter
from typing import Any

import structlog

from rampart.clock import SimClock
from rampart.domain.candles import timeframe_ms
from rampart.domain.errors import StoreError
from rampart.domain.events import Event, ReconciliationRepaired
from rampart.market.guard_settings import PriceGuardConfig
from rampart.market.price_guard import PriceGuard
from rampart.store.db import open_database
from rampart.store.writer import StoreWriter
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.reconcile.reconciler import Reconciler, ReconnectWatch
from rampart_testkit.soak import build, dirty, faults, verify
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.stats import SoakStats, data_mb
from rampart_testkit.soak.stepping import Progress, RecentCandles, record_crash

log = structlog.get_logger("rampart_testkit.soak")


class SoakState:
    engine: Engine
    clock: SimClock

    def __init__(self, config: SoakConfig, progress: Progress | None = None) -> None:
        self.cfg = config
        self.progress = progress
        self.stats = SoakStats()
        self.rng = random.Random(config.seed)
        self.book = verify.Ledgerbook()
        self.saved_book = self.book.copy()
        self.saved: str | None = None
        """The last checkpoint, as the JSON the store holds (one string, not a tree of
        objects kept alive between checkpoints)."""
        self.tf_ms = timeframe_ms(config.timeframe)
        self.metrics: Any = build.service_metrics()
        self.writer: StoreWriter | None = None
        self.bus = EventBus()
        self.stale: set[str] = set()
        self.prices = PriceGuard(PriceGuardConfig(), "ccxt")
        """The market-data guard the service's session applies, in front of the engine: it
        outlives a restart as the feed does (a restarted process warms its own on the same
        candles), so what it holds stays held for the new engine too."""
        self.history = RecentCandles()
        self.watch = ReconnectWatch(self._count_call)
        self.reconciler = Reconciler(unknown_grace_s=30.0)
        self.checks = self.stats.fault_checks
        self.faults = faults.FaultWatch(self.checks, self._store_down)
        self.saved_published: Counter[str] = Counter()
        self.outage: faults.StoreOutage | None = None
        self.picks = random.Random(config.seed + 3)
        """Which accounts the harness's faults hit: apart from the fault plan's generator, so
        the plan's sequence of episodes depends on the seed alone."""
        self.hand_trades: set[int] = set()
        """Exchange trades of coins bought by hand: held apart, never booked by Rampart."""
        self.suspects = dirty.SuspectWatch(self.stats.dirty, self._symbols_of)

    # -- events -------------------------------------------------------------------------------

    def _count_call(self, endpoint: str, seconds: float, kind: str | None) -> None:
        if kind is not None:
            self.stats.errors[kind] += 1

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ReconciliationRepaired):
            self.stats.repairs[event.kind] += 1
            if self.metrics is not None:
                self.metrics.repair(event.kind)

    def _symbols_of(self, account_id: str) -> tuple[str, ...]:
        return self.engine.accounts[account_id].spec.symbols

    # -- the store and its checkpoints --------------------------------------------------------

    def _store(self) -> StoreWriter | None:
        if not self.cfg.store:
            return None
        self.cfg.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.cfg.out_dir / "soak.db"
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self.db = open_database(f"sqlite:///{path}")
        faults.shorten_lock_wait(self.db)
        self.outage = faults.StoreOutage(path)
        writer = StoreWriter(self.db)
        now = self.clock.now_ms()
        for acct in self.engine.accounts.values():
            writer.upsert_account(acct.spec, acct.state.value, acct.paused, now)
        self.bus.subscribe(writer)
        self.faults.published.clear()  # the store holds what is published from now on
        return writer

    def _store_down(self) -> bool:
        engine: Engine | None = getattr(self, "engine", None)  # events come before the engine
        return engine is not None and engine.store_down

    def _flush(self, checkpoint: dict[str, Any] | None = None) -> bool:
        """Write what is buffered (and the checkpoint); whether the store took it. A write
        refused during a database outage keeps every row buffered, in order, and halts entries
        until a write lands, as the service's session does."""
        if self.writer is None:
            return True
        try:
            saved = None if checkpoint is None else ("soak", self.clock.now_ms(), checkpoint)
            self.writer.flush(saved)
            self.stats.repairs_stored = self.writer.stats.rows.get("reconciliation_repairs", 0)
        except StoreError as exc:
            if self.outage is not None and self.outage.held:
                self.checks.refused_writes += 1
                self.engine.store_down = True
                return False
            self.stats.crashes.append(f"store flush failed: {exc}")
            self.writer.discard()
            return False
        except Exception as exc:  # the store is not what the soak measures; say so and go on
            self.stats.crashes.append(f"store flush failed: {exc}")
            self.writer.discard()
            return False
        if self._store_down():
            self.engine.store_down = False
            self.faults.verify_store(self.db, "after a database outage")
        return True

    def _checkpoint(self) -> None:
        """Save the engine's state with the events so far (one transaction), as a service
        does: a restart resumes from the last one the store took."""
        snapshot = self.engine.snapshot()
        if not self._flush(snapshot):
            return
        self.saved = json.dumps(snapshot)
        self.saved_book = self.book.copy()
        self.saved_published = self.faults.published.copy()

    def _sync_outage(self, down: bool, flapping: bool = False) -> None:
        """Take or release SQLite's write lock as the fault plan's database outage (or a
        flapping store's down spell) begins or ends."""
        if self.outage is None or self.outage.held == down:
            return
        if down:
            self.checks.outages += 1
            self.stats.dirty.store_flaps += flapping
            self.outage.start()
        else:
            self.outage.stop()

    # -- its own record -----------------------------------------------------------------------

    def _record_mb(self) -> float:
        """The soak's own record of the run, in MB: its ledger of the latest orders and fills
        per account (filling for hours after the baseline), the copies of it and of the
        engine's checkpoint a restart goes back to (the service keeps its checkpoint in the
        store only), the hand trades held apart."""
        return data_mb((self.book, self.saved_book, self.saved, self.hand_trades))

    async def _guarded(self, work: Any, what: str) -> Any:
        """Run engine work; anything escaping it is a critical failure, recorded, not fatal
        to the soak (so the report still says what happened)."""
        try:
            return await work
        except Exception as exc:
            record_crash(self.stats, log, what, exc)
            return None
