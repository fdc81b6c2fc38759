"""A market sell of held coins that the exchange refuses for lack of free coins is sized to
what is free and sent again.

Right after a protective pair is canceled the exchange may still hold its coins locked for a
moment (Binance answers -2010 "insufficient balance"), and the free balance can be lower than
the books think (a fee taken in the coin, coins moved by hand). Giving up there leaves the
position to be sold later, its pair canceled: instead the account's free coins are read again,
the sell is re-sized to them in whole lots (within the market's minimum quantity and order
value) and sent again, under a new client id, up to :data:`EXIT_TRIES` sends. What still cannot
go is said in words (an error in the log, for the operator); the caller puts the pair back
on the coins left (:meth:`~rampart.trading.execution.Executor.exit_position`), the position
monitor holding the stop meanwhile.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

import structlog

from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.domain.money import ZERO
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.trading.account import AccountRuntime
from rampart.trading.refit import NO_FUNDS

if TYPE_CHECKING:
    from rampart.trading.executor_port import ExecutorPort

log = structlog.get_logger("rampart.execution")

EXIT_TRIES = 3
"""Sends of one market sell refused for lack of free coins: the first and two re-sized."""
_UNSENT = (VenueError, OutcomeUnknown, TimeoutError, ConnectionError)


async def send_exit(ex: ExecutorPort, acct: AccountRuntime, order: Order) -> None:
    """Send the market sell ``order``; refused for lack of free coins, re-sized to the coins
    free and sent again (see the module)."""
    said = ""
    for attempt in range(1, EXIT_TRIES + 1):
        ex.register(acct, order)
        try:
            await ex.venue.submit(order)
            return
        except _UNSENT as exc:
            ex.fail_locally(acct, order, exc)
            if not (isinstance(exc, VenueError) and exc.code == NO_FUNDS):
                return  # refused for another reason, or its fate unknown: nothing to re-size
            said = exc.message
        if attempt == EXIT_TRIES:
            break
        free, fit = await _free_to_sell(ex, acct, order)
        if fit <= ZERO:
            _tell(acct, order, said, free)
            return
        log.warning(
            "exit_resized", account_id=acct.account_id, symbol=order.symbol, asked=order.qty,
            free=free, qty=fit,
        )  # fmt: skip
        order = replace(
            order,
            client_id=acct.next_client_id(OrderRole.EXIT),
            qty=fit,
            status=OrderStatus.NEW,
            filled_qty=ZERO,
            venue_order_id=None,
        )
    _tell(acct, order, said, None)


async def _free_to_sell(
    ex: ExecutorPort, acct: AccountRuntime, order: Order
) -> tuple[Decimal | None, Decimal]:
    """The coins free on the exchange now (None: unread) and the most of them a sell of at
    most ``order.qty`` can take within the market's filters (0: none)."""
    venue = ex.venue
    inst = venue.instrument(order.symbol)
    try:
        balances = await venue.fetch_balances(acct.account_id)
    except _UNSENT as exc:
        log.info("free_balance_unread", account_id=acct.account_id, why=exc)
        return None, ZERO
    held = balances.get(inst.base)
    free = held.free if held is not None else ZERO
    fit = inst.floor_qty(min(free, order.qty))
    pos = acct.ledger.positions.get(order.symbol)
    if fit < inst.min_qty or pos is None or ex.protection.is_dust(pos, fit):
        return free, ZERO
    return free, fit


def _tell(acct: AccountRuntime, order: Order, said: str, free: Decimal | None) -> None:
    """The sell could not go: why, in words, for the operator (the log's error)."""
    seen = "could not be read" if free is None else f"is {free}"
    text = (
        f"The sale of {order.qty} {order.symbol} for account {acct.account_id} was refused "
        f"for lack of free coins ({said or 'no reason given'}); the free balance {seen}, too "
        "little for an order the exchange takes. The stop is put back on the coins held and "
        "Rampart's monitor holds it; the sale is tried again when the monitor or the agent asks."
    )
    log.error("exit_refused", account_id=acct.account_id, symbol=order.symbol, text=text)


__all__ = ["EXIT_TRIES", "send_exit"]
