"""Rejection reason codes and the number formatting every risk message shares.

Codes are stable, machine-readable strings (stored with rejections, shown by ``/why`` and the
API); the sentence next to them is for people, so numbers are written the way a person reads
them: ``0.4 %``, ``1,234.5 USDT``, ``0.00003127 BTC``.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class RejectCode(StrEnum):
    KILL_SWITCH = "kill_switch"
    ACCOUNT_PAUSED = "account_paused"
    ACCOUNT_HALTED = "account_halted"
    ACCOUNT_REDUCING = "account_reducing"
    COOLDOWN = "cooldown"
    STORE_UNAVAILABLE = "store_unavailable"
    COMMANDS_STALE = "commands_stale"
    STAGE_USER = "stage_user"
    STAGE_SYMBOL = "stage_symbol"
    STAGE_CAPITAL = "stage_capital"
    STAGE_PROFILE = "stage_profile"
    SHORT_NOT_SUPPORTED = "short_not_supported"
    NO_POSITION = "no_position"
    POSITION_EXISTS = "position_exists"
    ENTRY_WORKING = "entry_working"
    BAD_PRICE = "bad_price"
    BAD_SIZE = "bad_size"
    NO_BRACKET = "no_bracket"
    BRACKET_SIDE = "bracket_side"
    BAD_TICK = "bad_tick"
    STOP_TOO_TIGHT = "stop_too_tight"
    STOP_TOO_WIDE = "stop_too_wide"
    MIN_REWARD_RISK = "min_reward_risk"
    STALE_DATA = "stale_data"
    MAX_OPEN_POSITIONS = "max_open_positions"
    RISK_PER_TRADE = "risk_per_trade"
    MAX_POSITION = "max_position"
    BELOW_MIN_QTY = "below_min_qty"
    BELOW_MIN_NOTIONAL = "below_min_notional"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    ORDER_RATE = "order_rate"
    INVESTOR_HOLD = "investor_hold"
    INVESTOR_POSITION = "investor_position"
    AGENT_PROTECTION = "agent_protection"
    """A protection the agent declares refuses the entry (``rampart.agents.protections``)."""
    STOP_LOOSENED = "stop_loosened"
    """A moved stop-loss further from the entry than the profile allows."""
    AGENT_VETO = "agent_veto"
    """The agent's last look (confirm_entry, confirm_exit, a stake of 0) said no."""
    COVER_FIRST = "cover_first"
    """Just started or taken over, the account holds coins nothing protects yet: its
    entries wait until each is covered (``rampart.trading.cover_first``)."""


ACCOUNT_GATES = frozenset(
    {
        RejectCode.KILL_SWITCH,
        RejectCode.ACCOUNT_PAUSED,
        RejectCode.ACCOUNT_HALTED,
        RejectCode.ACCOUNT_REDUCING,
        RejectCode.COOLDOWN,
        RejectCode.STORE_UNAVAILABLE,
        RejectCode.COMMANDS_STALE,
        RejectCode.INVESTOR_HOLD,
        RejectCode.INVESTOR_POSITION,
        RejectCode.AGENT_PROTECTION,  # a lock holds for candles: told once, not every bar
        RejectCode.COVER_FIRST,
    }
)
"""Refusals that say the account cannot open anything right now (not about the trade)."""


_SIGNIFICANT = 6


def fmt_num(value: Decimal | int) -> str:
    """A quantity or price for a sentence: grouped thousands, no exponent, no trailing zeros.

    Large amounts keep two decimals; small ones keep six significant digits, so tiny
    BTC-quoted prices stay readable and exact enough to act on.
    """
    value = Decimal(value)
    if not value.is_finite():
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    # Below 1000 the sixth significant digit is always past the point (exponent <= -3).
    exponent = value.adjusted() - (_SIGNIFICANT - 1)
    rounded = value.quantize(Decimal(1).scaleb(exponent))
    text = f"{rounded:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def fmt_money(value: Decimal, currency: str) -> str:
    text = fmt_num(value)
    return f"{text} {currency}" if currency else text


def fmt_pct(fraction: Decimal, avoid: Decimal | None = None) -> str:
    """A fraction as a percentage with a space before the sign (``0.004`` → ``0.4 %``).

    ``avoid`` is the limit the value is compared against: when two decimals would print the
    value and the limit identically, more decimals are shown so the sentence never reads
    "1 % is below the minimum of 1 %".
    """
    for places in range(2, 9):
        shown = _pct_text(fraction, places)
        if avoid is None or avoid == fraction or shown != _pct_text(avoid, places):
            return f"{shown} %"
    return f"{_pct_text(fraction, 8)} %"


def _pct_text(fraction: Decimal, places: int) -> str:
    if not fraction.is_finite():
        return str(fraction)
    value = (fraction * 100).quantize(Decimal(1).scaleb(-places))
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def fmt_ratio(value: Decimal, avoid: Decimal | None = None) -> str:
    """A reward:risk ratio (``1.19`` not ``1.2`` when the limit is ``1.2``)."""
    for places in range(2, 9):
        step = Decimal(1).scaleb(-places)
        shown = value.quantize(step).normalize()
        if avoid is None or avoid == value or shown != avoid.quantize(step).normalize():
            return f"{shown:f}"
    return f"{value.normalize():f}"


def fmt_duration(ms: int) -> str:
    """A duration in the largest unit that keeps it readable ("90 minutes", "2 hours")."""
    seconds = ms / 1000  # a negative one is below 120 and told as 0 seconds
    if seconds < 120:
        n = max(round(seconds), 1) if ms > 0 else 0
        return f"{n} second{'s' if n != 1 else ''}"
    minutes = seconds / 60
    if minutes < 60:
        # Two minutes at least here (shorter ones are told in seconds), so always plural.
        return f"{round(minutes)} minutes"
    hours = minutes / 60
    n_h = round(hours, 1)
    text = f"{n_h:g}"
    return f"{text} hour{'s' if text != '1' else ''}"
