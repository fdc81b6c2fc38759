"""An agent's changes to an open position: its stop and target moved in place,
part of it sold (:func:`reduce_position`; an addition is an entry, see the engine).

The risk engine has already said the new prices are allowed (``rampart.risk.moves``). The
books move first: the position's stop-loss and take-profit (what the position monitor reads)
and the entry's bracket (what every later re-size of the pair places). Then the exchange:

- A pair resting on a venue that amends (``amend_oco``) is amended to the new
  prices: the same two orders, the stop never leaves the book.
- A venue that cannot change prices in place (or refuses this amend) has the pair canceled and
  placed again by :meth:`~rampart.trading.protection.Protector.ensure`, which places a new
  pair only once both cancels are confirmed. The position monitor (``acct.guarded``) holds the
  *new* stop from before the first cancel until the new pair rests, so the position is never
  without a live stop while it moves.
- Nothing resting (the monitor already holds it, a stop is selling, an exit is under way): the
  books were all there was to move.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, cast

import structlog

from rampart.domain.events import PositionChanged
from rampart.domain.fills import Fill
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import ZERO, ceil_to_step, floor_to_step
from rampart.domain.orders import Order, OrderRole, OrderType, Side
from rampart.risk.profiles import RiskProfile
from rampart.trading.account import AccountRuntime, Bracket
from rampart.trading.bracket import BracketState
from rampart.trading.exits import send_exit
from rampart.trading.ports import Amend, AmendingVenue
from rampart.trading.protection import PROTECTIVE
from rampart.trading.protection_reads import PARTIAL, resting_pair

if TYPE_CHECKING:
    from rampart.trading.executor_port import ExecutorPort

log = structlog.get_logger("rampart.moves")


async def move_bracket(
    ex: ExecutorPort, acct: AccountRuntime, symbol: str, stop: Decimal, take: Decimal
) -> bool:
    """Move the position's stop-loss to ``stop`` and take-profit to ``take`` (ZERO leaves one
    where it is); whether anything moved."""
    pos = acct.ledger.positions.get(symbol)
    if pos is None:
        return False
    stop = stop if stop > ZERO else pos.stop_loss
    take = take if take > ZERO else pos.take_profit
    if stop == pos.stop_loss and take == pos.take_profit:
        return False
    pos.stop_loss, pos.take_profit = stop, take
    acct.brackets[pos.entry_client_id] = Bracket(stop, take)
    now = ex.clock.now_ms()
    ex.bus.publish(PositionChanged(now, acct.account_id, symbol, pos.copy()))
    pair = resting_pair(acct.working(symbol, PROTECTIVE))
    if pair is None:
        return True
    if ex.venue.capabilities.amend is not Amend.NONE and await _amend(ex, acct, pair, stop, take):
        return True
    # Cancel and place again. The monitor holds the new stop first: from here until the new
    # pair rests, ``is_protected`` is true by it, and ``ensure`` lifts it once the pair rests.
    acct.bracket_book.hold(symbol, BracketState.MOVING)
    for leg in pair:
        await ex.cancel(acct, leg.client_id)
    await ex.ensure_protection(acct, symbol)
    return True


async def _amend(
    ex: ExecutorPort, acct: AccountRuntime, pair: tuple[Order, Order], stop: Decimal, take: Decimal
) -> bool:
    """The resting pair amended to the new prices; False (nothing changed) when the venue
    would not."""
    stop_leg, take_leg = pair
    venue = cast(AmendingVenue, ex.venue)
    try:
        await venue.amend_oco(
            acct.account_id,
            stop_leg.client_id,
            take_leg.client_id,
            stop_leg.remaining,
            stop_price=stop,
            take_price=take,
        )
    except Exception as exc:
        # A refusal, or an answer lost on the way that may or may not have moved it (or a
        # venue's own bug: nothing a venue does may stop the engine): the cancel that follows
        # settles the pair either way, the monitor holding the new stop meanwhile.
        log.info("move_amend_failed", account_id=acct.account_id, order=stop_leg.client_id, why=exc)
        return False
    now = ex.clock.now_ms()
    stop_leg.stop_price, take_leg.price = stop, take
    for leg in pair:
        leg.updated_at = now
        ex.publish_amend(leg)
    return True


async def reduce_position(
    ex: ExecutorPort, acct: AccountRuntime, symbol: str, qty: Decimal, reason: str
) -> None:
    """Sell ``qty`` of the position at market, the rest staying under its stop all along.

    The position monitor holds the stop first, for all of it, until the sell is done and the
    pair rests for the rest (``ensure`` lets go then). The pair shrinks to the rest (amended in
    place on a venue that lowers at all), which frees the coins the sell takes; a venue that
    cannot amend has it canceled, and the pair for the rest is placed once the sell is done."""
    pos = acct.ledger.positions.get(symbol)
    if pos is None or qty <= ZERO:
        return
    acct.bracket_book.hold(symbol, BracketState.REDUCING)
    # The pair is amended to the whole lots of the rest: an amount in part of a lot is one the
    # exchange refuses (LOT_SIZE), and the pair would be canceled and placed again instead.
    rest = ex.venue.instrument(symbol).floor_qty(pos.qty - qty)
    pair = resting_pair(acct.working(symbol, PROTECTIVE))
    if pair is not None:
        amends = ex.venue.capabilities.amend is not Amend.NONE and rest > ZERO
        if not (amends and await ex.protection.amend(acct, pair, rest)):
            for leg in pair:
                await ex.cancel(acct, leg.client_id)
    exit_order = Order(
        client_id=acct.next_client_id(OrderRole.EXIT),
        account_id=acct.account_id,
        symbol=symbol,
        side=Side.SELL,
        type=OrderType.MARKET,
        qty=qty,
        role=OrderRole.EXIT,
        parent_id=pos.entry_client_id,
        strategy=pos.strategy,
        reason=f"{PARTIAL}: {reason}",
    )
    await send_exit(ex, acct, exit_order)
    await ex.drain()


def entry_bracket(acct: AccountRuntime, intent: Intent) -> Bracket:
    """The bracket an approved entry's fills are protected by: its own, or for an addition
    the position's. An addition's coins land above the resting pair until it grows over them
    (amended, or canceled and placed again): the monitor holds the stop for the whole from
    now until the pair covers it (``ensure`` lets go then)."""
    pos = acct.ledger.positions.get(intent.symbol)
    if intent.action is IntentAction.ADD and pos is not None:
        acct.bracket_book.hold(intent.symbol, BracketState.ADDING)
        return Bracket(pos.stop_loss, pos.take_profit)
    return Bracket(intent.stop_loss, intent.take_profit, intent.entry_price)


def anchored(
    bracket: Bracket, fill_price: Decimal, profile: RiskProfile, inst: Instrument
) -> Bracket:
    """The bracket an entry's first fill opens its position with. A market order fills at the
    next price, not the one its stop was checked against: when the stop then lies outside the
    profile's band from the fill (a stop 1 % under a decision price 0.4 % under the fill is
    0.6 % under it), both prices move with the fill, keeping the distances the risk engine
    approved (the stop on the tick inside the band). Otherwise, or with no approved entry
    price, the bracket as it is."""
    entry = bracket.entry
    if entry <= ZERO or fill_price <= ZERO:
        return bracket
    distance = (fill_price - bracket.stop_loss) / fill_price
    if profile.min_stop <= distance <= profile.max_stop:
        return bracket
    ratio = fill_price / entry
    stop = floor_to_step(bracket.stop_loss * ratio, inst.tick_size)
    if (fill_price - stop) / fill_price > profile.max_stop:
        stop = ceil_to_step(bracket.stop_loss * ratio, inst.tick_size)
    take = ceil_to_step(bracket.take_profit * ratio, inst.tick_size)
    if not ZERO < stop < fill_price < take:
        return bracket
    return Bracket(stop, take, fill_price)


def anchor_to_fill(
    acct: AccountRuntime,
    entry_id: str,
    bracket: Bracket,
    fill: Fill,
    instrument: Callable[[str], Instrument],
) -> Bracket:
    """The opening fill's bracket (:func:`anchored`): kept for the entry's later fills, the
    move logged; only the fill that opens the position moves it."""
    if fill.symbol in acct.ledger.positions:
        return bracket
    moved = anchored(bracket, fill.price, acct.profile, instrument(fill.symbol))
    if moved is not bracket:
        acct.brackets[entry_id] = moved
        log.info(
            "bracket_anchored_to_fill",
            account_id=acct.account_id,
            symbol=fill.symbol,
            approved_at=str(bracket.entry),
            filled_at=str(fill.price),
            stop=str(moved.stop_loss),
            take=str(moved.take_profit),
        )
    return moved
