"""Turning an incoming order into the venue's record of it, and the reports that say so.

Pure helpers for :class:`~rampart.venues.matching.MatchingCore`: what an order will hold once
accepted (see :mod:`rampart.venues.book`), the record kept for an accepted or rejected order,
and the reports for acceptance, rejection and duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rampart.domain.errors import present
from rampart.domain.fills import Fill
from rampart.domain.instruments import Instrument
from rampart.domain.money import ONE, ZERO, ceil_to_step
from rampart.domain.orders import Order, OrderStatus, OrderType, Side
from rampart.trading.ports import VenueReport
from rampart.venues.book import BookOrder, buy_requirement
from rampart.venues.pricing import FeeSchedule, SlippageModel
from rampart.venues.validation import LIMIT_TYPES, STOP_TYPES, Rejection


@dataclass(frozen=True, slots=True)
class LockTerms:
    """The asset an order holds and, for a buy, the worst price and fee rate it can pay."""

    asset: str
    price: Decimal = ZERO
    rate: Decimal = ZERO

    def need(self, order: Order) -> Decimal:
        if order.side is Side.SELL:
            return order.qty
        return buy_requirement(order.qty, self.price, self.rate)


_SELL_TERMS: dict[str, LockTerms] = {}
"""A sell's terms name only the base asset it holds: one shared (frozen) record per asset."""


def lock_terms(
    order: Order,
    inst: Instrument,
    fees: FeeSchedule,
    slippage: SlippageModel,
    last_close: Decimal | None,
) -> LockTerms:
    if order.side is Side.SELL:
        terms = _SELL_TERMS.get(inst.base)
        if terms is None:
            terms = _SELL_TERMS[inst.base] = LockTerms(inst.base)
        return terms
    worst_slip = ONE + slippage.cap
    if order.type is OrderType.LIMIT:
        return LockTerms(inst.quote, present(order.price, "a limit order's price"), fees.maker)
    if order.type is OrderType.STOP_LIMIT:
        # It fills as a taker in its trigger bar and as a maker afterwards.
        return LockTerms(inst.quote, present(order.price, "a stop-limit's price"), fees.worst)
    if order.type is OrderType.STOP_MARKET:
        stop = present(order.stop_price, "a stop-market's trigger")
        worst = ceil_to_step(stop * worst_slip, inst.tick_size)
        return LockTerms(inst.quote, worst, fees.taker)
    close = present(last_close, "the last close a market order is priced on")
    return LockTerms(inst.quote, ceil_to_step(close * worst_slip, inst.tick_size), fees.taker)


def accepted(order: Order, terms: LockTerms, seq: int, group: str | None, ts: int) -> BookOrder:
    return BookOrder(
        seq=seq,
        venue_order_id=f"P{seq}",
        client_id=order.client_id,
        account_id=order.account_id,
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        qty=order.qty,
        held_asset=terms.asset,
        price=order.price if order.type in LIMIT_TYPES else None,
        stop_price=order.stop_price if order.type in STOP_TYPES else None,
        lock_price=terms.price,
        lock_rate=terms.rate,
        oco_group=group,
        created_ts=ts,
        updated_ts=ts,
    )


def rejected(order: Order, inst: Instrument | None, rejection: Rejection, ts: int) -> BookOrder:
    held = "" if inst is None else inst.quote if order.side is Side.BUY else inst.base
    return BookOrder(
        seq=0,
        venue_order_id=None,
        client_id=order.client_id,
        account_id=order.account_id,
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        qty=order.qty if isinstance(order.qty, Decimal) and order.qty.is_finite() else ZERO,
        held_asset=held,
        status=OrderStatus.REJECTED,
        created_ts=ts,
        updated_ts=ts,
        code=rejection.code,
        reason=rejection.reason,
    )


def report(
    order: BookOrder, ts: int, fill: Fill | None = None, code: str = "", reason: str = ""
) -> VenueReport:
    return VenueReport(
        order.account_id,
        order.client_id,
        order.status,
        ts,
        fill,
        order.venue_order_id,
        code,
        reason,
    )


def bounce(order: Order, now: int) -> VenueReport:
    """The rejection of an order for an account the venue does not hold (nothing is stored)."""
    return VenueReport(
        order.account_id,
        order.client_id,
        OrderStatus.REJECTED,
        now,
        code="unknown_account",
        reason=f"Account {order.account_id!r} is not open on this venue.",
    )


def duplicate(existing: BookOrder, ts: int) -> VenueReport:
    """A resubmitted client id: the existing order's current status, nothing new is created."""
    if existing.status is OrderStatus.REJECTED:
        return report(existing, ts, code=existing.code, reason=existing.reason)
    return report(
        existing,
        ts,
        code="duplicate",
        reason="An order with this client id already exists; no second order was created.",
    )
