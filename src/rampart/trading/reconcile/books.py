"""The book-keeping side of reconciliation: recognising Rampart's own client order ids,
putting lost orders back in the books, setting residual cash and positions to the venue's
figures (keeping ``equity = cash + Σ position value`` and the PnL view equal), and listing
what still differs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from rampart.domain.events import CapitalChanged, OrderUpdated
from rampart.domain.fills import Balance
from rampart.domain.money import ONE, ZERO, ceil_to_step, floor_to_step
from rampart.domain.orders import (
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Side,
    client_order_id,
)
from rampart.risk.cash_flows import CashFlow, kind_of
from rampart.risk.codes import fmt_money, fmt_pct
from rampart.trading.account import AccountRuntime, Bracket
from rampart.trading.ports import VenueOrder

VENUE = "venue"
"""Who moved capital found on the exchange (a deposit or withdrawal made there)."""

if TYPE_CHECKING:
    from rampart.trading.engine import Engine

UNSETTLED = frozenset({OrderStatus.NEW, OrderStatus.UNKNOWN})
_CLIENT_ID = re.compile(r"^rp-[0-9a-f]{8}-(\d{10})-([estx])(\d*)$")
"""Either form: ``…-<seq>-<role>`` numbered by the account, or a protective leg's derived
``…-<entry's seq>-<role><generation>`` (:func:`rampart.domain.orders.protective_client_id`),
which sorts with its entry."""
_ROLES = {
    "e": OrderRole.ENTRY,
    "s": OrderRole.STOP_LOSS,
    "t": OrderRole.TAKE_PROFIT,
    "x": OrderRole.EXIT,
}
_TYPES = {
    OrderRole.ENTRY: OrderType.MARKET,
    OrderRole.EXIT: OrderType.MARKET,
    OrderRole.STOP_LOSS: OrderType.STOP_MARKET,
    OrderRole.TAKE_PROFIT: OrderType.LIMIT,
}


def parse_client_id(account_id: str, client_id: str) -> tuple[int, OrderRole] | None:
    """(sequence, role) when ``client_id`` is one Rampart made for this account, else None."""
    match = _CLIENT_ID.match(client_id)
    if match is None:
        return None
    seq, role = int(match.group(1)), _ROLES[match.group(2)]
    # Another account's tag gives another id for the same sequence and role.
    if client_order_id(account_id, seq, role) + match.group(3) != client_id:
        return None
    return seq, role


def generation_of(client_id: str) -> int | None:
    """The generation of a derived pair leg's id; None for a plain (numbered) id."""
    match = _CLIENT_ID.match(client_id)
    return int(match.group(3)) if match is not None and match.group(3) else None


def pass_generation(acct: AccountRuntime, symbol: str, client_id: str) -> None:
    """Move the symbol's bracket past the generation of ``client_id``, a derived pair leg's
    id (a plain id carries none): the next pair placed there gets a new id."""
    match = _CLIENT_ID.match(client_id)
    if match is not None and match.group(3):
        bracket = acct.bracket_book.of(symbol)
        bracket.generation = max(bracket.generation, int(match.group(3)))


def _stop_of(account_id: str, take_id: str) -> str:
    """The id of the stop paired with take-profit ``take_id``: a derived leg's of the same
    generation, else the one sent just before it."""
    match = _CLIENT_ID.match(take_id)
    if match is not None and match.group(3):
        return f"{take_id[: match.start(2)]}s{match.group(3)}"
    return client_order_id(account_id, seq_of(take_id) - 1, OrderRole.STOP_LOSS)


def seq_of(client_id: str) -> int:
    match = _CLIENT_ID.match(client_id)
    return int(match.group(1)) if match else 0


def order_from_venue(acct: AccountRuntime, vo: VenueOrder, role: OrderRole, now: int) -> Order:
    side = vo.side or (Side.BUY if role is OrderRole.ENTRY else Side.SELL)
    return Order(
        client_id=vo.client_id,
        account_id=acct.account_id,
        symbol=vo.symbol,
        side=side,
        type=vo.type or _TYPES[role],
        qty=vo.qty,
        role=role,
        price=vo.price,
        stop_price=vo.stop_price,
        venue_order_id=vo.venue_order_id,
        strategy=acct.spec.agent,
        created_at=vo.ts or now,
        updated_at=now,
    )


