"""Real domain objects for store tests, built through the domain's own operations."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from rampart.domain.accounts import AccountSpec
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side, client_order_id
from rampart.domain.positions import ClosedTrade, Ledger, Position

T0 = 1_700_000_000_000
ACCOUNT = "alice"
SYMBOL = "ETH/BTC"


def spec(account_id: str = ACCOUNT, capital: str = "10.5") -> AccountSpec:
    return AccountSpec(
        account_id=account_id,
        agent="breakout",
        profile="moderate",
        capital=Decimal(capital),
        symbols=("ETH/BTC", "LTC/BTC"),
        owner="alice@example",
        quote="BTC",
    )


def entry_order(seq: int = 1, account_id: str = ACCOUNT, qty: str = "0.300") -> Order:
    return Order(
        client_id=client_order_id(account_id, seq, OrderRole.ENTRY),
        account_id=account_id,
        symbol=SYMBOL,
        side=Side.BUY,
        type=OrderType.LIMIT,
        qty=Decimal(qty),
        role=OrderRole.ENTRY,
        price=Decimal("0.09123"),
        strategy="breakout",
        created_at=T0,
        updated_at=T0,
    )


def stop_order(parent: Order, seq: int = 2) -> Order:
    return Order(
        client_id=client_order_id(parent.account_id, seq, OrderRole.STOP_LOSS),
        account_id=parent.account_id,
        symbol=parent.symbol,
        side=Side.SELL,
        type=OrderType.STOP_MARKET,
        qty=parent.qty,
        role=OrderRole.STOP_LOSS,
        stop_price=Decimal("0.08800"),
        oco_group="oco-1",
        parent_id=parent.client_id,
        strategy=parent.strategy,
        created_at=T0 + 1,
        updated_at=T0 + 1,
    )


def fill_for(
    order: Order, fill_id: str, qty: str, price: str, ts: int, fee: str = "0.0000273"
) -> Fill:
    return Fill(
        fill_id=fill_id,
        client_id=order.client_id,
        account_id=order.account_id,
        symbol=order.symbol,
        side=order.side,
        qty=Decimal(qty),
        price=Decimal(price),
        fee=Decimal(fee),
        liquidity=Liquidity.MAKER if order.type is OrderType.LIMIT else Liquidity.TAKER,
        ts=ts,
    )


def filled_entry(account_id: str = ACCOUNT) -> tuple[Order, list[Order], Fill, Fill]:
    """An entry submitted then filled in two parts; returns the order, its snapshots, fills."""
    order = entry_order(account_id=account_id)
    snapshots = [order.snapshot()]
    order.transition(OrderStatus.SUBMITTED, T0 + 10)
    snapshots.append(order.snapshot())
    first = fill_for(order, "f-1", "0.100", "0.09120", T0 + 20)
    order.record_fill(first.qty, first.price, first.fee, first.ts)
    snapshots.append(order.snapshot())
    second = fill_for(order, "f-2", "0.200", "0.09121", T0 + 30)
    order.record_fill(second.qty, second.price, second.fee, second.ts)
    snapshots.append(order.snapshot())
    return order, snapshots, first, second


def round_trip(account_id: str = ACCOUNT) -> tuple[Position, ClosedTrade]:
    """A position opened by two buys and closed by a sell, through the real ledger."""
    ledger = Ledger.open(account_id, "BTC", Decimal("10"))
    entry = entry_order(account_id=account_id)
    buy1 = fill_for(entry, "b-1", "0.100", "0.09120", T0 + 20)
    buy2 = fill_for(entry, "b-2", "0.200", "0.09121", T0 + 30)
    stop, take = Decimal("0.088"), Decimal("0.097")
    for fill in (buy1, buy2):
        ledger.apply_fill(fill, OrderRole.ENTRY, "breakout", stop, take, entry.client_id)
    open_position = replace(ledger.positions[SYMBOL])
    exit_order = replace(entry, client_id="exit-1", side=Side.SELL, role=OrderRole.TAKE_PROFIT)
    sell = fill_for(exit_order, "s-1", "0.300", "0.09700", T0 + 900)
    trade = ledger.apply_fill(sell, OrderRole.TAKE_PROFIT, "breakout")
    assert trade is not None
    return open_position, trade


def intent(ts: int = T0, account_id: str = ACCOUNT) -> Intent:
    return Intent(
        account_id=account_id,
        symbol=SYMBOL,
        side=Side.BUY,
        action=IntentAction.OPEN,
        entry_price=Decimal("0.09123"),
        stop_loss=Decimal("0.0885"),
        take_profit=Decimal("0.0970"),
        size_hint=Decimal("0.75"),
        confidence=0.625,
        rationale="breakout above the 20-bar high on rising volume",
        agent="breakout",
        ts=ts,
    )
