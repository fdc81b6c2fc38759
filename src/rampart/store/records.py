"""What the read side returns: domain objects where one exists, small frozen records otherwise.

Money is Decimal everywhere; timestamps are UTC milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from rampart.domain.accounts import AccountSpec
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.domain.positions import ClosedTrade, Position


@dataclass(frozen=True, slots=True)
class AccountRecord:
    account_id: str
    owner: str
    agent: str
    profile: str
    capital: Decimal
    quote: str
    symbols: tuple[str, ...]
    state: str
    paused: bool
    created_at: int
    updated_at: int

    @property
    def spec(self) -> AccountSpec:
        return AccountSpec(
            account_id=self.account_id,
            agent=self.agent,
            profile=self.profile,
            capital=self.capital,
            symbols=self.symbols,
            owner=self.owner,
            quote=self.quote,
        )


@dataclass(frozen=True, slots=True)
class PositionRecord:
    account_id: str
    position: Position
    updated_at: int

    @property
    def symbol(self) -> str:
        return self.position.symbol


@dataclass(frozen=True, slots=True)
class FillRecord:
    fill: Fill
    role: str
    strategy: str


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    client_id: str
    account_id: str
    ts: int
    previous: OrderStatus
    status: OrderStatus


@dataclass(frozen=True, slots=True)
class RejectionRecord:
    id: int
    account_id: str
    symbol: str
    agent: str
    side: Side
    code: str
    message: str
    entry_price: Decimal
    stop_loss: Decimal
    take_profit: Decimal
    ts: int


@dataclass(frozen=True, slots=True)
class EquityRecord:
    account_id: str
    ts: int
    cash: Decimal
    positions_value: Decimal
    equity: Decimal
    realized_pnl: Decimal


class EquityPoint(NamedTuple):
    """One point of an equity curve; unpacks as ``ts, equity``."""

    ts: int
    equity: Decimal


@dataclass(frozen=True, slots=True)
class AccountEventRecord:
    id: int
    scope: str
    kind: str
    old: str
    new: str
    reason: str
    actor: str
    flatten: bool
    ts: int


def account_record(row: Any) -> AccountRecord:
    return AccountRecord(
        account_id=row.account_id,
        owner=row.owner,
        agent=row.agent,
        profile=row.profile,
        capital=row.capital,
        quote=row.quote,
        symbols=tuple(row.symbols),
        state=row.state,
        paused=bool(row.paused),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def order_from_row(row: Any, history: list[tuple[int, OrderStatus]]) -> Order:
    return Order(
        client_id=row.client_id,
        account_id=row.account_id,
        symbol=row.symbol,
        side=Side(row.side),
        type=OrderType(row.type),
        qty=row.qty,
        role=OrderRole(row.role),
        price=row.price,
        stop_price=row.stop_price,
        status=OrderStatus(row.status),
        filled_qty=row.filled_qty,
        avg_fill_price=row.avg_fill_price,
        fees=row.fees,
        venue_order_id=row.venue_order_id,
        oco_group=row.oco_group,
        parent_id=row.parent_id,
        strategy=row.strategy,
        created_at=row.created_at,
        updated_at=row.updated_at,
        reason=row.reason,
        history=history,
    )


def transition_record(row: Any) -> TransitionRecord:
    return TransitionRecord(
        client_id=row.client_id,
        account_id=row.account_id,
        ts=row.ts,
        previous=OrderStatus(row.previous),
        status=OrderStatus(row.status),
    )


def position_record(row: Any) -> PositionRecord:
    position = Position(
        symbol=row.symbol,
        strategy=row.strategy,
        entry_client_id=row.entry_client_id,
        opened_at=row.opened_at,
        stop_loss=row.stop_loss,
        take_profit=row.take_profit,
        qty=row.qty,
        avg_price=row.avg_price,
        bought_qty=row.bought_qty,
        bought_value=row.bought_value,
        sold_qty=row.sold_qty,
        sold_value=row.sold_value,
        realized_gross=row.realized_gross,
        entry_fees=row.entry_fees,
        exit_fees=row.exit_fees,
        initial_stop=row.initial_stop,
        entries=row.entries,
        exits=row.exits,
        last_buy=row.last_buy,
        last_sell=row.last_sell,
    )
    return PositionRecord(account_id=row.account_id, position=position, updated_at=row.updated_at)


def fill_record(row: Any) -> FillRecord:
    fill = Fill(
        fill_id=row.fill_id,
        client_id=row.client_id,
        account_id=row.account_id,
        symbol=row.symbol,
        side=Side(row.side),
        qty=row.qty,
        price=row.price,
        fee=row.fee,
        liquidity=Liquidity(row.liquidity),
        ts=row.ts,
    )
    return FillRecord(fill=fill, role=row.role, strategy=row.strategy)


def trade_from_row(row: Any) -> ClosedTrade:
    return ClosedTrade(
        account_id=row.account_id,
        symbol=row.symbol,
        strategy=row.strategy,
        entry_client_id=row.entry_client_id,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        qty=row.qty,
        entry_price=row.entry_price,
        exit_price=row.exit_price,
        gross_pnl=row.gross_pnl,
        fees=row.fees,
        pnl=row.pnl,
        exit_reason=row.exit_reason,
        stop_loss=row.stop_loss,
        take_profit=row.take_profit,
        risk=row.risk,
        final_stop=row.final_stop,
        entries=row.entries,
        exits=row.exits,
    )


def intent_from_row(row: Any) -> Intent:
    return Intent(
        account_id=row.account_id,
        symbol=row.symbol,
        side=Side(row.side),
        action=IntentAction(row.action),
        entry_price=row.entry_price,
        stop_loss=row.stop_loss,
        take_profit=row.take_profit,
        size_hint=row.size_hint,
        confidence=row.confidence,
        rationale=row.rationale,
        agent=row.agent,
        ts=row.ts,
    )


def rejection_record(row: Any) -> RejectionRecord:
    return RejectionRecord(
        id=row.id,
        account_id=row.account_id,
        symbol=row.symbol,
        agent=row.agent,
        side=Side(row.side),
        code=row.code,
        message=row.message,
        entry_price=row.entry_price,
        stop_loss=row.stop_loss,
        take_profit=row.take_profit,
        ts=row.ts,
    )


def equity_record(row: Any) -> EquityRecord:
    return EquityRecord(
        account_id=row.account_id,
        ts=row.ts,
        cash=row.cash,
        positions_value=row.positions_value,
        equity=row.equity,
        realized_pnl=row.realized_pnl,
    )


def account_event_record(row: Any) -> AccountEventRecord:
    return AccountEventRecord(
        id=row.id,
        scope=row.scope,
        kind=row.kind,
        old=row.old,
        new=row.new,
        reason=row.reason,
        actor=row.actor,
        flatten=bool(row.flatten),
        ts=row.ts,
    )