def default_bracket(engine: Engine, acct: AccountRuntime, symbol: str, price: Decimal) -> Bracket:
    """Protection for a position whose own bracket was lost: the middle of the profile's stop
    range below ``price``, and the profile's least reward:risk (at least 1) above it."""
    profile = acct.profile
    tick = engine.venue.instrument(symbol).tick_size
    distance = (profile.min_stop + profile.max_stop) / 2
    stop = max(floor_to_step(price * (ONE - distance), tick), tick)
    take = ceil_to_step(price + (price - stop) * max(profile.min_rr, ONE), tick)
    return Bracket(stop, take)


def link_adopted(
    engine: Engine, acct: AccountRuntime, adopted: list[VenueOrder], now: int
) -> list[tuple[Order, VenueOrder]]:
    """Orders for Rampart's own orders found on the venue (oldest first), with the links the
    executor relies on: protective and exit orders point at their entry, the two legs of a
    pair share the stop's OCO group, and an entry's bracket is its legs' prices (or the
    profile's default when they are gone). Not yet in the books: see :func:`register`."""
    out: list[tuple[Order, VenueOrder]] = []
    entry_of: dict[str, str] = {}
    for vo in adopted:  # every id one of the account's (unknown_orders parsed it)
        role = _ROLES[vo.client_id.rstrip("0123456789")[-1]]  # a derived leg ends in its generation
        order = order_from_venue(acct, vo, role, now)
        pos = acct.ledger.positions.get(vo.symbol)
        if role is OrderRole.ENTRY:
            entry_of[vo.symbol] = vo.client_id
        else:
            order.parent_id = entry_of.get(vo.symbol) or (pos.entry_client_id if pos else None)
            if pos is not None:
                order.strategy = pos.strategy
        if role is OrderRole.STOP_LOSS:
            order.oco_group = vo.client_id
        elif role is OrderRole.TAKE_PROFIT:
            order.oco_group = _stop_of(acct.account_id, vo.client_id)
        out.append((order, vo))
    for order, vo in out:
        if order.role is not OrderRole.ENTRY:
            continue
        legs = [o for o, _ in out if o.parent_id == order.client_id]
        stop = next((o.stop_price for o in legs if o.role is OrderRole.STOP_LOSS), None)
        take = next((o.price for o in legs if o.role is OrderRole.TAKE_PROFIT), None)
        if stop is not None and take is not None:
            acct.brackets[order.client_id] = Bracket(stop, take)
        else:
            price = vo.avg_price or engine.marks.get(order.symbol) or ZERO
            if price > ZERO:
                acct.brackets[order.client_id] = default_bracket(engine, acct, order.symbol, price)
    return out


def register(engine: Engine, acct: AccountRuntime, order: Order, now: int) -> None:
    """Put an order in the books as the executor does when it sends one."""
    acct.orders[order.client_id] = order
    acct.recent_orders.append(order)
    engine.bus.publish(OrderUpdated(now, order.snapshot(), OrderStatus.NEW))


def as_booked(order: Order, filled: Decimal) -> Order:
    """A copy of ``order`` as it will be once ``filled`` of it is booked."""
    copy = order.snapshot()
    copy.filled_qty = order.filled_qty + filled
    return copy


def held(balances: Mapping[str, Balance], asset: str) -> Decimal:
    """The venue's total of ``asset``; nothing when it lists none."""
    found = balances.get(asset)
    return found.total if found else ZERO


def _gap(acct: AccountRuntime, marks: Mapping[str, Decimal]) -> Decimal:
    ledger = acct.ledger
    return ledger.equity(dict(marks)) - ledger.pnl_equity(dict(marks))


