"""Bring every account inside a stage: whoever or whatever it no longer allows closes only.

An account goes REDUCING (``halted_by = rollout_stage``: closes only, its positions run to
their stop-loss or take-profit) when its owner, its profile or its capital is outside the
stage, or when none of its symbols is allowed. A symbol outside the stage on an account that
keeps other symbols is reduce-only through the risk engine's stage rule. An account the
stage allows again leaves a rollout REDUCING on the next change; breaker states that other
rules set are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rampart.domain.accounts import AccountSpec, TradingState
from rampart.domain.stages import Stage
from rampart.risk.breakers import Trip
from rampart.risk.codes import fmt_money, fmt_num
from rampart.risk.restrictions import ROLLOUT_STAGE, rollout_stage

if TYPE_CHECKING:  # types only: a rollout command need not import the engine
    from rampart.trading.account import AccountRuntime
    from rampart.trading.engine import Engine

STAGE_BREAKER = ROLLOUT_STAGE


@dataclass(frozen=True, slots=True)
class Affected:
    account_id: str
    owner: str
    change: str
    """``reducing`` (newly closes-only), ``released`` (allowed again) or ``symbols``."""
    message: str


def outside(stage: Stage, spec: AccountSpec) -> list[str]:
    """Why an account is outside ``stage``, in sentences for its investor; empty when inside."""
    reasons: list[str] = []
    label = f"the '{stage.name}' rollout stage"
    if not stage.allows_user(spec.owner):
        reasons.append(f"{label} is open to invited users only")
    if not stage.allows_profile(spec.profile):
        allowed = ", ".join(sorted(stage.profiles or ())) or "no profile"
        reasons.append(f"{label} allows only the {allowed} profile(s), not {spec.profile}")
    low, high = stage.min_capital, stage.max_capital
    if high is not None and spec.capital > high:
        reasons.append(
            f"{label} allows at most {fmt_money(high, spec.quote)} per account and this one "
            f"has {fmt_money(spec.capital, spec.quote)} (/invest {fmt_num(high)} or less brings "
            "it back inside)"
        )
    if low is not None and spec.capital < low:
        reasons.append(
            f"{label} needs at least {fmt_num(low)} {spec.quote} per account and this one has "
            f"{fmt_money(spec.capital, spec.quote)}"
        )
    if spec.symbols and not any(stage.allows_symbol(s) for s in spec.symbols):
        allowed = ", ".join(sorted(stage.symbols or ())) or "nothing"
        reasons.append(f"{label} trades only {allowed}")
    return reasons


async def bring_inside(engine: Engine, stage: Stage) -> list[Affected]:
    """Apply ``stage`` to every running account; returns the accounts whose state changed."""
    engine.stage = stage  # first: no entry outside the stage is approved from here on
    affected: list[Affected] = []
    now = engine.clock.now_ms()
    for acct in list(engine.accounts.values()):
        found = await _apply(engine, stage, acct, now)
        if found is not None:
            affected.append(found)
    return affected


async def recheck(engine: Engine, account_id: str) -> Affected | None:
    """Apply the stage in force to one account after its capital or profile changed, so an
    account brought back inside trades again at once rather than at the next evaluation."""
    acct = engine.accounts.get(account_id)
    if acct is None:
        return None
    return await _apply(engine, engine.stage, acct, engine.clock.now_ms())


async def _apply(engine: Engine, stage: Stage, acct: AccountRuntime, now: int) -> Affected | None:
    spec, bs = acct.spec, acct.breakers
    reasons = outside(stage, spec)
    ours = bs.state is TradingState.REDUCING and bs.halted_by == STAGE_BREAKER
    if reasons and bs.state is TradingState.ACTIVE:
        message = (
            "Only closing positions from now on: "
            + "; ".join(reasons)
            + ". Open positions keep their stop-loss and take-profit."
        )
        message = message[0].upper() + message[1:]
        old = bs.state
        restriction = rollout_stage("; ".join(reasons), now)
        bs.restrict(TradingState.REDUCING, restriction)
        trip = Trip(STAGE_BREAKER, old, bs.state, message, restriction)
        await engine.apply_trips(acct, [trip], now)
        return Affected(acct.account_id, spec.owner, "reducing", message)
    if not reasons and ours:
        message = (
            f"The '{stage.name}' rollout stage allows this account again: new positions may open."
        )
        old = bs.state
        bs.restrict(TradingState.ACTIVE, None)
        await engine.apply_trips(acct, [Trip(STAGE_BREAKER, old, bs.state, message)], now)
        return Affected(acct.account_id, spec.owner, "released", message)
    if not reasons:
        blocked = [s for s in spec.symbols if not stage.allows_symbol(s)]
        if blocked:
            message = (
                f"The '{stage.name}' rollout stage does not trade {', '.join(blocked)}: "
                "positions there only close; the other symbols trade as before."
            )
            return Affected(acct.account_id, spec.owner, "symbols", message)
    return None
