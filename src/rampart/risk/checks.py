"""The risk engine: every intent is approved and sized here, or rejected with a reason.

Checks run in a fixed order, cheapest and most decisive first: switches and account state,
then closes (always allowed while the account may trade), then the rollout stage, the data,
the bracket, the account's exposure, the size and the order rate. The first failure wins,
so a user always sees the one thing to fix next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from rampart.domain.accounts import TradingState
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import ONE, ZERO
from rampart.domain.orders import Side
from rampart.domain.quick import quick_init
from rampart.risk.codes import RejectCode, fmt_duration, fmt_money, fmt_num, fmt_pct
from rampart.risk.context import RiskContext as RiskContext  # re-exported for the engine's callers
from rampart.risk.exposure import check_exposure, check_position_value
from rampart.risk.moves import check_add, check_move, check_reduce, check_whole_risk
from rampart.risk.restrictions import (
    HALTED,
    KILL_ON_POSITION_LOSS,
    KILL_SWITCH,
    PAUSE,
    POSITION_LOSS,
    REDUCING,
)
from rampart.risk.rules import check_bracket, check_stage, check_staleness
from rampart.risk.sizing import EXACT, size_entry, size_limits

ORDER_RATE_WINDOW_MS = 60_000
STORE_UNAVAILABLE_MESSAGE = (
    "Nothing can be stored right now, so no new position is opened; exits and protection continue."
)
COMMANDS_STALE_MESSAGE = (
    "This worker has not heard from the command stream lately, so a kill switch or a pause "
    "might not have reached it: no new position is opened until it hears again; exits and "
    "protection continue."
)

Sizer = Callable[[Intent, "RiskContext"], Decimal]


@quick_init
@dataclass(frozen=True, slots=True)
class RiskVerdict:
    approved: bool
    code: RejectCode | None
    text: str | Callable[[], str] = field(repr=False, compare=False)
    """The sentence, or for an approval the function that writes it: an approval's sentence
    is read only when someone asks (a thousand accounts approved on one candle would format
    numbers nobody reads). Read it as :attr:`message`."""
    qty: Decimal
    """The approved quantity; zero when rejected."""
    risk_amount: Decimal
    """Money lost at the stop-loss before fees; zero for closes and rejections."""

    @property
    def message(self) -> str:
        """The sentence for people: why it was rejected, or what was approved."""
        text = self.text
        if callable(text):
            text = text()
            object.__setattr__(self, "text", text)
        return text

    @classmethod
    def reject(cls, code: RejectCode, message: str) -> RiskVerdict:
        return cls(False, code, message, ZERO, ZERO)

    @classmethod
    def approve(
        cls, qty: Decimal, risk_amount: Decimal, message: str | Callable[[], str]
    ) -> RiskVerdict:
        return cls(True, None, message, qty, risk_amount)


class RiskEngine:
    """Pure and stateless: the same intent and context always give the same verdict.

    ``sizer`` is the sizing function; the limit checks after it re-verify its result
    independently, so a sizing bug is rejected instead of traded.
    """

    def __init__(self, sizer: Sizer = size_entry) -> None:
        self._sizer = sizer

    def check(self, intent: Intent, ctx: RiskContext) -> RiskVerdict:
        action = intent.action
        adding = action is IntentAction.ADD
        opening = action is IntentAction.OPEN or adding
        verdict = _account_gates(opening, ctx)
        if verdict is not None:
            return verdict
        if action is IntentAction.MOVE:
            return _move(intent, ctx)
        if action is IntentAction.REDUCE:
            return _reduce(intent, ctx)
        if adding:
            return self._add(intent, ctx)
        if not opening:
            return _close(intent, ctx)
        if intent.side is Side.SELL:
            base = ctx.instrument.base
            return RiskVerdict.reject(
                RejectCode.SHORT_NOT_SUPPORTED,
                f"This spot account can only buy to open a position; selling {base} it does "
                "not hold (going short) is not supported.",
            )
        for rule in (check_stage, check_staleness, check_bracket, check_exposure):
            rejection = rule(intent, ctx)
            if rejection is not None:
                return RiskVerdict.reject(*rejection)
        return self._size(intent, ctx)

    def _add(self, intent: Intent, ctx: RiskContext) -> RiskVerdict:
        """An addition: the entry's checks with the position's own bracket, then the whole
        position's loss at its stop within the risk per trade."""
        if intent.side is not Side.BUY:
            return RiskVerdict.reject(
                RejectCode.SHORT_NOT_SUPPORTED,
                "This spot account adds to a position by buying; a sell is a reduction.",
            )
        for rule in (check_stage, check_staleness, check_add):
            rejection = rule(intent, ctx)
            if rejection is not None:
                return RiskVerdict.reject(*rejection)
        shared = replace(intent, stop_loss=ctx.position_stop, take_profit=ctx.position_take)
        verdict = self._size(shared, ctx)
        if not verdict.approved:
            return verdict
        rejection = check_whole_risk(verdict.qty, intent, ctx)
        return verdict if rejection is None else RiskVerdict.reject(*rejection)

    def _size(self, intent: Intent, ctx: RiskContext) -> RiskVerdict:
        # The currency is read for a sentence only: a refusal's, or an approval's when asked.
        p = ctx.profile
        if ctx.equity <= ZERO:
            return RiskVerdict.reject(
                RejectCode.INSUFFICIENT_FUNDS,
                f"The account is worth {fmt_money(ctx.equity, ctx.currency)}, so there is "
                "nothing left to risk on a new position.",
            )
        entry, stop = intent.entry_price, intent.stop_loss
        qty = self._sizer(intent, ctx)
        risk = EXACT.multiply(entry - stop, qty)
        risk_limit = EXACT.multiply(p.risk_per_trade, ctx.equity)
        if risk > risk_limit:
            cur = ctx.currency
            return RiskVerdict.reject(
                RejectCode.RISK_PER_TRADE,
                f"This order would lose {fmt_money(risk, cur)} "
                f"({fmt_pct(risk / ctx.equity)} of the account) at its stop-loss; the "
                f"{ctx.profile_name} profile allows at most {fmt_money(risk_limit, cur)} "
                f"({fmt_pct(p.risk_per_trade)}).",
            )
        rejection = check_position_value(intent, ctx, qty) or _check_minimums(intent, ctx, qty)
        if rejection is not None:
            return RiskVerdict.reject(*rejection)
        value = EXACT.multiply(qty, entry)
        cost = EXACT.multiply(value, ONE + ctx.taker_fee)
        if cost > ctx.free_cash:
            cur = ctx.currency
            return RiskVerdict.reject(
                RejectCode.INSUFFICIENT_FUNDS,
                f"This order would cost {fmt_money(cost, cur)} with fees, but only "
                f"{fmt_money(ctx.free_cash, cur)} is free.",
            )
        recent = sum(1 for ts in ctx.recent_order_ts if ctx.now_ms - ts < ORDER_RATE_WINDOW_MS)
        if recent >= p.max_orders_per_minute:
            return RiskVerdict.reject(
                RejectCode.ORDER_RATE,
                f"This account has sent {recent} orders in the last minute, the most the "
                f"{ctx.profile_name} profile allows; new positions wait until that drops.",
            )
        base, equity, take = ctx.instrument.base, ctx.equity, intent.take_profit

        def approved() -> str:
            cur = ctx.currency
            return (
                f"Approved: buy {fmt_num(qty)} {base} near {fmt_money(entry, cur)}, risking "
                f"{fmt_money(risk, cur)} ({fmt_pct(risk / equity)} of the account) with a "
                f"stop-loss at {fmt_money(stop, cur)} and a take-profit at "
                f"{fmt_money(take, cur)}."
            )

        return RiskVerdict.approve(qty, risk, approved)


