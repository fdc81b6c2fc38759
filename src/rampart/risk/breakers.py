"""Circuit breakers: move an account between ACTIVE, REDUCING and HALTED.

- daily loss: equity down ``daily_loss`` from the day's start → HALTED until the next UTC day;
- max drawdown: equity down ``max_drawdown`` from its peak → HALTED until an operator resumes;
- consecutive losses: ``consecutive_losses`` losing trades in a row → REDUCING (closes only)
  for ``cooldown_ms``, then ACTIVE again.

A HALTED account leaves HALTED only through a new UTC day (daily-loss halts only) or
:meth:`Breakers.resume`. Breakers read time only from the timestamps they are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rampart.domain.accounts import TradingState
from rampart.domain.money import ZERO
from rampart.risk.codes import fmt_duration, fmt_money, fmt_pct
from rampart.risk.profiles import RiskProfile

DAY_MS = 86_400_000

DAILY_LOSS = "daily_loss"
MAX_DRAWDOWN = "max_drawdown"
COOLDOWN = "cooldown"
RESUME = "resume"

_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


@dataclass(slots=True)
class BreakerState:
    state: TradingState = TradingState.ACTIVE
    day: int = 0
    """UTC day number (milliseconds since the epoch // one day) the day's figures belong to."""
    day_start_equity: Decimal = ZERO
    peak_equity: Decimal = ZERO
    consecutive_losses: int = 0
    cooldown_until_ms: int = 0
    halted_by: str = ""
    """The breaker that put the account in its current non-ACTIVE state, else empty."""
    reason: str = ""
    last_equity: Decimal = ZERO
    """The latest equity seen; an operator's resume rebases the limits on it."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "day": self.day,
            "day_start_equity": str(self.day_start_equity),
            "peak_equity": str(self.peak_equity),
            "consecutive_losses": self.consecutive_losses,
            "cooldown_until_ms": self.cooldown_until_ms,
            "halted_by": self.halted_by,
            "reason": self.reason,
            "last_equity": str(self.last_equity),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BreakerState:
        return cls(
            state=TradingState(data["state"]),
            day=int(data["day"]),
            day_start_equity=Decimal(str(data["day_start_equity"])),
            peak_equity=Decimal(str(data["peak_equity"])),
            consecutive_losses=int(data["consecutive_losses"]),
            cooldown_until_ms=int(data["cooldown_until_ms"]),
            halted_by=str(data["halted_by"]),
            reason=str(data["reason"]),
            last_equity=Decimal(str(data.get("last_equity", data["peak_equity"]))),
        )


@dataclass(frozen=True, slots=True)
class Trip:
    """One breaker decision: a trip, an escalation or a release, with a sentence for people."""

    breaker: str
    old_state: TradingState
    new_state: TradingState
    message: str

    @property
    def released(self) -> bool:
        """True when the account became less restricted (a new day, a cooldown end, a resume)."""
        return _SEVERITY[self.new_state] < _SEVERITY[self.old_state]


class Breakers:
    """The breaker rules of one profile. State lives in :class:`BreakerState`, so it persists."""

    def __init__(self, profile: RiskProfile, currency: str = "") -> None:
        self.profile = profile
        self.currency = currency
        # The loss each limit allows, in money, for the day's start and the peak last seen:
        # worked out again only when that equity changes (asked on every candle).
        self._day_start: Decimal | None = None
        self._day_room = ZERO
        self._peak: Decimal | None = None
        self._peak_room = ZERO

    def new_state(self, equity: Decimal, now_ms: int) -> BreakerState:
        return BreakerState(
            day=now_ms // DAY_MS,
            day_start_equity=equity,
            peak_equity=equity,
            last_equity=equity,
        )

    # -- equity -------------------------------------------------------------------------------

    def on_equity(self, bs: BreakerState, equity: Decimal, now_ms: int) -> list[Trip]:
        trips: list[Trip] = []
        bs.last_equity = equity
        day = now_ms // DAY_MS
        if day > bs.day:
            bs.day = day
            bs.day_start_equity = equity
            if bs.state is TradingState.HALTED and bs.halted_by == DAILY_LOSS:
                trips.append(self._lift_daily_loss(bs, now_ms))
        if equity > bs.peak_equity:  # max() keeps the first of equals: the old peak
            bs.peak_equity = equity
        # Asked on every candle: each check runs only once the loss reaches what its limit
        # allows (the same comparison the check makes first), which most candles do not.
        start = bs.day_start_equity
        if start is not self._day_start:
            self._day_start, self._day_room = start, self.profile.daily_loss * start
        if start - equity >= self._day_room:
            trips.extend(self._check_daily_loss(bs, equity))
        peak = bs.peak_equity
        if peak is not self._peak:
            self._peak, self._peak_room = peak, self.profile.max_drawdown * peak
        if peak - equity >= self._peak_room:
            trips.extend(self._check_drawdown(bs, equity))
        return trips

    def _lift_daily_loss(self, bs: BreakerState, now_ms: int) -> Trip:
        old = bs.state
        if now_ms < bs.cooldown_until_ms:
            # A cooldown that started before the halt still has time to run.
            bs.state, bs.halted_by = TradingState.REDUCING, COOLDOWN
            bs.reason = self._cooldown_sentence(bs.cooldown_until_ms - now_ms, bs.cooldown_until_ms)
            tail = f", and the cooldown still runs: {bs.reason}"
        else:
            bs.state, bs.halted_by, bs.reason = TradingState.ACTIVE, "", ""
            tail = " and trading resumes"
        return Trip(
            DAILY_LOSS,
            old,
            bs.state,
            f"A new UTC day began: the daily loss limit starts again from "
            f"{fmt_money(bs.day_start_equity, self.currency)}{tail}.",
        )

    def _check_daily_loss(self, bs: BreakerState, equity: Decimal) -> list[Trip]:
        start, limit = bs.day_start_equity, self.profile.daily_loss
        if bs.state is TradingState.HALTED or start <= ZERO:
            return []
        loss = start - equity
        if loss < limit * start:
            return []
        message = (
            f"The account lost {fmt_money(loss, self.currency)} ({fmt_pct(loss / start)}) "
            f"today, reaching the {self.profile.name} profile's daily limit of "
            f"{fmt_pct(limit)}: trading is halted until the next UTC day."
        )
        return [self._set(bs, TradingState.HALTED, DAILY_LOSS, message)]

    def _check_drawdown(self, bs: BreakerState, equity: Decimal) -> list[Trip]:
        peak, limit = bs.peak_equity, self.profile.max_drawdown
        if bs.halted_by == MAX_DRAWDOWN or peak <= ZERO:
            return []
        drop = peak - equity
        if drop < limit * peak:
            return []
        message = (
            f"The account is {fmt_money(drop, self.currency)} ({fmt_pct(drop / peak)}) below "
            f"its peak of {fmt_money(peak, self.currency)}, reaching the {self.profile.name} "
            f"profile's drawdown limit of {fmt_pct(limit)}: trading is halted until an "
            "operator resumes it."
        )
        return [self._set(bs, TradingState.HALTED, MAX_DRAWDOWN, message)]

    # -- trades and time ----------------------------------------------------------------------

    def on_trade_closed(self, bs: BreakerState, pnl: Decimal, now_ms: int) -> list[Trip]:
        """Count losing trades in a row; a win resets the count, a break-even leaves it."""
        if pnl < ZERO:
            bs.consecutive_losses += 1
        elif pnl > ZERO:
            bs.consecutive_losses = 0
        losses = bs.consecutive_losses
        if losses < self.profile.consecutive_losses:
            return []
        bs.consecutive_losses = 0
        bs.cooldown_until_ms = max(bs.cooldown_until_ms, now_ms + self.profile.cooldown_ms)
        message = (
            f"{losses} losing trades in a row: "
            + self._cooldown_sentence(bs.cooldown_until_ms - now_ms, bs.cooldown_until_ms)
            + "."
        )
        old = bs.state
        if old is TradingState.ACTIVE or (
            old is TradingState.REDUCING and bs.halted_by == COOLDOWN
        ):
            return [self._set(bs, TradingState.REDUCING, COOLDOWN, message)]
        # Already halted or reducing for another reason: that stays, the cooldown is recorded.
        return [Trip(COOLDOWN, old, old, message)]

    def on_time(self, bs: BreakerState, now_ms: int) -> list[Trip]:
        """End a cooldown whose time has come (exactly at ``cooldown_until_ms``)."""
        if (
            bs.state is TradingState.REDUCING
            and bs.halted_by == COOLDOWN
            and now_ms >= bs.cooldown_until_ms
        ):
            old = bs.state
            bs.state, bs.halted_by, bs.reason = TradingState.ACTIVE, "", ""
            return [
                Trip(
                    COOLDOWN,
                    old,
                    bs.state,
                    "The cooldown after a run of losing trades is over: new positions are "
                    "allowed again.",
                )
            ]
        return []

    def resume(self, bs: BreakerState, now_ms: int) -> list[Trip]:
        """An operator's resume: back to ACTIVE, limits measured afresh from the current equity.

        Without the rebase the next equity update would trip the same breaker again at once.
        """
        del now_ms  # the resume takes effect immediately; kept for a uniform signature
        if bs.state is TradingState.ACTIVE:
            return []
        old, was = bs.state, bs.halted_by or "a breaker"
        bs.state, bs.halted_by, bs.reason = TradingState.ACTIVE, "", ""
        bs.cooldown_until_ms = 0
        bs.consecutive_losses = 0
        bs.peak_equity = bs.day_start_equity = bs.last_equity
        return [
            Trip(
                RESUME,
                old,
                bs.state,
                f"Trading was resumed after the {was.replace('_', ' ')} stop; loss limits now "
                f"count from {fmt_money(bs.last_equity, self.currency)}.",
            )
        ]

    @staticmethod
    def position_loss_exceeded(net_pnl: Decimal, equity: Decimal, profile: RiskProfile) -> bool:
        """Whether one open position has lost more than its limit: a stop failed (a gap)."""
        if net_pnl >= ZERO:
            return False
        if equity <= ZERO:
            return True
        return -net_pnl > profile.position_loss_limit * equity

    # -- helpers ------------------------------------------------------------------------------

    def _set(self, bs: BreakerState, state: TradingState, breaker: str, message: str) -> Trip:
        old = bs.state
        bs.state, bs.halted_by, bs.reason = state, breaker, message
        return Trip(breaker, old, state, message)

    @staticmethod
    def _cooldown_sentence(remaining_ms: int, until_ms: int) -> str:
        until = datetime.fromtimestamp(until_ms / 1000, tz=UTC)
        return f"new positions wait {fmt_duration(remaining_ms)}, until {until:%H:%M} UTC"
