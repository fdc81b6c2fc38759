"""What an account already has on a symbol, and the limits on it.

Exposure on a symbol is the position's filled quantity plus the unfilled remainder of every
entry on it that is not done yet (submitted, partly filled, or with a submit or cancel the
venue has not confirmed): such an entry can still fill, so it is counted as if it will. A
partly filled entry counts once: its filled part is the position, its remainder is working.

Two rules read it. One position per symbol: an entry is refused while the symbol has a
position or a working entry. The largest position: the new entry's value plus what the symbol
already holds or is buying stays within the profile's share of equity (the sizer leaves room
for it, and the guard after sizing checks it again).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rampart.domain.intents import Intent
from rampart.domain.money import ZERO
from rampart.risk.codes import RejectCode, fmt_money, fmt_num, fmt_pct
from rampart.risk.sizing import EXACT, committed_value

if TYPE_CHECKING:
    from rampart.risk.context import RiskContext

Rejection = tuple[RejectCode, str]


def _about(value: Decimal, currency: str) -> str:
    # A market entry on a symbol with no price yet has no value to show, only its quantity.
    return f" (about {fmt_money(value, currency)})" if value > ZERO else ""


def check_exposure(intent: Intent, ctx: RiskContext) -> Rejection | None:
    """One position per symbol (a working entry is one), then the count of open ones."""
    base, symbol = ctx.instrument.base, intent.symbol
    if ctx.position_qty > ZERO:
        buying = (
            f" and an entry is still buying {fmt_num(ctx.working_qty)} {base} more"
            f"{_about(ctx.working_value, ctx.currency)}"
            if ctx.working_qty > ZERO
            else ""
        )
        return (
            RejectCode.POSITION_EXISTS,
            f"This account already holds {fmt_num(ctx.position_qty)} {base} on {symbol}"
            f"{buying}; it keeps one position per symbol.",
        )
    if ctx.working_qty > ZERO:
        about = _about(ctx.working_value, ctx.currency)
        return (
            RejectCode.ENTRY_WORKING,
            f"An entry for {fmt_num(ctx.working_qty)} {base} on {symbol}{about} is still "
            "working; this account keeps one position per symbol, so a new entry waits until "
            "that one fills, is canceled or expires.",
        )
    if ctx.open_positions >= ctx.profile.max_open:
        return (
            RejectCode.MAX_OPEN_POSITIONS,
            f"This account already has {ctx.open_positions} open positions or pending "
            f"entries, the most the {ctx.profile_name} profile allows.",
        )
    return None


def check_position_value(intent: Intent, ctx: RiskContext, qty: Decimal) -> Rejection | None:
    """The guard after sizing: ``qty`` at the entry, with what the symbol already holds or is
    buying, is worth at most the profile's largest position."""
    value = EXACT.multiply(qty, intent.entry_price)
    held = committed_value(intent, ctx)
    limit = EXACT.multiply(ctx.profile.max_position, ctx.equity)
    total = EXACT.add(value, held)
    if total <= limit:
        return None
    cur = ctx.currency
    already = (
        f" with the {fmt_money(held, cur)} already held or being bought on {intent.symbol}"
        if held > ZERO
        else ""
    )
    return (
        RejectCode.MAX_POSITION,
        f"This position would be worth {fmt_money(total, cur)} "
        f"({fmt_pct(total / ctx.equity)} of the account){already}; the {ctx.profile_name} "
        f"profile allows at most {fmt_money(limit, cur)} ({fmt_pct(ctx.profile.max_position)}).",
    )