def _why(ctx: RiskContext, *causes: str, effect: str = "") -> str:
    """The sentence of the restriction behind a refusal (the one every front shows)."""
    for restriction in ctx.restrictions:
        if restriction.cause in causes or restriction.effect == effect:
            return f" {restriction.text}"
    return ""


def _account_gates(opening: bool, ctx: RiskContext) -> RiskVerdict | None:
    keeps = "" if opening else "; the position keeps its stop-loss and take-profit"
    if ctx.global_kill:
        what = "no new positions" if opening else "no trading"
        return RiskVerdict.reject(
            RejectCode.KILL_SWITCH,
            f"The kill switch is on: {what} until an operator releases it{keeps}."
            + _why(ctx, KILL_SWITCH),
        )
    if ctx.paused:
        return RiskVerdict.reject(
            RejectCode.ACCOUNT_PAUSED,
            f"Trading is paused for this account{keeps}."
            + _why(ctx, PAUSE, POSITION_LOSS, KILL_ON_POSITION_LOSS),
        )
    if ctx.state is TradingState.HALTED:
        why = _why(ctx, effect=HALTED)
        return RiskVerdict.reject(
            RejectCode.ACCOUNT_HALTED,
            f"Trading is halted for this account{keeps}.{why}"
            if why
            else "Trading is halted for this account because a loss limit was reached; it "
            "resumes on the next UTC day after a daily-loss halt, otherwise when an operator "
            f"resumes it{keeps}.",
        )
    if not opening:
        return None
    if ctx.store_down:
        # Orders the store cannot record must not multiply: an outage halts entries only.
        return RiskVerdict.reject(RejectCode.STORE_UNAVAILABLE, STORE_UNAVAILABLE_MESSAGE)
    if ctx.commands_stale:
        return RiskVerdict.reject(RejectCode.COMMANDS_STALE, COMMANDS_STALE_MESSAGE)
    if ctx.now_ms < ctx.cooldown_until_ms:
        until = datetime.fromtimestamp(ctx.cooldown_until_ms / 1000, tz=UTC)
        return RiskVerdict.reject(
            RejectCode.COOLDOWN,
            f"After {ctx.profile.consecutive_losses} losing trades in a row this account is "
            f"cooling down: new positions are allowed again in "
            f"{fmt_duration(ctx.cooldown_until_ms - ctx.now_ms)} "
            f"(at {until:%H:%M} UTC).",
        )
    if ctx.state is TradingState.REDUCING:
        return RiskVerdict.reject(
            RejectCode.ACCOUNT_REDUCING,
            "This account is only closing positions for now, so it cannot open a new one."
            + _why(ctx, effect=REDUCING),
        )
    return None


