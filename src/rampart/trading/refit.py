"""A pair the venue refused, re-sized at once to what can rest (``Protector.place``).

- **Lack of funds** (Binance -2010 "insufficient balance"): the account's free coins are read
  again and the pair sized to them, in whole lots: a stop rests for what the exchange can sell,
  the position monitor holds the rest.
- **A market filter** (``Filter failure: LOT_SIZE``, ``PRICE_FILTER``, ``NOTIONAL`` …): the
  market's rules are read again (a venue that can, :class:`~rampart.trading.ports.RulesVenue`)
  and the pair re-sized to the new lot and its prices put on the new tick; a position the new
  minimum order value leaves too small rests no pair, and the monitor holds it.

Each is tried once per placement; what cannot rest stays with the monitor and the refusal's
back-off (:mod:`rampart.trading.bracket`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

import structlog

from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.domain.money import ZERO
from rampart.domain.positions import Position
from rampart.trading.account import AccountRuntime, Bracket
from rampart.trading.ports import RulesVenue

if TYPE_CHECKING:
    from rampart.trading.executor_port import ExecutorPort

log = structlog.get_logger("rampart.protection")

NO_FUNDS = "insufficient_funds"
"""The code of a venue's refusal for lack of funds (``VenueError.code``)."""
FILTER = "filter"
"""The code of a refusal by one of the market's filters."""
REFITTING = frozenset({NO_FUNDS, FILTER})
_READ_FAILED = (VenueError, OutcomeUnknown, TimeoutError, ConnectionError)


@dataclass(frozen=True, slots=True)
class Refit:
    qty: Decimal
    prices: Bracket


async def refit(
    ex: ExecutorPort, acct: AccountRuntime, pos: Position, qty: Decimal, prices: Bracket, code: str
) -> Refit | None:
    """What to place instead of a pair for ``qty`` refused with ``code``; None when nothing
    better can rest (the monitor holds the position)."""
    if code == NO_FUNDS:
        fit = await _free_qty(ex, acct, pos, qty)
        return None if fit is None else Refit(fit, prices)
    if code == FILTER:
        return await _filtered(ex, pos, qty, prices)
    return None


async def _free_qty(
    ex: ExecutorPort, acct: AccountRuntime, pos: Position, qty: Decimal
) -> Decimal | None:
    venue = ex.venue
    inst = venue.instrument(pos.symbol)
    try:
        balances = await venue.fetch_balances(acct.account_id)
    except _READ_FAILED as exc:
        log.info("free_balance_unread", account_id=acct.account_id, why=exc)
        return None
    held = balances.get(inst.base)
    if held is None:
        return None
    fit = inst.floor_qty(min(held.free, qty))
    if fit <= ZERO or fit >= qty or ex.protection.is_dust(pos, fit):
        return None
    log.warning("bracket_refit", account_id=acct.account_id, symbol=pos.symbol, asked=qty, free=fit)
    return fit


async def _filtered(ex: ExecutorPort, pos: Position, qty: Decimal, prices: Bracket) -> Refit | None:
    venue = ex.venue
    if not isinstance(venue, RulesVenue):
        return None
    before = venue.instrument(pos.symbol)
    try:
        inst = await venue.reload_rules(pos.symbol)
    except _READ_FAILED as exc:
        log.info("market_rules_unread", symbol=pos.symbol, why=exc)
        return None
    if inst == before:
        return None  # the rules Rampart sized the pair by are the exchange's: no better size
    fit = inst.floor_qty(qty)
    # The stop rounds up (it sells sooner, never later than asked), the target down.
    stop = _on_tick(prices.stop_loss, inst.tick_size, ROUND_CEILING)
    take = _on_tick(prices.take_profit, inst.tick_size, ROUND_FLOOR)
    if fit < inst.min_qty or fit * stop < inst.min_notional or not ZERO < stop < take:
        log.warning("bracket_below_filters", symbol=pos.symbol, qty=qty, min=inst.min_notional)
        return None
    log.warning("bracket_refit", symbol=pos.symbol, asked=qty, fit=fit, rules="read again")
    return Refit(fit, Bracket(stop, take))


def _on_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    if tick <= ZERO:
        return price
    return (price / tick).to_integral_value(rounding) * tick


__all__ = ["FILTER", "NO_FUNDS", "REFITTING", "Refit", "refit"]
