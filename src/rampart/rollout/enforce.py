"""Bring every account inside a stage: whoever or whatever it no longer allows closes only.

An account goes REDUCING (``halted_by = rollout_stage``: closes only, its positions run to
their stop-loss or take-profit) when its owner, its profile or its capital is outside the
stage, when none of its symbols is allowed, or when a timed ramp's capital total
(rollout/ramp.py) is taken by accounts started before it. A symbol outside the stage on an
account that keeps other symbols is reduce-only through the risk engine's stage rule. An
account the stage allows again leaves a rollout REDUCING on the next change; breaker states
that other rules set are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from rampart.domain.accounts import AccountSpec, TradingState
from rampart.domain.stages import Stage
from rampart.risk.breakers import Breakers, Trip
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


def over_total(stage: Stage, specs: Iterable[AccountSpec]) -> dict[str, str]:
    """Accounts past a timed ramp's capital total, with why: accounts in the order of their
    ids keep trading while their capital fits (the same order in every process of a fleet);
    an account already outside the stage for another reason does not use any of it."""
    total = stage.max_total_capital
    if total is None:
        return {}
    used, past = Decimal(0), {}
    for spec in sorted(specs, key=lambda s: s.account_id):
        if outside(stage, spec):
            continue
        if used + spec.capital > total:
            past[spec.account_id] = (
                f"the '{stage.name}' rollout stage's ramp allows {fmt_num(total)} {spec.quote} "
                f"across the service for now and the accounts before this one use {fmt_num(used)}"
            )
        else:
            used += spec.capital
    return past


def scale_limits(engine: Engine, acct: AccountRuntime, scale: Decimal | None) -> bool:
    """Give the account ``scale`` of its profile's position-size and daily-loss limits (the
    stage's relax level; None: the profile's own); True when they changed. Its breakers start
    afresh on the new limits, as after a change of profile (their state is the account's)."""
    base = engine.profile_for(acct.spec.profile)
    want = base
    if scale is not None and scale != 1:
        want = replace(
            base, max_position=base.max_position * scale, daily_loss=base.daily_loss * scale
        )
    have = acct.profile
    if have.max_position == want.max_position and have.daily_loss == want.daily_loss:
        return False
    acct.profile = want
    engine.breakers[acct.account_id] = Breakers(want, currency=acct.spec.quote)
    return True


async def bring_inside(
    engine: Engine, stage: Stage, everyone: Iterable[AccountSpec] = ()
) -> list[Affected]:
    """Apply ``stage`` to every running account; returns the accounts whose state changed.
    ``everyone``: past one machine, every account of the service (the store's), so a ramp's
    capital total is the fleet's, not this engine's; the running accounts' own specs win."""
    engine.stage = stage  # first: no entry outside the stage is approved from here on
    affected: list[Affected] = []
    now = engine.clock.now_ms()
    accts = list(engine.accounts.values())
    specs = {s.account_id: s for s in everyone} | {a.account_id: a.spec for a in accts}
    past = over_total(stage, specs.values())
    for acct in accts:
        scale_limits(engine, acct, stage.limit_scale)
        found = await _apply(engine, stage, acct, now, past.get(acct.account_id))
        if found is not None:
            affected.append(found)
    return affected


async def recheck(engine: Engine, account_id: str) -> Affected | None:
    """Apply the stage in force to one account after its capital or profile changed, so an
    account brought back inside trades again at once rather than at the next evaluation."""
    acct = engine.accounts.get(account_id)
    if acct is None:
        return None
    past = over_total(engine.stage, [a.spec for a in engine.accounts.values()])
    scale_limits(engine, acct, engine.stage.limit_scale)
    return await _apply(engine, engine.stage, acct, engine.clock.now_ms(), past.get(account_id))


async def _apply(
    engine: Engine, stage: Stage, acct: AccountRuntime, now: int, past_total: str | None
) -> Affected | None:
    spec, bs = acct.spec, acct.breakers
    reasons = outside(stage, spec) + ([past_total] if past_total else [])
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