def _close(intent: Intent, ctx: RiskContext) -> RiskVerdict:
    if ctx.position_qty <= ZERO:
        return RiskVerdict.reject(
            RejectCode.NO_POSITION, f"There is no open {intent.symbol} position to close."
        )
    qty, symbol, base = ctx.position_qty, intent.symbol, ctx.instrument.base
    return RiskVerdict.approve(
        qty, ZERO, lambda: f"Approved: close the {symbol} position of {fmt_num(qty)} {base}."
    )


def _reduce(intent: Intent, ctx: RiskContext) -> RiskVerdict:
    qty = check_reduce(intent, ctx)
    if isinstance(qty, tuple):
        return RiskVerdict.reject(*qty)
    symbol, base, left = intent.symbol, ctx.instrument.base, ctx.position_qty - qty
    return RiskVerdict.approve(
        qty,
        ZERO,
        lambda: (
            f"Approved: sell {fmt_num(qty)} {base} of the {symbol} position, keeping "
            f"{fmt_num(left)} {base} under its stop-loss and take-profit."
        ),
    )


def _move(intent: Intent, ctx: RiskContext) -> RiskVerdict:
    rejection = check_move(intent, ctx)
    if rejection is not None:
        return RiskVerdict.reject(*rejection)
    symbol, cur = intent.symbol, ctx.currency
    stop = intent.stop_loss if intent.stop_loss > ZERO else ctx.position_stop
    take = intent.take_profit if intent.take_profit > ZERO else ctx.position_take
    return RiskVerdict.approve(
        ZERO,
        ZERO,
        lambda: (
            f"Approved: the {symbol} position's stop-loss at {fmt_money(stop, cur)} and "
            f"take-profit at {fmt_money(take, cur)}."
        ),
    )


def _check_minimums(
    intent: Intent, ctx: RiskContext, qty: Decimal
) -> tuple[RejectCode, str] | None:
    inst, entry = ctx.instrument, intent.entry_price
    if not inst.qty_on_lot(qty):
        return (
            RejectCode.BAD_SIZE,
            f"The computed size of {qty:f} {inst.base} is not a multiple of the "
            f"{intent.symbol} lot of {inst.lot_size:f} {inst.base}.",
        )
    value = EXACT.multiply(qty, entry)
    if qty > ZERO and qty >= inst.min_qty and value >= inst.min_notional:
        return None
    cur = ctx.currency  # read for a refusal's sentence only
    smallest = max(inst.min_notional, EXACT.multiply(inst.min_qty, entry))
    limits = size_limits(intent, ctx)
    if limits.binding == "cash":
        return (
            RejectCode.INSUFFICIENT_FUNDS,
            f"Only {fmt_money(ctx.free_cash, cur)} is free, not enough for the smallest "
            f"{intent.symbol} order of about {fmt_money(smallest, cur)} plus fees.",
        )
    hint = "" if intent.size_hint >= ONE else f" at {fmt_pct(intent.size_hint)} of full size"
    allowed = f"the {ctx.profile_name} profile allows buying at most"
    if qty <= ZERO or qty < inst.min_qty:
        # The unrounded size says more than the lot-floored zero would.
        most = max(qty, EXACT.multiply(limits.largest, intent.size_hint))
        return (
            RejectCode.BELOW_MIN_QTY,
            f"With {fmt_money(ctx.equity, cur)} in the account, {allowed} {fmt_num(most)} "
            f"{inst.base}{hint}, below the smallest {intent.symbol} order of "
            f"{fmt_num(inst.min_qty)} {inst.base}.",
        )
    return (
        RejectCode.BELOW_MIN_NOTIONAL,
        f"With {fmt_money(ctx.equity, cur)} in the account, {allowed} "
        f"{fmt_money(value, cur)} of {intent.symbol}{hint}, below the venue's minimum order "
        f"of {fmt_money(inst.min_notional, cur)}.",
    )
