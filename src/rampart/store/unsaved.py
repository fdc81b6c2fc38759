"""Reads that are current to the last candle: the store's rows plus what the writer has not
written yet.

The writer saves at checkpoints (every ``store.checkpoint_every`` candles, in one transaction
with the engine's snapshot) so that a crash leaves the store exactly at a checkpoint. Between
two checkpoints the newest orders and trades live in its buffer; these functions lay them over
a query's result, so the API, the bot and the terminal view show a fill before the next candle
is processed without writing on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace

from rampart.domain.orders import Order
from rampart.domain.positions import ClosedTrade
from rampart.store import models as m
from rampart.store.records import trade_from_row
from rampart.store.writer import Batch, StoreWriter

TradeKey = tuple[object, ...]


def trade_key(trade: ClosedTrade) -> TradeKey:
    """What tells two closed trades apart (a stored row and its buffered twin compare equal)."""
    return (
        trade.account_id,
        trade.symbol,
        trade.entry_client_id,
        trade.opened_at,
        trade.closed_at,
        trade.qty,
        trade.exit_price,
        trade.pnl,
    )


def unsaved_trades(
    batches: Iterable[Batch], account_id: str, since_ts: int | None = None
) -> list[ClosedTrade]:
    found = []
    for batch in batches:
        for row in batch.logs[m.trades]:
            if row["account_id"] != account_id:
                continue
            if since_ts is not None and row["closed_at"] < since_ts:
                continue
            found.append(trade_from_row(SimpleNamespace(**row)))
    return found


def unsaved_orders(batches: Iterable[Batch], account_id: str) -> list[Order]:
    """The newest buffered state of each of the account's orders, oldest batch first."""
    latest: dict[str, Order] = {}
    for batch in batches:
        for client_id, order in batch.orders.items():
            if order.account_id == account_id:
                latest[client_id] = order
    return list(latest.values())


def merge_trades(stored: list[ClosedTrade], unsaved: list[ClosedTrade]) -> list[ClosedTrade]:
    """Both lists, each trade once, most recently closed first (the buffered ones are the
    newest, so they lead among trades that closed on the same candle)."""
    seen: dict[TradeKey, ClosedTrade] = {}
    for trade in [*reversed(unsaved), *stored]:
        seen.setdefault(trade_key(trade), trade)
    return sorted(seen.values(), key=lambda t: t.closed_at, reverse=True)


def pending_batches(writer: StoreWriter | None) -> tuple[Batch, ...]:
    return () if writer is None else writer.unsaved()
