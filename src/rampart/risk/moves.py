"""Changes to an open position: where the risk engine lets a stop go, how much a
reduction sells, and whether an addition may buy.

A stop may always *tighten* (for a long, go up), as long as it stays below the last price: a
stop at or above the market would sell at once, which is a close, and an agent that wants out
says so. A stop may *loosen* (go down) only as far as the profile would have let the position
open with: at most ``max_stop`` below the average entry price, and losing at most
``risk_per_trade`` of equity there. A take-profit may move anywhere above the last price and the
stop. A reduction sells whole lots and leaves enough to protect; an addition shares the
position's bracket and is sized as an entry, the position with it within every limit of one
position (its value, its loss at the stop). Each refusal is one sentence with the numbers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rampart.domain.intents import Intent
from rampart.domain.money import ONE, ZERO
from rampart.risk.codes import RejectCode, fmt_money, fmt_num, fmt_pct
from rampart.risk.sizing import EXACT

if TYPE_CHECKING:
    from rampart.risk.context import RiskContext

Rejection = tuple[RejectCode, str]


def check_move(intent: Intent, ctx: RiskContext) -> Rejection | None:
    """None when the position on ``intent.symbol`` may take the stop and target it names
    (ZERO leaves one where it is); else the reason and its sentence."""
    symbol, cur, inst = intent.symbol, ctx.currency, ctx.instrument
    if ctx.position_qty <= ZERO:
        return (RejectCode.NO_POSITION, f"There is no open {symbol} position to move a stop on.")
    asked_stop, asked_take = intent.stop_loss, intent.take_profit
    if asked_stop == ZERO and asked_take == ZERO:
        return (
            RejectCode.NO_BRACKET,
            f"The move on {symbol} names neither a stop-loss nor a take-profit to move to.",
        )
    for name, price in (("stop-loss", asked_stop), ("take-profit", asked_take)):
        if price > ZERO and not inst.price_on_tick(price):
            return (
                RejectCode.BAD_TICK,
                f"A {name} at {price:f} is not on the {symbol} tick of {inst.tick_size:f}.",
            )
    stop = asked_stop if asked_stop > ZERO else ctx.position_stop
    take = asked_take if asked_take > ZERO else ctx.position_take
    last = ctx.last_price
    if last > ZERO and stop >= last:
        return (
            RejectCode.BRACKET_SIDE,
            f"A stop-loss at {fmt_money(stop, cur)} is at or above the last {symbol} price of "
            f"{fmt_money(last, cur)}: it would sell at once, so close the position instead.",
        )
    if last > ZERO and take <= last:
        return (
            RejectCode.BRACKET_SIDE,
            f"A take-profit at {fmt_money(take, cur)} is at or below the last {symbol} price "
            f"of {fmt_money(last, cur)}: it would sell at once, so close the position instead.",
        )
    if take <= stop:
        return (
            RejectCode.BRACKET_SIDE,
            f"The take-profit at {fmt_money(take, cur)} must be above the stop-loss at "
            f"{fmt_money(stop, cur)}.",
        )
    if asked_stop > ZERO and asked_stop < ctx.position_stop:
        return _loosening(asked_stop, ctx, symbol)
    return None


def _loosening(stop: Decimal, ctx: RiskContext, symbol: str) -> Rejection | None:
    """A stop moved down: within the profile's widest stop and its risk per trade."""
    p, cur, entry = ctx.profile, ctx.currency, ctx.position_price
    was = fmt_money(ctx.position_stop, cur)
    distance = (entry - stop) / entry if entry > ZERO else ZERO
    if distance > p.max_stop:
        return (
            RejectCode.STOP_LOOSENED,
            f"Moving the {symbol} stop-loss down from {was} to {fmt_money(stop, cur)} would put "
            f"it {fmt_pct(distance)} below the entry at {fmt_money(entry, cur)}; the "
            f"{ctx.profile_name} profile allows at most {fmt_pct(p.max_stop)}.",
        )
    risk = EXACT.multiply(max(entry - stop, ZERO), ctx.position_qty)
    limit = EXACT.multiply(p.risk_per_trade, ctx.equity)
    if risk > limit:
        return (
            RejectCode.STOP_LOOSENED,
            f"Moving the {symbol} stop-loss down from {was} to {fmt_money(stop, cur)} would "
            f"risk {fmt_money(risk, cur)} on the position; the {ctx.profile_name} profile "
            f"allows at most {fmt_money(limit, cur)} ({fmt_pct(p.risk_per_trade)} of the "
            "account).",
        )
    return None


