"""What a remote exchange itself says, for the remote soak's verdict.

A soak against a real exchange (its testnet) has no window into the exchange's state but its
API: the judgement is made from what the exchange answers, read with clients of the soak's own
(the same keys, not the venue adapter the engine trades through), and compared with the books:

- in quiet spells (no order of the engine unconfirmed), the balances and open orders of every
  account against the books, exactly, besides the reconciliation's own verdict;
- on every candle, that every coin held is covered by a live stop-loss of the run's own;
- at the end, every order and trade of the run (read back in windows the exchange accepts: at
  most 24 hours for Binance) against the orders the engine registered and the fills it booked:
  none lost, none twice.

Only the run's own orders count: each run trades under account ids of its own, so its client
order ids never meet an earlier run's.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rampart.clock import WallClock
from rampart.domain.events import Event, FillBooked, OrderUpdated, ReconciliationRepaired
from rampart.domain.money import ZERO
from rampart.domain.orders import OrderRole, OrderStatus
from rampart.trading.account import AccountRuntime
from rampart.trading.engine import Engine
from rampart.trading.reconcile.books import UNSETTLED, parse_client_id, seq_of
from rampart.trading.reconcile.reconciler import DEFAULT_TOLERANCE
from rampart.venues.ccxt_errors import CcxtCaller, Op
from rampart.venues.ccxt_mapping import num
from rampart.venues.retry import RetryPolicy
from rampart_testkit.soak.verify import Accounting

WINDOW_MS = 12 * 3_600_000
"""History is read in windows of this length: Binance refuses a window longer than 24 hours."""
PAGE = 1000
"""The most orders or trades Binance returns for one request."""
STOP_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT"})
"""Binance's own names of a resting stop-loss (an OCO's stop leg is a STOP_LOSS_LIMIT); ccxt
calls a stop-limit "limit", so the exchange's word is read from the order's ``info``."""
READ_POLICY = RetryPolicy(attempts=4, base_s=0.5, cap_s=5.0)


@dataclass
class AccountState:
    """One account on the exchange: total of every asset, and the open orders of the traded
    symbols (ccxt's order structures)."""

    totals: dict[str, Decimal]
    open: list[dict[str, Any]]


def _remaining(order: Mapping[str, Any]) -> Decimal:
    left = num(order.get("remaining"))
    if left is not None:
        return left
    return (num(order.get("amount")) or ZERO) - (num(order.get("filled")) or ZERO)


class VenueReader:
    """Reads through ``clients`` (account id -> ccxt client), retrying what is safe to retry."""

    def __init__(self, clients: Mapping[str, Any], symbols: Iterable[str], exchange: str) -> None:
        self.clients = dict(clients)
        self.symbols = list(symbols)
        self.caller = CcxtCaller(exchange, WallClock(), READ_POLICY)

    async def _read(self, client: Any, what: str, fn: Any) -> Any:
        return await self.caller.call(client, what, Op.READ, fn)

    async def state(self, account_id: str) -> AccountState:
        client = self.clients[account_id]
        balance = await self._read(client, "fetch_balance", lambda: client.fetch_balance())
        totals = {str(a): num(v) or ZERO for a, v in (balance.get("total") or {}).items() if num(v)}
        opened: list[dict[str, Any]] = []
        for symbol in self.symbols:
            opened.extend(
                await self._read(
                    client, "fetch_open_orders", lambda s=symbol: client.fetch_open_orders(s)
                )
            )
        return AccountState(totals, opened)

    async def states(self) -> dict[str, AccountState]:
        """Every account at once (each has its own client, paced by its own rate limit)."""
        found = await asyncio.gather(*(self.state(a) for a in self.clients))
        return dict(zip(self.clients, found, strict=True))

    async def _paged(self, client: Any, method: str, symbol: str, start: int, end: int) -> list:
        """Every item of ``method`` for ``symbol`` between ``start`` and ``end`` (ms)."""
        out: dict[str, dict[str, Any]] = {}
        for window in range(start, end + 1, WINDOW_MS):
            until = min(window + WINDOW_MS - 1, end)
            since = window
            while since <= until:
                page = await self._read(
                    client,
                    method,
                    lambda since=since, until=until: getattr(client, method)(
                        symbol, since, PAGE, {"until": until}
                    ),
                )
                for item in page:
                    out[str(item.get("id"))] = item
                if len(page) < PAGE:
                    break
                since = max(int(i.get("timestamp") or since) for i in page) + 1
        return list(out.values())

    async def history(
        self, account_id: str, start: int, end: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every order placed and every trade made between ``start`` and ``end``."""
        client = self.clients[account_id]
        orders: list[dict[str, Any]] = []
        trades: list[dict[str, Any]] = []
        for symbol in self.symbols:
            orders += await self._paged(client, "fetch_orders", symbol, start, end)
            trades += await self._paged(client, "fetch_my_trades", symbol, start, end)
        return orders, trades

    async def close(self) -> None:
        for client in self.clients.values():
            try:
                await client.close()
            except Exception:  # noqa: S112 - closing is best effort; the run's verdict is already made
                continue


# -- what the engine did -------------------------------------------------------------------------


@dataclass
class RunLedger:
    """Bus subscriber: every order the engine registered (by sequence number) and every fill it
    booked (by the exchange's trade id, with how often), for the whole run."""

    orders: dict[str, set[int]] = field(default_factory=dict)
    fills: dict[str, Counter[str]] = field(default_factory=dict)
    orders_registered: int = 0
    fills_booked: int = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, OrderUpdated):
            order = event.order
            if event.previous is OrderStatus.NEW and order.status is OrderStatus.NEW:
                self.orders_registered += 1
                self.orders.setdefault(order.account_id, set()).add(seq_of(order.client_id))
        elif isinstance(event, ReconciliationRepaired):
            # An order the books lost track of and reconciliation put back is known again.
            if event.kind == "order_adopted" and event.client_id:
                self.orders.setdefault(event.account_id, set()).add(seq_of(event.client_id))
        elif isinstance(event, FillBooked):
            self.fills_booked += 1
            trade = event.fill.fill_id.rsplit(":", 1)[-1]
            self.fills.setdefault(event.fill.account_id, Counter())[trade] += 1

    def size_mb(self) -> float:
        """What this record holds, in MB: harness data, told apart from Rampart's memory."""
        total = sum(sys.getsizeof(s) + sum(map(sys.getsizeof, s)) for s in self.orders.values())
        total += sum(
            sys.getsizeof(c) + sum(sys.getsizeof(k) + 28 for k in c) for c in self.fills.values()
        )
        return total / 1e6


def account(
    engine: Engine,
    ledger: RunLedger,
    history: Mapping[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]],
) -> Accounting:
    """Lost and duplicated orders and fills: the exchange's records of the run against the
    engine's."""
    out = Accounting()
    for account_id, acct in engine.accounts.items():
        orders, trades = history[account_id]
        ours = [o for o in orders if parse_client_id(account_id, str(o.get("clientOrderId")))]
        ids = [str(o.get("clientOrderId")) for o in ours]
        out.duplicated_orders += len(ids) - len(set(ids))
        known = ledger.orders.get(account_id, set())
        lost = sorted(c for c in set(ids) if seq_of(c) not in known)
        out.lost_orders += len(lost)
        out.details.extend(f"{account_id}: order {c} is on the exchange only" for c in lost[:3])
        order_ids = {str(o.get("id")) for o in ours}
        made = {str(t.get("id")) for t in trades if str(t.get("order")) in order_ids}
        booked = ledger.fills.get(account_id, Counter())
        out.lost_fills += len(made - set(booked))
        out.duplicated_fills += len(set(booked) - made)  # booked, but no trade explains it
        out.duplicated_fills += sum(n - 1 for n in booked.values() if n > 1)
        out.unresolved_orders += sum(1 for o in acct.orders.values() if o.status in UNSETTLED)
        out.orders_on_exchange += len(ours)
        out.fills_on_exchange += len(made)
    return out


# -- the books against the exchange -------------------------------------------------------------


def is_stop(order: Mapping[str, Any]) -> bool:
    """A stop-loss order: by the exchange's own type where it gives one (Binance), else by
    ccxt's stop-loss or trigger price."""
    info = order.get("info")
    raw = info.get("type") if isinstance(info, dict) else None
    if isinstance(raw, str):
        return raw.upper() in STOP_TYPES
    return order.get("stopLossPrice") is not None or order.get("triggerPrice") is not None


def _own(account_id: str, order: Mapping[str, Any]) -> bool:
    return parse_client_id(account_id, str(order.get("clientOrderId"))) is not None


def books_differences(
    engine: Engine, states: Mapping[str, AccountState], held: set[str]
) -> list[str]:
    """Every difference between the books and what the exchange answered (to its 8 decimals:
    ccxt carries balances as floats). Orders the venue adapter holds itself (``held``) and
    orders not of this run are left out."""
    out: list[str] = []
    for account_id, acct in engine.accounts.items():
        state = states[account_id]
        quote = acct.spec.quote
        cash = state.totals.get(quote, ZERO)
        if abs(acct.ledger.cash - cash) > DEFAULT_TOLERANCE:
            out.append(
                f"{account_id}: cash {acct.ledger.cash} in the books, {cash} on the exchange"
            )
        for symbol in acct.spec.symbols:
            base = engine.venue.instrument(symbol).base
            pos = acct.ledger.positions.get(symbol)
            # Coins bought by hand are held apart, and dust (less than a lot, left by a fee
            # taken in the coin) is carried apart: on the exchange, never in the position.
            have = (
                (pos.qty if pos else ZERO)
                + acct.held_apart.get(symbol, ZERO)
                + acct.ledger.dust.get(symbol, ZERO)
            )
            there = state.totals.get(base, ZERO)
            if abs(have - there) > DEFAULT_TOLERANCE:
                out.append(
                    f"{account_id}: {symbol} position {have} in the books, {there} on the exchange"
                )
        local = {c: o for c, o in acct.orders.items() if c not in held}
        remote = {str(o["clientOrderId"]): o for o in state.open if _own(account_id, o)}
        for cid in sorted(set(local) ^ set(remote)):
            where = "the books" if cid in local else "the exchange"
            out.append(f"{account_id}: order {cid} open only in {where}")
        for cid in set(local) & set(remote):
            if local[cid].filled_qty != (num(remote[cid].get("filled")) or ZERO):
                out.append(f"{account_id}: order {cid} filled quantities differ")
    return out


@dataclass
class RemoteProtection:
    """Every coin an account holds on the exchange (bar those held apart) is covered by one of
    the run's stop-losses resting there, or on its way to one (as
    :class:`~rampart_testkit.soak.verify.Protection` judges it on the simulator)."""

    checks: int = 0
    on_exchange: int = 0
    pending: int = 0
    monitored: int = 0
    unprotected: int = 0
    doubled: int = 0
    samples: list[str] = field(default_factory=list)

    def check(self, engine: Engine, states: Mapping[str, AccountState]) -> None:
        for account_id, acct in engine.accounts.items():
            state = states[account_id]
            for symbol in acct.spec.symbols:
                base = engine.venue.instrument(symbol).base
                apart = acct.held_apart.get(symbol, ZERO) + acct.ledger.dust.get(symbol, ZERO)
                held = state.totals.get(base, ZERO) - apart
                if held <= ZERO and symbol not in acct.ledger.positions:
                    continue
                self.checks += 1
                stops = [
                    _remaining(o)
                    for o in state.open
                    if o.get("symbol") == symbol
                    and o.get("side") == "sell"
                    and is_stop(o)
                    and _own(account_id, o)
                ]
                self._judge(engine, acct, symbol, held, stops)

    def _judge(
        self,
        engine: Engine,
        acct: AccountRuntime,
        symbol: str,
        held: Decimal,
        stops: list[Decimal],
    ) -> None:
        if len(stops) > 1:
            self.doubled += 1
        # A stop sells whole lots: what is left below one lot (a fee taken in the coin leaves
        # some) no order could sell.
        lots = engine.venue.instrument(symbol).floor_qty
        if any(left >= lots(held) for left in stops):
            self.on_exchange += 1
            return
        pos = acct.ledger.positions.get(symbol)
        booked = pos.qty if pos else ZERO
        orders = [o for o in acct.orders.values() if o.symbol == symbol]
        # The exchange does not wait for the engine: an entry fills there between two polls,
        # a stop fills before the books hear of it. What the engine could not know yet is on
        # its way to protection, as long as the order that explains it is still working.
        filling = any(o.role is OrderRole.ENTRY and o.is_open for o in orders)
        working = any(
            o.role is OrderRole.EXIT
            or (o.role is OrderRole.STOP_LOSS and o.status in UNSETTLED)
            or (o.role is OrderRole.ENTRY and o.status in UNSETTLED)
            for o in orders
        )
        # Booked quantities carry the fee's decimals (a buy's commission is taken in the coin);
        # the stop that covers them sells whole lots.
        covered = any(left >= lots(booked) for left in stops) and booked > ZERO
        if held < booked or working or (held > booked and filling and (covered or not booked)):
            self.pending += 1
        elif (
            held < engine.venue.instrument(symbol).min_qty
            or symbol in acct.guarded
            or (pos is not None and engine.executor.is_dust(pos))
        ):
            self.monitored += 1
        else:
            self.unprotected += 1
            if len(self.samples) < 10:
                self.samples.append(f"{acct.account_id} {symbol} holds {held}, books {booked}")


def open_orders_problem(states: Mapping[str, AccountState], names: Mapping[str, str]) -> str | None:
    """A sentence when an account already has open orders on the traded symbols: the soak's
    verdict is every order on the account, so it starts from none."""
    for account_id, state in states.items():
        if state.open:
            symbols = sorted({str(o.get("symbol")) for o in state.open})
            return (
                f"The account of {names.get(account_id, account_id)} already has "
                f"{len(state.open)} open orders on {', '.join(symbols)}: cancel them (or use "
                "another testnet account) before a remote soak, which judges every order it sees."
            )
    return None


__all__ = [
    "AccountState",
    "RemoteProtection",
    "RunLedger",
    "VenueReader",
    "account",
    "books_differences",
    "open_orders_problem",
]
