"""The store's event sink: buffer domain events as rows, write them in one transaction.

``writer(event)`` only appends to memory, so the engine is never slowed by the database.
``flush()`` writes the batch with Core executemany (inserts for logs, dialect upserts for rows
that change) and, in the same transaction, the checkpoint a restart resumes from. Either all of
it lands or none of it: after a crash the database holds the last checkpoint and exactly the
rows it accounts for.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from rampart.domain.accounts import AccountSpec, TradingState
from rampart.domain.errors import StoreError
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    CapitalChanged,
    EquitySnapshot,
    FillBooked,
    IntentProposed,
    IntentRejected,
    InvariantViolated,
    KillSwitchChanged,
    OrderUpdated,
    PositionChanged,
    ReconciliationRepaired,
    TradeClosed,
)
from rampart.domain.orders import OrderStatus
from rampart.store import models as m
from rampart.store import rows
from rampart.store.audit import FACADE, AuditLog, Item
from rampart.store.batch import Batch, WriterStats
from rampart.store.dialects import SUPPORTED
from rampart.store.errors import explain, failed_write
from rampart.store.fast_insert import FastInsert
from rampart.store.leases import FencedOut
from rampart.store.market_closes import close_rows, hour_of, market_closes
from rampart.store.marks import DurableMarks
from rampart.store.upserts import TRADE_KEY, last_per_key
from rampart.store.writer_statements import statements_for

Checkpoint = tuple[str, int, dict[str, Any]]
"""(name, ts in UTC ms, JSON-able payload)."""

MAX_UNSAVED_ROWS = 100_000
"""Rows the writer holds before they are written at once instead of at the next checkpoint
(``store.max_unsaved_rows``). While the store refuses writes the buffer grows past it: every row
is kept, in order, until a write succeeds (none is ever dropped), and entries stay halted."""

ROWS_PER_EVENT = 2
"""The most rows one stored event buffers (an order and its transition, a log row and a
state): each handler adds it to the bound ``over_limit`` reads before it counts the buffer."""


class StoreWriter:
    """Batched, all-or-nothing persistence of domain events. Subscribe it to the event bus."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        audit: bool = True,
        max_unsaved: int = MAX_UNSAVED_ROWS,
        fence: Callable[[sa.Connection], None] | None = None,
    ) -> None:
        self.engine = engine
        self.fence = fence  # checked in each write: a worker that lost a shard writes nothing
        self.max_unsaved = max_unsaved
        self.failing = False
        """The last write failed: the buffer holds rows the store has not taken."""
        self.last_error = ""
        """The sentence of the last failed write ("" once a write succeeds)."""
        self._writing: Batch | None = None
        self.marks = DurableMarks()
        """Which buffered rows are committed (what a money notice waits for)."""
        """The batch a worker thread is writing now: neither buffered nor in the store yet."""
        # Order transitions and kill switch changes are chained into the audit log inside
        # each flush, so the engine's hot path makes no extra database round trip.
        self.audit = AuditLog(engine) if audit else None
        self._audit_lock: AbstractContextManager[object] = (
            self.audit.lock if self.audit is not None else nullcontext()
        )
        dialect = engine.dialect.name
        if dialect not in SUPPORTED:
            raise StoreError(
                f"Rampart cannot write to a {dialect} database; use SQLite or PostgreSQL."
            )
        built = statements_for(engine.dialect)  # once per dialect in a process
        self._upsert_accounts = built.upsert_accounts
        self._upsert_orders = built.upsert_orders
        self._upsert_positions = built.upsert_positions
        self._upsert_checkpoint = built.upsert_checkpoint
        self._upsert_closes = built.upsert_closes
        self._inserts = built.inserts
        self._insert_transitions = built.insert_transitions
        self._delete_positions = built.delete_positions
        self._update_state = built.update_state
        self._update_paused = built.update_paused
        self.stats = WriterStats()
        self._handlers: dict[type, Callable[[Any], None]] = {
            OrderUpdated: self._on_order,
            FillBooked: self._on_fill,
            PositionChanged: self._on_position,
            TradeClosed: self._on_trade,
            EquitySnapshot: self._on_equity,
            IntentProposed: self._on_intent,
            IntentRejected: self._on_rejection,
            AccountStateChanged: self._on_state,
            BreakerTripped: self._on_breaker,
            CapitalChanged: self._on_capital,
            KillSwitchChanged: self._on_kill_switch,
            InvariantViolated: self._on_invariant,
            ReconciliationRepaired: self._on_repair,
        }
        self._reset()

    def _reset(self) -> None:
        self._use(Batch())

    def _use(self, batch: Batch) -> None:
        # The handlers append to these aliases of the current batch's buffers.
        self._batch = batch
        # At least the buffer's size: every handler adds at most two rows (an order and its
        # transition, a log row and a state) and an account upsert one (see over_limit).
        self.bound = batch.size
        """At least the rows buffered (see :attr:`over_limit`), read on every candle."""
        self._accounts = self._batch.accounts
        self._states = self._batch.states
        self._paused = self._batch.paused
        self._orders = self._batch.orders
        self._transitions = self._batch.transitions
        self._positions = self._batch.positions
        self._logs = self._batch.logs

    # -- buffering ----------------------------------------------------------------------------

    def __call__(self, event: object) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def route(self, kind: type) -> Callable[[Any], None] | None:
        """The handler for events of ``kind`` (None: not stored), for the event bus to call
        directly. Each handler counts its rows towards the buffer's bound itself."""
        return self._handlers.get(kind)

    def upsert_account(
        self, spec: AccountSpec, state: TradingState | str, paused: bool, ts: int
    ) -> None:
        """Buffer the account's settings and current state (it is the latest truth for it)."""
        try:
            value = TradingState(state).value
        except ValueError:
            known = ", ".join(s.value for s in TradingState)
            raise StoreError(f"{state!r} is not a trading state; use one of {known}.") from None
        row = rows.account_row(spec, value, bool(paused), ts)
        earlier = self._accounts.get(spec.account_id)
        if earlier is not None:
            # A later change (a pause, a resume) before the first save keeps when the account
            # began: the stored row keeps its created_at, the buffered one must too. A row
            # buffered before the clock had a time (0: a replay before its first candle) says
            # nothing of when it began.
            began = int(earlier["created_at"])
            row["created_at"] = min(began, ts) if began else ts
        self._accounts[spec.account_id] = row
        self.bound += 1
        self._states.pop(spec.account_id, None)
        self._paused.pop(spec.account_id, None)

    def record_close(self, symbol: str, ts: int, close: float) -> None:
        """Buffer a live candle's close as its hour's (the newest candle of the hour wins)."""
        self._batch.closes[(symbol, hour_of(ts))] = close
        self.bound += 1

    def facade_entry(
        self, ts: int, actor: str, action: str, target: str, detail: dict[str, Any]
    ) -> None:
        """Buffer one audit entry of the operator facade (``operator.…``): it is written, and
        given its facade number, with the next batch, so a store that is down delays it and
        never loses it (the batch stays buffered until a write succeeds)."""
        if not action.startswith(FACADE):
            raise ValueError(f"{action!r} is not an operator facade action")
        self._batch.facade.append((ts, actor, action, target, detail, None))
        self.bound += 1

    def take_facade(self) -> list[Item]:
        """The buffered facade entries, out of the buffer (to be written now, on their own)."""
        items, self._batch.facade = self._batch.facade, []
        return items

    def restore_facade(self, items: list[Item]) -> None:
        """Put back facade entries whose write failed, before any buffered since."""
        self._batch.facade[:0] = items
        self.bound += len(items)

    def write_facade(self, items: list[Item]) -> None:
        """Append facade entries to the audit chain in their own transaction (any thread);
        a StoreError when the store refuses (the caller puts them back in the buffer)."""
        if not items or self.audit is None:
            return
        try:
            with self._audit_lock, self.engine.begin() as conn:
                self.audit.append_items(conn, [], items)
        except exc.SQLAlchemyError as err:
            raise StoreError(f"Could not write to the audit log: {explain(err)}.") from err

    @property
    def pending(self) -> int:
        """Rows buffered for the next flush."""
        return self._batch.size

    @property
    def over_limit(self) -> bool:
        """More rows are buffered than :data:`MAX_UNSAVED_ROWS` (or the configured limit)."""
        # Asked on every candle: the buffer is only counted once the bound on its size (two
        # rows per event at most, one per account upsert) passes the limit.
        if self.bound <= self.max_unsaved:
            return False
        return self.pending > self.max_unsaved

    def unsaved(self) -> tuple[Batch, ...]:
        """What the store does not hold yet, oldest first: the batch being written, if any,
        then the buffer. Reads that must be current to the last candle add these to a query;
        take them *before* querying, so a batch that commits in between is seen twice (the
        reader drops duplicates) rather than missed."""
        writing = self._writing
        return (self._batch,) if writing is None else (writing, self._batch)

    def discard(self) -> int:
        """Drop everything buffered (after a flush that can never succeed). Returns the count."""
        dropped = self.pending
        self._reset()
        return dropped

    def _on_order(self, event: OrderUpdated) -> None:
        # Events carry snapshots, so keeping the last one per order is its final state.
        self.bound += ROWS_PER_EVENT
        order = event.order
        self._orders[order.client_id] = order
        previous, status = event.previous, order.status
        if previous is status and status is not OrderStatus.NEW:
            # Not a transition: one more part filled (its fill has a row of its own) or the
            # order re-sized in place (its row keeps the new quantity).
            return
        self._transitions.append(
            (order.client_id, order.account_id, event.ts, str(previous), str(status))
        )

    def _on_fill(self, event: FillBooked) -> None:
        self.bound += ROWS_PER_EVENT
        self._logs[m.fills].append(rows.fill_row(event))

    def _on_position(self, event: PositionChanged) -> None:
        self.bound += ROWS_PER_EVENT
        self._positions[(event.account_id, event.symbol)] = (event.position, event.ts)

    def _on_trade(self, event: TradeClosed) -> None:
        self.bound += ROWS_PER_EVENT
        self._logs[m.trades].append(rows.trade_row(event.trade))

    def _on_equity(self, event: EquitySnapshot) -> None:
        self.bound += ROWS_PER_EVENT
        self._logs[m.equity_snapshots].append(rows.equity_row(event))

    def _on_intent(self, event: IntentProposed) -> None:
        self.bound += ROWS_PER_EVENT
        self._logs[m.intents].append(rows.intent_row(event.intent, event.ts, event.trace))

    def _on_rejection(self, event: IntentRejected) -> None:
        self.bound += ROWS_PER_EVENT
        self._logs[m.rejections].append(rows.rejection_row(event))

    def _on_state(self, event: AccountStateChanged) -> None:
        self.bound += ROWS_PER_EVENT
        self._logs[m.account_events].append(rows.state_event_row(event))
        buffered = self._accounts.get(event.account_id)
        if buffered is not None:
            buffered.update(state=event.new.value, updated_at=event.ts)
        else:
            self._states[event.account_id] = (event.new.value, event.ts)

    def _on_breaker(self, event: BreakerTripped) -> None:
        self.bound += ROWS_PER_EVENT
        self._logs[m.account_events].append(rows.breaker_event_row(event))

    def _on_capital(self, event: CapitalChanged) -> None:
        self.bound += ROWS_PER_EVENT
        self._logs[m.account_events].append(rows.capital_event_row(event))

    def _on_kill_switch(self, event: KillSwitchChanged) -> None:
        self.bound += ROWS_PER_EVENT
        self._logs[m.account_events].append(rows.kill_switch_event_row(event))
        if event.scope == "global":
            return
        # An account-scoped kill switch is that account's pause.
        buffered = self._accounts.get(event.scope)
        if buffered is not None:
            buffered.update(paused=event.engaged, updated_at=event.ts)
        else:
            self._paused[event.scope] = (event.engaged, event.ts)

    def _on_invariant(self, event: InvariantViolated) -> None:
        self.bound += ROWS_PER_EVENT
        self._logs[m.account_events].append(rows.invariant_event_row(event))

    def _on_repair(self, event: ReconciliationRepaired) -> None:
        self.bound += ROWS_PER_EVENT
        self._logs[m.reconciliation_repairs].append(
            {
                "ts": event.ts,
                "account_id": event.account_id,
                "kind": event.kind,
                "client_id": event.client_id,
                "symbol": event.symbol,
                "detail": event.detail,
            }
        )

    # -- writing ------------------------------------------------------------------------------

    def flush(self, checkpoint: Checkpoint | None = None) -> int:
        """Write every buffered row and the checkpoint in one transaction. Returns rows written.

        On failure nothing is written, the buffer is kept (a retry may succeed once, say, a
        lock clears; :meth:`discard` drops it) and a StoreError says what went wrong.
        """
        if checkpoint is None and self.pending == 0:
            return 0
        batch = self.detach()
        try:
            return self.write(batch, checkpoint)
        except FencedOut:
            self.forget(batch)
            raise
        except StoreError:
            self.restore(batch)
            raise

    def detach(self) -> Batch:
        """Take the buffered rows and start a fresh buffer, so the batch can be written from a
        worker thread while events keep arriving on the event loop. From here until it is
        written or restored it is "being written": :meth:`unsaved` still shows it, so a read
        between the detach and the worker thread's start does not miss it."""
        batch = self._batch
        batch.number = self.marks.on_detach()
        self._reset()
        self._writing = batch
        return batch

    def forget(self, batch: Batch) -> int:
        """Drop a batch the fence refused: the shard is another worker's now, and these rows are
        what it rebuilds from the venue. Kept, they would be written over its books if this
        worker ever held the shard again, or stall every later checkpoint. Returns the count."""
        if self._writing is batch:
            self._writing = None
        return batch.size

    def restore(self, batch: Batch) -> None:
        """Put back a batch whose write failed, under whatever was buffered since."""
        batch.absorb_newer(self._batch)
        self._use(batch)
        self._writing = None
        self.marks.on_restore(batch.number)

    def write(self, batch: Batch, checkpoint: Checkpoint | None = None) -> int:
        """Write one detached batch and the checkpoint in one transaction (any thread)."""
        started = time.perf_counter()
        written: Counter[str] = Counter()
        self._writing = batch
        try:
            # The audit lock is taken before the transaction and held to its commit, so an
            # admin action's record waits here instead of on SQLite's busy timeout.
            with self._audit_lock, self.engine.begin() as conn:
                if self.fence is not None:
                    self.fence(conn)  # raises FencedOut, which rolls the transaction back
                self._write(conn, batch, written, checkpoint)
        except (exc.SQLAlchemyError, TypeError, ValueError) as err:
            self.stats.failed_flushes += 1
            failure = failed_write(err, batch.size, checkpoint[0] if checkpoint else None)
            self.failing, self.last_error = True, failure.message
            raise failure from err  # still "being written" until the caller restores it
        self._writing = None
        self.marks.on_written(batch.number)
        self.failing, self.last_error = False, ""
        self.stats.flush_seconds += time.perf_counter() - started
        self.stats.flushes += 1
        self.stats.rows.update(written)
        self.stats.last_flush_rows = sum(written.values())
        return self.stats.last_flush_rows

    def _write(
        self,
        conn: sa.Connection,
        batch: Batch,
        written: Counter[str],
        checkpoint: Checkpoint | None,
    ) -> None:
        def run(table: sa.Table, stmt: Any, params: list[rows.Row]) -> None:
            if params:
                if isinstance(stmt, FastInsert):
                    stmt.execute(conn, params)
                else:
                    conn.execute(stmt, params)
                written[table.name] += len(params)

        run(m.accounts, self._upsert_accounts, list(batch.accounts.values()))
        run(
            m.accounts,
            self._update_state,
            [{"k_account": a, "v_state": s, "v_ts": ts} for a, (s, ts) in batch.states.items()],
        )
        run(
            m.accounts,
            self._update_paused,
            [{"k_account": a, "v_paused": p, "v_ts": ts} for a, (p, ts) in batch.paused.items()],
        )

        def run_values(
            table: sa.Table, stmt: Any, keys: tuple[str, ...], values: list[Any]
        ) -> None:
            if values:
                if isinstance(stmt, FastInsert):
                    stmt.execute_values(conn, keys, values)
                else:
                    conn.execute(stmt, [dict(zip(keys, v, strict=True)) for v in values])
                written[table.name] += len(values)

        run_values(
            m.orders,
            self._upsert_orders,
            rows.ORDER_KEYS,
            list(map(rows.order_values, batch.orders.values())),
        )
        run_values(
            m.order_transitions, self._insert_transitions, rows.TRANSITION_KEYS, batch.transitions
        )
        upserts: list[rows.Row] = []
        deletes: list[rows.Row] = []
        for (account_id, symbol), (pos, ts) in batch.positions.items():
            if pos is None:
                deletes.append({"k_account": account_id, "k_symbol": symbol})
            else:
                upserts.append(rows.position_row(account_id, symbol, pos, ts))
        run(m.positions, self._upsert_positions, upserts)
        run(m.positions, self._delete_positions, deletes)
        for table, log_rows in batch.logs.items():
            if table is m.trades:
                log_rows = last_per_key(log_rows, TRADE_KEY)
            run(table, self._inserts[table], log_rows)
        run(market_closes, self._upsert_closes, close_rows(batch.closes))
        if self.audit is not None:
            self.audit.append_batch(
                conn, batch.transitions, batch.logs[m.account_events], batch.facade
            )
        if checkpoint is not None:
            name, ts, payload = checkpoint
            run(
                m.checkpoints,
                self._upsert_checkpoint,
                [{"name": name, "ts": ts, "payload": payload, "updated_at": ts}],
            )