def check_reduce(intent: Intent, ctx: RiskContext) -> Rejection | Decimal:
    """The quantity to sell for a reduction by ``intent.size_hint`` of the position (whole
    lots), or why not: nothing to sell, less than an order, or a rest too small to protect."""
    symbol, inst = intent.symbol, ctx.instrument
    held = ctx.position_qty
    if held <= ZERO:
        return (RejectCode.NO_POSITION, f"There is no open {symbol} position to reduce.")
    hint = intent.size_hint
    if not hint.is_finite() or not ZERO < hint <= ONE:
        return (
            RejectCode.BAD_SIZE,
            f"A reduction sells a fraction above 0 and at most 1 of the position; got {hint}.",
        )
    qty = inst.floor_qty(EXACT.multiply(held, hint))
    if qty <= ZERO or qty < inst.min_qty:
        return (
            RejectCode.BELOW_MIN_QTY,
            f"Selling {fmt_pct(hint)} of the {fmt_num(held)} {inst.base} held is less than the "
            f"smallest {symbol} order of {fmt_num(inst.min_qty)} {inst.base}.",
        )
    rest = held - qty
    price = ctx.last_price if ctx.last_price > ZERO else ctx.position_price
    if rest > ZERO and (rest < inst.min_qty or rest * price < inst.min_notional):
        return (
            RejectCode.BELOW_MIN_NOTIONAL,
            f"Selling {fmt_num(qty)} {inst.base} would leave {fmt_num(rest)} {inst.base}, too "
            f"little for an order to protect or sell; close the {symbol} position instead.",
        )
    return qty


def check_add(intent: Intent, ctx: RiskContext) -> Rejection | None:
    """An addition to the position: there is one, nothing else is buying it, and the price
    lies inside the position's bracket (which the addition shares)."""
    symbol, cur, inst = intent.symbol, ctx.currency, ctx.instrument
    if ctx.position_qty <= ZERO:
        return (RejectCode.NO_POSITION, f"There is no open {symbol} position to add to.")
    if ctx.working_qty > ZERO:
        return (
            RejectCode.ENTRY_WORKING,
            f"An entry for {fmt_num(ctx.working_qty)} {inst.base} on {symbol} is still "
            "working; an addition waits until it fills, is canceled or expires.",
        )
    stop, take, entry = ctx.position_stop, ctx.position_take, intent.entry_price
    if not stop < entry < take:
        return (
            RejectCode.BRACKET_SIDE,
            f"An addition at {fmt_money(entry, cur)} must lie between the position's "
            f"stop-loss at {fmt_money(stop, cur)} and take-profit at {fmt_money(take, cur)}.",
        )
    return None


def check_whole_risk(qty: Decimal, intent: Intent, ctx: RiskContext) -> Rejection | None:
    """The position with an addition of ``qty`` loses at most the profile's risk per trade at
    its stop (the sizer sized the addition alone)."""
    p, cur, stop = ctx.profile, ctx.currency, ctx.position_stop
    held = EXACT.multiply(max(ctx.position_price - stop, ZERO), ctx.position_qty)
    total = EXACT.add(held, EXACT.multiply(max(intent.entry_price - stop, ZERO), qty))
    limit = EXACT.multiply(p.risk_per_trade, ctx.equity)
    if total <= limit:
        return None
    return (
        RejectCode.RISK_PER_TRADE,
        f"With what is already held, the {intent.symbol} position would lose "
        f"{fmt_money(total, cur)} at its stop-loss of {fmt_money(stop, cur)}; the "
        f"{ctx.profile_name} profile allows at most {fmt_money(limit, cur)} "
        f"({fmt_pct(p.risk_per_trade)} of the account).",
    )