def repair_residual_cash(
    engine: Engine,
    acct: AccountRuntime,
    balances: Mapping[str, Balance],
    tolerance: Decimal,
    apart_change: Decimal = ZERO,
) -> CashFlow | None:
    """Set cash to the venue's balance where it still differs, once every fill is booked.

    Money that appears or vanishes this way is a cash flow, not profit: a deposit or a
    withdrawal, or (``apart_change``: what the coins held apart did this pass) a purchase or
    sale by hand. Capital moves with it, so the cash view and the PnL view of equity stay
    equal; the breakers leave it out of the strategy's result; and it is published as a
    capital change (after the equity it moves from), which "PnL today", the reports and
    /profit leave out of performance as they leave out an investor's /invest.
    Returns the flow, None when cash already agrees.
    """
    ledger = acct.ledger
    marks = engine.marks
    quote = acct.spec.quote
    venue_cash = held(balances, quote)
    if abs(venue_cash - ledger.cash) <= tolerance:
        return None
    now = engine.clock.now_ms()
    engine.publish_equity(acct, now)
    before = _gap(acct, marks)
    equity = ledger.equity(marks)
    old, capital = ledger.cash, ledger.capital
    ledger.cash = venue_cash
    ledger.capital += _gap(acct, marks) - before
    flow = CashFlow(now, venue_cash - old, kind_of(venue_cash - old, apart_change), quote)
    acct.breakers.on_cash_flow(flow, equity)
    engine.bus.publish(CapitalChanged(now, acct.account_id, capital, ledger.capital, VENUE))
    return flow


def differences(
    engine: Engine,
    acct: AccountRuntime,
    venue_open: list[VenueOrder],
    balances: Mapping[str, Balance],
    held_locally: set[str],
    tolerance: Decimal,
) -> list[str]:
    """What differs between the books and the venue, in words (empty when they agree).
    Orders the venue adapter holds itself and orders not placed by Rampart are left out."""
    out: list[str] = []
    account_id = acct.account_id
    local = {c: o for c, o in acct.orders.items() if c not in held_locally}
    remote = {
        vo.client_id: vo
        for vo in venue_open
        if parse_client_id(account_id, vo.client_id) is not None
    }
    for cid in sorted(set(local) - set(remote)):
        out.append(
            f"order {cid} is {local[cid].status.value} in the books but not open on the venue"
        )
    for cid in sorted(set(remote) - set(local)):
        out.append(f"order {cid} is open on the venue but not in the books")
    for cid in sorted(set(local) & set(remote)):
        if local[cid].filled_qty != remote[cid].filled_qty:
            out.append(
                f"order {cid} filled {local[cid].filled_qty} in the books and "
                f"{remote[cid].filled_qty} on the venue"
            )
    quote = acct.spec.quote
    cash = held(balances, quote)
    if abs(cash - acct.ledger.cash) > tolerance:
        out.append(f"cash is {acct.ledger.cash} {quote} in the books and {cash} on the venue")
    for symbol in acct.spec.symbols:
        base = engine.venue.instrument(symbol).base
        apart = acct.held_apart.get(symbol, ZERO) + acct.ledger.dust.get(symbol, ZERO)
        qty = held(balances, base) - apart
        pos = acct.ledger.positions.get(symbol)
        have = pos.qty if pos else ZERO
        if abs(qty - have) > tolerance:
            out.append(f"{symbol} position is {have} in the books and {qty} {base} on the venue")
    return out


def cash_flow_text(engine: Engine, acct: AccountRuntime, flow: CashFlow) -> str:
    """The flow in words for the investor and the operator: what it was, when it was seen,
    that the breakers leave it out; after a withdrawal that leaves less than the per-position
    limit needs for an open position's stop, that the position stays protected."""
    text = (
        f"A {flow.seen(engine.clock.now_ms())}. It is the investor's own money, not the "
        "strategy's result: the daily loss and drawdown limits leave it out."
    )
    if flow.amount >= 0:
        return text
    equity = acct.ledger.equity(engine.marks)
    limit = acct.profile.position_loss_limit * equity
    short = [
        (symbol, loss)
        for symbol, pos in sorted(acct.ledger.positions.items())
        if (loss := pos.loss_at_stop()) > limit
    ]
    if not short:
        return text
    quote = acct.spec.quote
    named = ", ".join(f"{symbol} ({fmt_money(loss, quote)})" for symbol, loss in short)
    return (
        f"{text} What is left ({fmt_money(equity, quote)}) is too little for the open "
        f"positions' stops: at their stop-loss {named} would lose more than the "
        f"{acct.profile.name} profile's {fmt_pct(acct.profile.position_loss_limit)} per "
        "position. They keep their stop-loss and target and are not sold early for it."
    )
