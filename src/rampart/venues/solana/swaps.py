"""One order's state inside the Solana venue: a swap being quoted, sent and confirmed, or a
bracket leg held here (nothing rests on a chain) and saved with the engine's checkpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rampart.domain.orders import Order, OrderRole, Side
from rampart.venues.solana.journal import SwapRecord
from rampart.venues.solana.routes import Quote

HELD_ROLES = frozenset({OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT})
"""Bracket legs: held in this process, never sent (the position monitor acts on them)."""


@dataclass(slots=True)
class Swap:
    account_id: str
    client_id: str
    symbol: str
    side: Side
    qty: Decimal
    local: bool = False
    partner: str | None = None
    attempt: int = 0
    record: SwapRecord | None = None
    quote: Quote | None = None
    sent_at: float = 0.0
    signed: str = ""
    """The current attempt's signed transaction (base64), kept to rebroadcast it."""
    since_send: int = 0
    """Confirmation polls since it was last sent."""
    loaded: bool = True
    """False for an order followed after a restart until its journal rows are read."""
    booked: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def held_leg(s: Swap) -> dict[str, Any]:
    """A held leg as the checkpoint keeps it."""
    return {
        "account_id": s.account_id,
        "client_id": s.client_id,
        "symbol": s.symbol,
        "side": s.side.value,
        "qty": str(s.qty),
        "partner": s.partner,
    }


def from_held(leg: dict[str, Any]) -> Swap:
    return Swap(
        leg["account_id"],
        leg["client_id"],
        leg["symbol"],
        Side(leg["side"]),
        Decimal(leg["qty"]),
        local=True,
        partner=leg.get("partner"),
    )


__all__ = ["HELD_ROLES", "Swap", "followed", "from_held", "held_leg"]


def followed(order: Order, booked_fill_ids: Iterable[str] = ()) -> Swap:
    """The swap to follow for a stored order after a restart. A bracket leg never left this
    process: held again as before (the monitor guards the levels meanwhile), so
    reconciliation does not find it missing and close it."""
    held = order.role in HELD_ROLES
    s = Swap(order.account_id, order.client_id, order.symbol, order.side, order.qty, held)
    if not held:
        s.loaded, s.booked = False, set(booked_fill_ids)
    return s
