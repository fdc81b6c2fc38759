"""What the orders working on a position say about its bracket, read for
:meth:`rampart.trading.protection.Protector.ensure` (nothing here sends or changes anything)."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.money import ZERO
from rampart.domain.orders import Order, OrderRole
from rampart.trading.account import AccountRuntime
from rampart.trading.bracket import BracketState, PositionBracket
from rampart.trading.refit import REFITTING

_EXIT = (OrderRole.EXIT,)
_STOP_ROLE = OrderRole.STOP_LOSS
PARTIAL = "part of the position"
"""How a reduction's market sell begins its reason (``rampart.trading.moves``): ``ensure``
leaves the rest of the position under its bracket instead of selling it too (a full exit
smaller than the position is one a fill raced, and the rest goes with it)."""


def resting_pair(live: list[Order]) -> tuple[Order, Order] | None:
    """The stop-loss and take-profit of one OCO pair, when that is all that rests (a stop
    already selling is a market exit under way, not a pair to re-size)."""
    if len(live) != 2:
        return None
    first, second = live
    if first.role is OrderRole.TAKE_PROFIT:
        first, second = second, first
    if (
        first.role is not _STOP_ROLE
        or second.role is not OrderRole.TAKE_PROFIT
        or first.oco_group is None
        or first.oco_group != second.oco_group
        or first.filled_qty > ZERO
    ):
        return None
    return first, second


def refit_waits(bracket: PositionBracket, qty: Decimal) -> bool:
    """Whether a pair re-sized to the free coins waits out the refusal of ``qty`` as it is."""
    refusal = bracket.refusal
    return (
        bracket.state is BracketState.PARTIAL
        and refusal is not None
        and refusal.code in REFITTING
        and refusal.qty == qty
        and not refusal.due
    )


def partial_exit(acct: AccountRuntime, symbol: str) -> bool:
    """Whether a working market exit sells only part of the position (a reduction)."""
    return any(o.reason.startswith(PARTIAL) for o in acct.working(symbol, _EXIT))


def stop_left(acct: AccountRuntime, symbol: str) -> Decimal:
    """What the stop-loss resting on ``symbol`` (its cancel not asked) has left to sell."""
    return max(
        (o.qty - o.filled_qty for o in acct.working(symbol, (OrderRole.STOP_LOSS,))),
        default=ZERO,
    )


def target_filling(live: list[Order], qty: Decimal) -> bool:
    """Whether all that rests is a take-profit that has begun to fill, for all ``qty``."""
    if len(live) != 1:
        return False
    (take,) = live
    return take.role is OrderRole.TAKE_PROFIT and take.filled_qty > ZERO and take.remaining == qty
