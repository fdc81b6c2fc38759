"""Circuit breakers: move an account between ACTIVE, REDUCING and HALTED.

- daily loss: equity down ``daily_loss`` from the day's start → HALTED until the next UTC day;
- max drawdown: equity down ``max_drawdown`` from its peak → HALTED until an operator resumes;
- consecutive losses: ``consecutive_losses`` losing trades in a row → REDUCING (closes only)
  for ``cooldown_ms``, then ACTIVE again.

A HALTED account leaves HALTED only through a new UTC day (daily-loss halts only) or
:meth:`Breakers.resume`. Breakers read time only from the timestamps they are given.

Losses are the strategy's own: a deposit, a withdrawal or the investor's own trade is a cash
flow (:mod:`rampart.risk.cash_flows`) that rebases the day's start and the peak
(:meth:`BreakerState.on_cash_flow`), and a trip's sentence names the flows it left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rampart.domain.accounts import TradingState
from rampart.domain.money import ZERO
from rampart.risk.cash_flows import KEPT, CashFlow, scale
from rampart.risk.codes import fmt_duration, fmt_money, fmt_pct
from rampart.risk.profiles import RiskProfile
from rampart.risk.restrictions import (
    COOLDOWN,
    DAILY_LOSS,
    FRACTION,
    HALTED,
    MAX_DRAWDOWN,
    REDUCING,
    TRADES,
    Restriction,
)

DAY_MS = 86_400_000

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
    restriction: Restriction | None = None
    """Why, with the figures and what lifts it (``reason`` is its sentence); None when ACTIVE."""
    flows: tuple[CashFlow, ...] = ()
    """The latest cash flows the limits left out (at most ``cash_flows.KEPT``), oldest first."""
    peak_ms: int = 0
    """When the equity last set its peak (a flow before it is not in the drawdown's sentence)."""

    def on_cash_flow(self, flow: CashFlow, equity_before: Decimal) -> None:
        """Leave ``flow`` out of the strategy's result: the day's start and the peak move by the
        flow's share of ``equity_before`` (time-weighted), the flow is remembered."""
        factor = scale(equity_before, flow.amount)
        after = equity_before + flow.amount
        if factor is None:
            self.day_start_equity = self.peak_equity = max(after, ZERO)
        else:
            self.day_start_equity *= factor
            self.peak_equity *= factor
        self.last_equity = after
        self.flows = (*self.flows, flow)[-KEPT:]

    def flows_since(self, since_ms: int) -> tuple[CashFlow, ...]:
        return tuple(f for f in self.flows if f.ts >= since_ms)

    def restrict(self, state: TradingState, restriction: Restriction | None) -> str:
        """Enter ``state`` for ``restriction`` (None: back to ACTIVE); returns the sentence."""
        self.state = state
        self.restriction = restriction
        self.halted_by = "" if restriction is None else restriction.cause
        self.reason = "" if restriction is None else restriction.text
        return self.reason

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
            "restriction": None if self.restriction is None else self.restriction.to_dict(),
            "flows": [flow.to_list() for flow in self.flows],
            "peak_ms": self.peak_ms,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BreakerState:
        state = TradingState(data["state"])
        saved = data.get("restriction")
        restriction = (
            Restriction.from_dict(saved)
            if saved
            else _before_restrictions(state, str(data["halted_by"]), str(data["reason"]), data)
        )
        return cls(
            state=state,
            day=int(data["day"]),
            day_start_equity=Decimal(str(data["day_start_equity"])),
            peak_equity=Decimal(str(data["peak_equity"])),
            consecutive_losses=int(data["consecutive_losses"]),
            cooldown_until_ms=int(data["cooldown_until_ms"]),
            halted_by=str(data["halted_by"]),
            reason=str(data["reason"]),
            last_equity=Decimal(str(data.get("last_equity", data["peak_equity"]))),
            restriction=restriction,
            flows=tuple(CashFlow.from_list(f) for f in data.get("flows", ())),
            peak_ms=int(data.get("peak_ms", 0)),
        )


def _left_out(flows: tuple[CashFlow, ...]) -> str:
    """What the figures leave out, for a trip's sentence ("" when no flow came in between)."""
    if not flows:
        return ""
    named = "; ".join(flow.seen() for flow in flows[-3:])
    more = f" and {len(flows) - 3} more" if len(flows) > 3 else ""
    return f", the strategy's own result: the {named}{more} left out"


def _before_restrictions(
    state: TradingState, halted_by: str, reason: str, data: dict[str, Any]
) -> Restriction | None:
    """A checkpoint written before restrictions were kept: its sentence, and what lifts it."""
    if state is TradingState.ACTIVE or not halted_by:
        return None
    effect = HALTED if state is TradingState.HALTED else REDUCING
    if halted_by == DAILY_LOSS:
        return Restriction(DAILY_LOSS, effect, reason, resumes_at=(int(data["day"]) + 1) * DAY_MS)
    if halted_by == COOLDOWN:
        return Restriction(COOLDOWN, effect, reason, resumes_at=int(data["cooldown_until_ms"]))
    if halted_by == MAX_DRAWDOWN:
        return Restriction(MAX_DRAWDOWN, effect, reason, needs_operator=True)
    return Restriction(halted_by, effect, reason, lifts="lifts once its cause is gone")


@dataclass(frozen=True, slots=True)
class Trip:
    """One breaker decision: a trip, an escalation or a release, with a sentence for people."""

    breaker: str
    old_state: TradingState
    new_state: TradingState
    message: str
    restriction: Restriction | None = None
    """What now restricts the account (its ``text`` is the message); None on a release."""

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
        # The last equity both limits were found clear at, for which state: an unchanged
        # equity on the same day, start and peak is clear again (most candles while flat).
        self._clear: tuple[BreakerState, Decimal] | None = None

    def new_state(self, equity: Decimal, now_ms: int) -> BreakerState:
        return BreakerState(
            day=now_ms // DAY_MS,
            day_start_equity=equity,
            peak_equity=equity,
            last_equity=equity,
            peak_ms=now_ms,
        )

    # -- equity -------------------------------------------------------------------------------

    def on_equity(
        self, bs: BreakerState, equity: Decimal, now_ms: int, *, timed: bool = False
    ) -> list[Trip]:
        """The trips ``equity`` causes now. ``timed`` (the guard, on every candle): a
        cooldown (REDUCING) is first asked whether its time has run out (:meth:`on_time`),
        in this one call, since only a cooldown ends with time."""
        if timed and bs.state is TradingState.REDUCING:
            return self.on_time(bs, now_ms) + self.on_equity(bs, equity, now_ms)
        bs.last_equity = equity
        day = now_ms // DAY_MS
        clear = self._clear
        if (
            clear is not None
            and clear[0] is bs
            and day == bs.day
            and bs.day_start_equity is self._day_start
            and bs.peak_equity is self._peak
            and equity == clear[1]
        ):
            return []  # the same comparisons as last time, with the same (clear) outcome
        trips: list[Trip] = []
        if day > bs.day:
            bs.day = day
            bs.day_start_equity = equity
            if bs.state is TradingState.HALTED and bs.halted_by == DAILY_LOSS:
                trips.append(self._lift_daily_loss(bs, now_ms))
        if equity > bs.peak_equity:  # max() keeps the first of equals: the old peak
            bs.peak_equity = equity
            bs.peak_ms = now_ms
        # Asked on every candle: each check runs only once the loss reaches what its limit
        # allows (the same comparison the check makes first), which most candles do not.
        start = bs.day_start_equity
        if start is not self._day_start:
            self._day_start, self._day_room = start, self.profile.daily_loss * start
        daily_reached = start - equity >= self._day_room
        if daily_reached:
            trips.extend(self._check_daily_loss(bs, equity))
        peak = bs.peak_equity
        if peak is not self._peak:
            self._peak, self._peak_room = peak, self.profile.max_drawdown * peak
        if peak - equity >= self._peak_room:
            trips.extend(self._check_drawdown(bs, equity))
        elif not daily_reached:
            self._clear = (bs, equity)
        return trips

    def _lift_daily_loss(self, bs: BreakerState, now_ms: int) -> Trip:
        old = bs.state
        if now_ms < bs.cooldown_until_ms:
            # A cooldown that started before the halt still has time to run.
            restriction = self._cooldown(None, bs.cooldown_until_ms, now_ms)
            tail = (
                f", but the cooldown still runs. {bs.restrict(TradingState.REDUCING, restriction)}"
            )
        else:
            bs.restrict(TradingState.ACTIVE, None)
            tail = " and trading resumes."
        return Trip(
            DAILY_LOSS,
            old,
            bs.state,
            f"A new UTC day began: the daily loss limit starts again from "
            f"{fmt_money(bs.day_start_equity, self.currency)}{tail}",
            bs.restriction,
        )

    def _check_daily_loss(self, bs: BreakerState, equity: Decimal) -> list[Trip]:
        start, limit = bs.day_start_equity, self.profile.daily_loss
        if bs.state is TradingState.HALTED or start <= ZERO:
            return []
        # on_equity calls this only once the loss reaches ``limit * start``.
        loss = start - equity
        share = loss / start
        restriction = Restriction(
            DAILY_LOSS,
            HALTED,
            f"lost {fmt_money(loss, self.currency)} ({fmt_pct(share, limit)}) today "
            f"({self.profile.name} profile){_left_out(bs.flows_since(bs.day * DAY_MS))}",
            value=share,
            threshold=limit,
            unit=FRACTION,
            resumes_at=(bs.day + 1) * DAY_MS,
            lifts="the next UTC day",
        )
        return [self._set(bs, TradingState.HALTED, restriction)]

    def _check_drawdown(self, bs: BreakerState, equity: Decimal) -> list[Trip]:
        peak, limit = bs.peak_equity, self.profile.max_drawdown
        if bs.halted_by == MAX_DRAWDOWN or peak <= ZERO:
            return []
        # on_equity calls this only once the drop reaches ``limit * peak``.
        drop = peak - equity
        share = drop / peak
        restriction = Restriction(
            MAX_DRAWDOWN,
            HALTED,
            f"equity {fmt_money(drop, self.currency)} ({fmt_pct(share, limit)}) below its peak "
            f"of {fmt_money(peak, self.currency)} ({self.profile.name} profile)"
            f"{_left_out(bs.flows_since(bs.peak_ms))}",
            value=share,
            threshold=limit,
            unit=FRACTION,
            needs_operator=True,
        )
        return [self._set(bs, TradingState.HALTED, restriction)]

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
        restriction = self._cooldown(losses, bs.cooldown_until_ms, now_ms)
        old = bs.state
        if old is TradingState.ACTIVE or (
            old is TradingState.REDUCING and bs.halted_by == COOLDOWN
        ):
            return [self._set(bs, TradingState.REDUCING, restriction)]
        # Already halted or reducing for another reason: that stays, the cooldown is recorded.
        return [Trip(COOLDOWN, old, old, restriction.text)]

    def on_time(self, bs: BreakerState, now_ms: int) -> list[Trip]:
        """End a cooldown whose time has come (exactly at ``cooldown_until_ms``)."""
        if (
            bs.state is TradingState.REDUCING
            and bs.halted_by == COOLDOWN
            and now_ms >= bs.cooldown_until_ms
        ):
            old = bs.state
            bs.restrict(TradingState.ACTIVE, None)
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
        if bs.state is TradingState.ACTIVE:
            return []
        old, was = bs.state, bs.halted_by or "a breaker"
        bs.restrict(TradingState.ACTIVE, None)
        bs.cooldown_until_ms = 0
        bs.consecutive_losses = 0
        bs.peak_equity = bs.day_start_equity = bs.last_equity
        bs.peak_ms = now_ms
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
    def position_loss_exceeded(
        net_pnl: Decimal,
        equity: Decimal,
        profile: RiskProfile,
        at_stop: Decimal | Callable[[], Decimal] = ZERO,
    ) -> bool:
        """Whether one open position has lost more than its limit: a stop failed (a gap).

        ``at_stop`` is what the position loses at its own stop-loss: a withdrawal that leaves
        the limit below it does not sell a position its stop still protects. Given as a
        function (``Position.loss_at_stop``), it is asked only for a loss past the limit on
        equity: the guard asks this on every held candle at a loss, and most are far from it."""
        # With no equity left any loss is past the limit: the product is zero or negative.
        if net_pnl >= ZERO or -net_pnl <= profile.position_loss_limit * equity:
            return False
        return -net_pnl > (at_stop() if callable(at_stop) else at_stop)

    @staticmethod
    def position_loss_kills(
        net_pnl: Decimal, profile: RiskProfile, limit: Decimal | None = None
    ) -> bool:
        """Whether one open position's unrealised loss is past ``kill_on_position_loss`` (an
        amount in the quote asset; zero is off): the account is halted and flattened.
        ``limit``, when given, replaces the profile's (the rollout stage's amount)."""
        limit = profile.kill_on_position_loss if limit is None else limit
        return limit > ZERO and -net_pnl > limit

    # -- helpers ------------------------------------------------------------------------------

    def _set(self, bs: BreakerState, state: TradingState, restriction: Restriction) -> Trip:
        old = bs.state
        message = bs.restrict(state, restriction)
        return Trip(restriction.cause, old, state, message, restriction)

    def _cooldown(self, losses: int | None, until_ms: int, now_ms: int) -> Restriction:
        """``losses`` in a row started it (None: a cooldown that outlived a daily-loss halt)."""
        limit = self.profile.consecutive_losses
        return Restriction(
            COOLDOWN,
            REDUCING,
            f"{losses if losses is not None else limit} losing trades in a row",
            value=Decimal(losses if losses is not None else limit),
            threshold=Decimal(limit),
            unit=TRADES,
            resumes_at=until_ms,
            lifts=f"after a wait of {fmt_duration(until_ms - now_ms)}",
            since=now_ms,
        )
