"""Why an account does not trade normally, and what lifts it: one value for every front.

A breaker that trips, an operator's or investor's pause, the kill switch, a rollout stage or a
venue report the books cannot explain each make a :class:`Restriction`: the cause, what was
measured against which threshold, and whether it lifts by itself (and when) or needs the
operator. Its :attr:`~Restriction.text` is the sentence the API's ``why``, the panel's "Why",
the bot's /portfolio, the breaker notices and the risk engine's refusals all show; nothing else
words it, so the fronts cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rampart.clock import shown_ms
from rampart.risk.codes import fmt_money, fmt_num, fmt_pct
from rampart.risk.profiles import RiskProfile

HALTED = "halted"
"""No new orders; protective orders stay until positions are flat."""
REDUCING = "reducing"
"""Closes only."""
PAUSED = "paused"
"""No new positions (a pause, the kill switch)."""

DAILY_LOSS = "daily_loss"
MAX_DRAWDOWN = "max_drawdown"
COOLDOWN = "cooldown"
POSITION_LOSS = "position_loss"
KILL_ON_POSITION_LOSS = "kill_on_position_loss"
"""A position lost more than ``kill_on_position_loss`` (an amount): halted until an operator
looks (also the breaker name of its ``BreakerTripped`` event, which PositionLossKill counts)."""
KILL_SWITCH = "kill_switch"
PAUSE = "paused"
ROLLOUT_STAGE = "rollout_stage"
VENUE_REPORT = "venue_report"

OWNER_LIFTS = "resumes when the investor (/resume) or the operator resumes it"

FRACTION = "fraction"
"""``value`` and ``threshold`` are shares (0.15 = 15 %)."""
TRADES = "trades"
"""``value`` and ``threshold`` count losing trades in a row."""

NAMES = {
    DAILY_LOSS: "Daily loss breaker",
    MAX_DRAWDOWN: "Max drawdown breaker",
    COOLDOWN: "Losing-streak cooldown",
    POSITION_LOSS: "Position loss limit",
    KILL_ON_POSITION_LOSS: "Position loss kill",
    KILL_SWITCH: "Kill switch",
    PAUSE: "Paused",
    ROLLOUT_STAGE: "Rollout stage",
    VENUE_REPORT: "Unexplained venue report",
}


def utc(ms: int) -> str:
    """A business time as people read it: on a simulated feed (the /demo), the wall time it
    stands for, not the replay's."""
    return f"{datetime.fromtimestamp(shown_ms(ms) / 1000, tz=UTC):%Y-%m-%d %H:%M} UTC"


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True, slots=True)
class Restriction:
    cause: str
    """The breaker or control: daily_loss, max_drawdown, cooldown, position_loss, kill_switch,
    paused, rollout_stage, venue_report."""
    effect: str
    """What it does to the account: halted, reducing (closes only) or paused."""
    measured: str
    """What was measured (or the reason given), in words: "lost 450 USDT (4.5 %) today"."""
    value: Decimal | None = None
    threshold: Decimal | None = None
    unit: str = ""
    """How ``value`` and ``threshold`` read: ``fraction`` or ``trades``."""
    resumes_at: int | None = None
    """When it lifts by itself (UTC ms); None when it does not."""
    needs_operator: bool = False
    lifts: str = ""
    """What else lifts it, in words (after ``resumes_at`` when both are set)."""
    by: str = ""
    """Who engaged it (a pause, the kill switch); empty for a breaker."""
    since: int = 0

    @property
    def name(self) -> str:
        return NAMES.get(self.cause, self.cause.replace("_", " ").capitalize())

    def limit(self) -> str:
        if self.threshold is None:
            return ""
        if self.unit == FRACTION:
            return f"limit {fmt_pct(self.threshold, self.value)}"
        return f"limit {fmt_num(self.threshold)}"

    def resumes(self) -> str:
        if self.needs_operator:
            verb = "release" if self.cause == KILL_SWITCH else "resume"
            return f"needs the operator to {verb} it (it does not resume by itself)"
        if self.resumes_at is not None:
            tail = f", {self.lifts}" if self.lifts else ""
            return f"resumes by itself at {utc(self.resumes_at)}{tail}"
        return self.lifts or "resumes once its cause is gone"

    @property
    def text(self) -> str:
        """The one sentence every front shows."""
        head = f"{self.name} ({self.by})" if self.by else self.name
        limit = self.limit()
        measured = self.measured.rstrip(". ")
        body = f"{measured}, {limit}" if limit else measured
        return f"{head}: {body}; {self.resumes()}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "effect": self.effect,
            "measured": self.measured,
            "value": None if self.value is None else str(self.value),
            "threshold": None if self.threshold is None else str(self.threshold),
            "unit": self.unit,
            "resumes_at": self.resumes_at,
            "needs_operator": self.needs_operator,
            "lifts": self.lifts,
            "by": self.by,
            "since": self.since,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Restriction:
        resumes = data.get("resumes_at")
        return cls(
            cause=str(data["cause"]),
            effect=str(data["effect"]),
            measured=str(data.get("measured", "")),
            value=_decimal(data.get("value")),
            threshold=_decimal(data.get("threshold")),
            unit=str(data.get("unit", "")),
            resumes_at=None if resumes is None else int(resumes),
            needs_operator=bool(data.get("needs_operator")),
            lifts=str(data.get("lifts", "")),
            by=str(data.get("by", "")),
            since=int(data.get("since", 0)),
        )


