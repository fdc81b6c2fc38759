"""What an investor sees of one account: portfolio, positions, orders, trades, equity, rejections.

Live figures come from the running engine (read on the event loop, between candles); history
comes from the store through :mod:`rampart.store.queries`, read in a worker thread so a slow
database never stalls trading. The store is written in batches at checkpoints, so the newest
orders and rejections are merged in from the engine's own recent lists, and the equity curve
ends with the live equity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from rampart.domain.errors import RampartError, StoreError
from rampart.domain.events import CapitalChanged, EquitySnapshot
from rampart.domain.money import ZERO
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.domain.positions import ClosedTrade
from rampart.operator.profit import (
    MAX_DAYS,
    MAX_WEEKS,
    SymbolPnl,
    per_symbol,
    summarize,
)
from rampart.operator.returns import account_returns
from rampart.operator.view_types import (
    EquityPointView,
    Portfolio,
    PositionView,
    ProfitView,
    RejectionView,
    TradeView,
    trade_view,
)
from rampart.store import queries
from rampart.store.records import AccountEventRecord, EquityPoint
from rampart.store.unsaved import merge_trades, pending_batches, unsaved_orders, unsaved_trades
from rampart.trading.account import AccountRuntime
from rampart.trading.protection_state import read as read_protection

if TYPE_CHECKING:
    from rampart.operator.session import Session as TradingSession
    from rampart.trading.engine import Engine

DAY_MS = 86_400_000
MAX_ITEMS = 1_000


class UnknownAccount(RampartError):
    """The account is not running in this service."""


def _clamp(limit: int) -> int:
    if isinstance(limit, bool) or not 1 <= limit <= MAX_ITEMS:
        raise RampartError(f"The limit must be a whole number from 1 to {MAX_ITEMS:,}.")
    return limit


class InvestorViews:
    def __init__(self, session: TradingSession) -> None:
        self._session = session
        self._day_open: dict[tuple[str, int], Decimal] = {}
        """Equity when a (business) day began, per account: the last snapshot at or before it."""
        self._last: dict[str, tuple[int, Decimal]] = {}
        """The newest equity snapshot seen per account (from the bus, or seeded from the store)."""
        self._seeded: set[str] = set()
        self._flows: dict[tuple[str, int], Decimal] = {}
        """Money put in (+) or taken out (−) per account and day: not PnL."""
        self._flows_seen: set[tuple[str, int, str, str]] = set()
        """Changes already counted (from the bus, or the store), so none is counted twice."""
        session.bus.subscribe(self._on_event)

    def _on_event(self, event: object) -> None:
        # Equity snapshots are hourly per account, so following them costs nothing, and it
        # keeps "PnL today" off the database on every portfolio request.
        if type(event) is EquitySnapshot:
            self._note(event.account_id, event.ts, event.equity)
        elif type(event) is CapitalChanged:
            self._flow(event)

    def _flow(self, event: CapitalChanged) -> None:
        self._add_flow(event.account_id, event.ts, str(event.old), str(event.new))

    def _add_flow(self, account_id: str, ts: int, old: str, new: str) -> None:
        seen = (account_id, ts, old, new)
        if seen in self._flows_seen:
            return
        self._flows_seen.add(seen)
        key = (account_id, ts // DAY_MS * DAY_MS)
        self._flows[key] = self._flows.get(key, ZERO) + Decimal(new) - Decimal(old)

    def _note(self, account_id: str, ts: int, equity: Decimal) -> None:
        day = ts // DAY_MS * DAY_MS
        last = self._last.get(account_id)
        if ts == day:
            self._day_open[(account_id, day)] = equity
        elif last is not None and last[0] <= day:
            self._day_open.setdefault((account_id, day), last[1])
        if last is None or ts >= last[0]:
            self._last[account_id] = (ts, equity)

    @property
    def _engine(self) -> Engine:
        return self._session.engine

    def account(self, account_id: str) -> AccountRuntime:
        acct = self._engine.accounts.get(account_id)
        if acct is None:
            raise UnknownAccount(f"There is no account called {account_id!r}.")
        return acct

    def account_ids(self) -> list[str]:
        return sorted(self._engine.accounts)

    # -- portfolio ----------------------------------------------------------------------------

    async def portfolio(self, account_id: str) -> Portfolio:
        self.account(account_id)
        if account_id not in self._seeded:
            # Once per account per process: what the store saved before this process started.
            day = self._session.clock.now_ms() // DAY_MS * DAY_MS
            points = await asyncio.to_thread(
                queries.equity_history, self._session.db, account_id, day - DAY_MS
            )
            changes = await asyncio.to_thread(
                queries.account_events, self._session.db, account_id, "capital", 100
            )
            self._seed(account_id, day, points)
            self._seed_flows(account_id, day, changes)
        # Read the engine only after the await: everything below is one consistent moment.
        acct = self.account(account_id)
        now = self._session.clock.now_ms()
        day = now // DAY_MS * DAY_MS
        opening = self._opening(account_id, day)
        marks = self._engine.marks
        ledger = acct.ledger
        value = ledger.positions_value(marks)
        equity = ledger.cash + value
        unrealized = sum(
            (p.unrealized(marks.get(s, p.avg_price)) for s, p in ledger.positions.items()), ZERO
        )
        return Portfolio(
            account_id=acct.account_id,
            owner=acct.spec.owner,
            quote=acct.spec.quote,
            capital=acct.spec.capital,
            equity=equity,
            cash=ledger.cash,
            positions_value=value,
            realized_pnl=ledger.realized_pnl,
            unrealized_pnl=unrealized,
            pnl_today=(
                equity - opening - self._flows.get((account_id, day), ZERO)
                if opening is not None
                else equity - acct.spec.capital
            ),
            fees_paid=ledger.fees_paid,
            open_positions=len(ledger.positions),
            working_orders=sum(1 for _ in acct.open_orders()),
            state=acct.state.value,
            paused=acct.paused,
            pause_reason=acct.pause_reason,
            kill_switch=self._engine.controls.global_kill,
            as_of=now,
            restrictions=tuple(self._engine.controls.restrictions(acct)),
        )

    def _opening(self, account_id: str, day: int) -> Decimal | None:
        """The last recorded equity at or before the day began; None for an account with no
        record before today (it started today, so its capital is where the day began)."""
        found = self._day_open.get((account_id, day))
        if found is not None:
            return found
        last = self._last.get(account_id)
        if last is not None and last[0] <= day:
            return last[1]
        return None

    def _seed_flows(self, account_id: str, day: int, changes: list[AccountEventRecord]) -> None:
        for change in changes:
            if change.ts >= day:
                self._add_flow(account_id, change.ts, change.old, change.new)

    def _seed(self, account_id: str, day: int, points: list[EquityPoint]) -> None:
        before = [p for p in points if p.ts <= day]
        if before:
            self._day_open.setdefault((account_id, day), before[-1].equity)
        if points and account_id not in self._last:
            self._last[account_id] = (points[-1].ts, points[-1].equity)
        self._seeded.add(account_id)

    # -- live state ---------------------------------------------------------------------------

    def positions(self, account_id: str) -> list[PositionView]:
        acct = self.account(account_id)
        engine = self._engine
        marks = engine.marks
        now = engine.clock.now_ms()
        result = []
        for symbol in sorted(acct.ledger.positions):
            pos = acct.ledger.positions[symbol]
            mark = marks.get(symbol, pos.avg_price)
            guard = read_protection(acct, pos, engine.venue.instrument(symbol).floor_qty, now)
            result.append(
                PositionView(
                    symbol=symbol,
                    qty=pos.qty,
                    avg_price=pos.avg_price,
                    mark=mark,
                    market_value=pos.market_value(mark),
                    unrealized_pnl=pos.unrealized(mark),
                    stop_loss=pos.stop_loss,
                    take_profit=pos.take_profit,
                    opened_at=pos.opened_at,
                    strategy=pos.strategy,
                    protection=guard.cover.value,
                    protection_text=guard.text,
                    unprotected_since=guard.since,
                    resting_stop=guard.resting_stop,
                )
            )
        return result

    async def orders(
        self, account_id: str, limit: int = 50, open_only: bool = False
    ) -> list[Order]:
        """Newest first by last update. Open orders are the engine's; finished ones come from
        the engine's recent list, the writer's buffer and the store, newest state winning."""
        limit = _clamp(limit)
        acct = self.account(account_id)
        if open_only:
            live = [o.snapshot() for o in acct.orders.values()]
            return sorted(live, key=_order_key, reverse=True)[:limit]
        unsaved = unsaved_orders(pending_batches(self._session.writer), account_id)
        stored = await asyncio.to_thread(queries.recent_orders, self._session.db, account_id, limit)
        acct = self.account(account_id)
        merged = {o.client_id: o for o in stored}
        merged.update((o.client_id, o) for o in unsaved)
        merged.update((o.client_id, o.snapshot()) for o in acct.recent_orders)
        merged.update((o.client_id, o.snapshot()) for o in acct.orders.values())
        return sorted(merged.values(), key=_order_key, reverse=True)[:limit]

    async def trades(
        self, account_id: str, limit: int = 50, since: int | None = None
    ) -> list[TradeView]:
        """Closed trades, most recently closed first, up to the last candle processed (the
        store's rows and those the writer holds until the next checkpoint)."""
        limit = _clamp(limit)
        found = (await self._all_trades(account_id, since, limit))[:limit]
        return await self._trade_views(account_id, found)

    async def _all_trades(
        self, account_id: str, since: int | None = None, limit: int | None = None
    ) -> list[ClosedTrade]:
        """The account's closed trades, newest first: the store's (its newest ``limit``, when
        given: the buffered ones are newer still) and the writer's buffered ones."""
        self.account(account_id)
        # The buffer is taken before the query: a batch committed in between is seen twice
        # and merged once, never missed.
        unsaved = unsaved_trades(pending_batches(self._session.writer), account_id, since)
        found = await asyncio.to_thread(queries.trades, self._session.db, account_id, since, limit)
        return merge_trades(found, unsaved)

    async def _trade_views(self, account_id: str, trades: list[ClosedTrade]) -> list[TradeView]:
        """Each trade with the reason of the market order that closed it (if one did)."""
        ids = sorted({t.entry_client_id for t in trades if t.exit_reason == "exit"})
        unsaved = unsaved_orders(pending_batches(self._session.writer), account_id)
        reasons = await asyncio.to_thread(queries.exit_reasons, self._session.db, account_id, ids)
        acct = self.account(account_id)
        wanted = set(ids)
        for order in [*unsaved, *acct.recent_orders, *acct.orders.values()]:
            if (
                order.role is OrderRole.EXIT
                and order.status is OrderStatus.FILLED
                and order.parent_id in wanted
            ):
                reasons[order.parent_id] = order.reason
        return [trade_view(t, reasons.get(t.entry_client_id)) for t in trades]

    async def created_at(self, account_id: str) -> int:
        """When the account began on business time: the store's record, the writer's buffered
        row for an account not saved yet, or now for one neither has seen."""
        self.account(account_id)
        buffered = [
            int(batch.accounts[account_id]["created_at"])
            for batch in pending_batches(self._session.writer)
            if account_id in batch.accounts
        ]
        stored = await asyncio.to_thread(queries.account_created, self._session.db, account_id)
        known = [*buffered, *([stored] if stored is not None else [])]
        return min(known) if known else self._session.clock.now_ms()

    async def profit(self, account_id: str, days: int = 7, weeks: int = 4) -> ProfitView:
        """Realised PnL today, this week and all time (business days), per day and per week,
        win rate, best and worst trade, and the open positions' unrealised PnL."""
        if isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
            raise RampartError(f"The number of days must be a whole number from 1 to {MAX_DAYS}.")
        if isinstance(weeks, bool) or not 1 <= weeks <= MAX_WEEKS:
            raise RampartError(f"The number of weeks must be a whole number from 1 to {MAX_WEEKS}.")
        created = await self.created_at(account_id)
        trades = await self._all_trades(account_id)
        history = await asyncio.to_thread(queries.equity_history, self._session.db, account_id)
        flows = await self._capital_flows(account_id)
        # The engine is read after the last await: the figures are one moment's.
        acct = self.account(account_id)
        now = self._session.clock.now_ms()
        marks = self._engine.marks
        unrealized = sum(
            (p.unrealized(marks.get(s, p.avg_price)) for s, p in acct.ledger.positions.items()),
            ZERO,
        )
        figures = summarize(trades, now, created, days, weeks)
        returns = account_returns(
            account_id,
            [(p.ts, p.equity) for p in history],
            flows,
            created=created,
            capital=acct.ledger.capital,  # moved by /invest and by deposits on the exchange
            now=now,
            equity=self._engine.equity(account_id),
        )
        best: TradeView | None = None
        worst: TradeView | None = None
        if figures.best is not None and figures.worst is not None:
            best, worst = await self._trade_views(account_id, [figures.best, figures.worst])
        return ProfitView(
            account_id=account_id,
            quote=acct.spec.quote,
            as_of=now,
            since=created,
            realized_today=figures.realized_today,
            realized_week=figures.realized_week,
            realized_all=figures.realized_all,
            unrealized_pnl=unrealized,
            trades=figures.trades,
            wins=figures.wins,
            losses=figures.losses,
            win_rate=figures.win_rate,
            fees=figures.fees,
            best=best,
            worst=worst,
            days=figures.days,
            weeks=figures.weeks,
            return_today=returns.today,
            return_week=returns.week,
            return_all=returns.all,
        )

    async def performance(self, account_id: str) -> list[SymbolPnl]:
        """Realised PnL per symbol over every closed trade, best first (current to the last
        candle, as :meth:`profit` is)."""
        return per_symbol(await self._all_trades(account_id))

    async def _capital_flows(self, account_id: str) -> list[tuple[int, Decimal]]:
        """Every deposit (+) and withdrawal (−): the store's and those seen on the bus since."""
        stored = await asyncio.to_thread(
            queries.account_events, self._session.db, account_id, "capital", queries.MAX_LIMIT
        )
        seen = {(c.ts, c.old, c.new) for c in stored}
        seen |= {(ts, old, new) for a, ts, old, new in self._flows_seen if a == account_id}
        return sorted((ts, Decimal(new) - Decimal(old)) for ts, old, new in seen)

    async def equity(
        self, account_id: str, limit: int = 500, since: int | None = None
    ) -> list[EquityPointView]:
        """The equity curve, oldest first, ending with the live equity."""
        limit = _clamp(limit)
        self.account(account_id)
        found = await asyncio.to_thread(
            queries.equity_history, self._session.db, account_id, since, limit
        )
        points = [EquityPointView(p.ts, p.equity) for p in found]
        now = self._session.clock.now_ms()
        if not points or points[-1].ts < now:
            points.append(EquityPointView(now, self._engine.equity(account_id)))
        return points[-limit:]

    async def rejections(self, account_id: str, limit: int = 50) -> list[RejectionView]:
        """Why intents were refused, newest first, with the reason in words."""
        limit = _clamp(limit)
        self.account(account_id)
        try:
            stored = await asyncio.to_thread(
                queries.recent_rejections, self._session.db, account_id, limit
            )
        except StoreError:
            # A database outage is itself a reason entries are refused (store_unavailable):
            # the engine's own recent list still answers /why while the store cannot.
            stored = []
        acct = self.account(account_id)
        views = [RejectionView(r.ts, r.symbol, r.code, r.message, r.agent) for r in stored]
        views += [
            RejectionView(r.ts, r.symbol, r.code, r.message, r.agent) for r in acct.rejections
        ]
        return _newest_unique(views)[:limit]


def _order_key(order: Order) -> tuple[int, str]:
    return order.updated_at, order.client_id


def _newest_unique(items: Iterable[RejectionView]) -> list[RejectionView]:
    seen: dict[tuple[int, str, str, str], RejectionView] = {}
    for item in items:
        seen.setdefault((item.ts, item.symbol, item.code, item.message), item)
    return sorted(seen.values(), key=lambda r: r.ts, reverse=True)
