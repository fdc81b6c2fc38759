"""Entry rules that need no sizing: rollout stage, data freshness and the bracket.

Each rule returns ``None`` when the intent passes, else a reason code and one sentence with
the numbers a user needs to fix it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rampart.domain.intents import Intent
from rampart.domain.money import ONE, ZERO
from rampart.risk.codes import RejectCode, fmt_duration, fmt_money, fmt_num, fmt_pct, fmt_ratio

if TYPE_CHECKING:
    from rampart.risk.context import RiskContext

Rejection = tuple[RejectCode, str]


def _listing(names: frozenset[str]) -> str:
    ordered = sorted(names)
    if not ordered:
        return "nothing"
    if len(ordered) == 1:
        return ordered[0]
    return ", ".join(ordered[:-1]) + " and " + ordered[-1]


def check_stage(intent: Intent, ctx: RiskContext) -> Rejection | None:
    stage = ctx.stage
    label = f"The '{stage.name}' rollout stage"
    if not stage.allows_user(ctx.owner):
        who = f"this account's owner ({ctx.owner})" if ctx.owner else "this account (no owner)"
        return (
            RejectCode.STAGE_USER,
            f"{label} is open to invited users only, and {who} is not on the list yet.",
        )
    if not stage.allows_symbol(intent.symbol):
        return (
            RejectCode.STAGE_SYMBOL,
            f"{label} trades only {_listing(stage.symbols or frozenset())}, not {intent.symbol}.",
        )
    low, high = stage.min_capital, stage.max_capital
    if (low is not None and ctx.capital < low) or (high is not None and ctx.capital > high):
        cur = ctx.currency  # read for a refusal's sentence only
        if low is not None and high is not None:
            bounds = f"between {fmt_num(low)} and {fmt_money(high, cur)}"
        elif low is not None:
            bounds = f"at least {fmt_money(low, cur)}"
        else:
            bounds = f"at most {fmt_money(high or ZERO, cur)}"
        return (
            RejectCode.STAGE_CAPITAL,
            f"{label} allows {bounds} of capital per account; this account has "
            f"{fmt_money(ctx.capital, cur)}.",
        )
    if not stage.allows_profile(ctx.profile_name):
        allowed = stage.profiles or frozenset()
        noun = "profile" if len(allowed) == 1 else "profiles"
        return (
            RejectCode.STAGE_PROFILE,
            f"{label} allows only the {_listing(allowed)} {noun}; this account uses "
            f"{ctx.profile_name}.",
        )
    return None


def check_staleness(intent: Intent, ctx: RiskContext) -> Rejection | None:
    limit = ctx.profile.max_data_age_ms
    if ctx.feed_stale:
        return (
            RejectCode.STALE_DATA,
            f"The {intent.symbol} price feed has stopped updating, so no position is opened "
            "until it is back.",
        )
    if ctx.data_suspect:
        return (
            RejectCode.STALE_DATA,
            f"The latest {intent.symbol} price looked wrong (far outside its recent moves), so "
            "no position is opened until the next price confirms or corrects it.",
        )
    if ctx.data_ts <= 0:
        return (
            RejectCode.STALE_DATA,
            f"There is no {intent.symbol} price yet, so no position is opened without fresh "
            "prices.",
        )
    age = ctx.now_ms - ctx.data_ts
    if age > limit:
        return (
            RejectCode.STALE_DATA,
            f"The latest {intent.symbol} price is {fmt_duration(age)} old, more than the "
            f"{fmt_duration(limit)} allowed, so no position is opened on stale prices.",
        )
    return None


PRICE_CEILING = Decimal("1e15")
"""Above any real price; keeps tick and size arithmetic inside Decimal's precision."""


def _bad_number(value: Decimal) -> bool:
    return not value.is_finite() or abs(value) >= PRICE_CEILING


def check_bracket(intent: Intent, ctx: RiskContext) -> Rejection | None:
    entry, stop, take = intent.entry_price, intent.stop_loss, intent.take_profit
    inst = ctx.instrument
    if _bad_number(entry) or entry <= ZERO:
        return (
            RejectCode.BAD_PRICE,
            f"The entry price must be above zero and below {fmt_num(PRICE_CEILING)}; got {entry}.",
        )
    if _bad_number(stop) or _bad_number(take):
        return (
            RejectCode.BAD_PRICE,
            f"The stop-loss and take-profit must be prices; got {stop} and {take}.",
        )
    hint = intent.size_hint
    if _bad_number(hint) or not ZERO < hint <= ONE:
        return (
            RejectCode.BAD_SIZE,
            "The size must be a fraction above 0 and at most 1 of the largest size the "
            f"profile allows; got {hint}.",
        )
    missing = [name for name, p in (("stop-loss", stop), ("take-profit", take)) if p <= ZERO]
    if missing:
        return (
            RejectCode.NO_BRACKET,
            "Every new position needs a stop-loss and a take-profit; this one has no "
            f"{' and no '.join(missing)}.",
        )
    if not stop < entry < take:
        cur = ctx.currency  # read for a refusal's sentence only
        return (
            RejectCode.BRACKET_SIDE,
            "For a buy the stop-loss must be below the entry and the take-profit above it; "
            f"here the stop-loss is {fmt_money(stop, cur)}, the entry "
            f"{fmt_money(entry, cur)} and the take-profit {fmt_money(take, cur)}.",
        )
    # The entry is a market order's reference price, so only the resting exits need a tick.
    for name, price in (("stop-loss", stop), ("take-profit", take)):
        if not inst.price_on_tick(price):
            cur = ctx.currency  # read for a refusal's sentence only
            return (
                RejectCode.BAD_TICK,
                f"The {name} price of {price:f} {cur} is not a multiple of the "
                f"{intent.symbol} price step of {inst.tick_size:f} {cur}; "
                f"{fmt_money(inst.round_price(price), cur)} would be.",
            )
    p = ctx.profile
    distance = (entry - stop) / entry
    tight = distance < p.min_stop
    if tight or distance > p.max_stop:
        code = RejectCode.STOP_TOO_TIGHT if tight else RejectCode.STOP_TOO_WIDE
        near = p.min_stop if tight else p.max_stop
        return (
            code,
            f"The stop-loss is {fmt_pct(distance, avoid=near)} below the entry; the "
            f"{ctx.profile_name} profile needs between {fmt_pct(p.min_stop)} and "
            f"{fmt_pct(p.max_stop)}.",
        )
    reward_risk = (take - entry) / (entry - stop)
    if reward_risk < p.min_rr:
        cur = ctx.currency
        return (
            RejectCode.MIN_REWARD_RISK,
            f"The take-profit would gain only {fmt_ratio(reward_risk, avoid=p.min_rr)} times "
            f"what the stop-loss would lose ({fmt_money(take - entry, cur)} against "
            f"{fmt_money(entry - stop, cur)} per {inst.base}); the {ctx.profile_name} profile "
            f"needs at least {fmt_ratio(p.min_rr)} times.",
        )
    return None