def why(restrictions: Iterable[Restriction]) -> str:
    """Every restriction's sentence, most sweeping first; empty when nothing restricts."""
    return " ".join(r.text for r in restrictions)


def paused(by: str, reason: str, owner: str, since: int = 0) -> Restriction:
    """A pause: an operator's is lifted by an operator only; the investor's own (or the
    system's, after a loss) also by the investor."""
    operator = by not in (owner, "system")
    return Restriction(
        PAUSE,
        PAUSED,
        reason or "no reason given",
        needs_operator=operator,
        lifts="" if operator else OWNER_LIFTS,
        by=by,
        since=since,
    )


def kill_switch(by: str, reason: str, since: int = 0) -> Restriction:
    return Restriction(
        KILL_SWITCH, PAUSED, reason or "no reason given", needs_operator=True, by=by, since=since
    )


def venue_report(detail: str) -> Restriction:
    return Restriction(VENUE_REPORT, REDUCING, detail, needs_operator=True)


def rollout_stage(detail: str, since: int = 0) -> Restriction:
    return Restriction(
        ROLLOUT_STAGE,
        REDUCING,
        detail,
        lifts="lifts when the rollout stage admits the account again",
        since=since,
    )


def position_loss(
    symbol: str, loss: Decimal, equity: Decimal, profile: RiskProfile, currency: str, since: int
) -> Restriction:
    """One position lost more than the profile allows (a stop that failed, a gap): the system
    paused the account and closed its positions at market."""
    limit = profile.position_loss_limit
    share = loss / equity if equity > 0 else None
    of_equity = "" if share is None else f" ({fmt_pct(share, limit)} of equity)"
    return Restriction(
        POSITION_LOSS,
        PAUSED,
        f"the {symbol} position lost {fmt_money(loss, currency)}{of_equity}",
        value=share,
        threshold=limit,
        unit=FRACTION,
        lifts=OWNER_LIFTS,
        by="system",
        since=since,
    )


def position_loss_kill(
    symbol: str,
    loss: Decimal,
    profile: RiskProfile,
    currency: str,
    since: int,
    limit: Decimal | None = None,
) -> Restriction:
    """One position's unrealised loss passed ``kill_on_position_loss`` (or ``limit``, the
    rollout stage's): the system paused the account (or engaged the kill switch) and closed
    its positions at market; only an operator resumes it."""
    limit = profile.kill_on_position_loss if limit is None else limit
    return Restriction(
        KILL_ON_POSITION_LOSS,
        PAUSED,
        f"the {symbol} position lost {fmt_money(loss, currency)}, more than the "
        f"{fmt_money(limit, currency)} kill limit",
        value=loss,
        threshold=limit,
        needs_operator=True,
        by="risk",
        since=since,
    )
