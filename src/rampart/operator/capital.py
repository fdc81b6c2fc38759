"""Changing a running investor account: its risk profile (``/risk``) and its capital
(``/invest``), inside the rollout stage's bounds.

A profile change swaps the limits the risk engine, the circuit breakers and the agents apply
to *new* decisions; open positions keep the stop-loss and target they were opened with.

A capital change on paper is a deposit or a withdrawal of virtual cash: the paper venue, the
ledger's cash and capital, and the breakers' reference equities (day start, peak) all move by
the same amount, so it is counted neither as profit nor as a loss (no breaker trips on it).
Lowering capital can only take out cash that is free: money inside open positions or held by
working orders stays where it is and the command says how much can be taken out now. A trader
expects a withdrawal to pay out what is free, not to sell their positions behind their back
or to leave the account in a half-withdrawn state they cannot see; /close is one command away.

The change itself is :mod:`rampart.operator.engine_actions`, applied under the operator lock
between candles, here or, past one machine, by the worker holding the account's shard.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rampart.domain.errors import RampartError
from rampart.domain.stages import Stage
from rampart.operator import engine_actions as actions
from rampart.operator.text import money
from rampart.risk.profiles import get_profile

if TYPE_CHECKING:
    from rampart.operator.desk_base import Desk
    from rampart.trading.account import AccountRuntime

ZERO = Decimal(0)


def _num(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def stage_capital_refusal(stage: Stage, amount: Decimal, currency: str) -> str | None:
    """The stage's sentence when ``amount`` is outside its capital bounds, else None."""
    low, high = stage.min_capital, stage.max_capital
    if (low is None or amount >= low) and (high is None or amount <= high):
        return None
    if low is not None and high is not None:
        bounds = f"between {_num(low)} and {money(high, currency)}"
    elif low is not None:
        bounds = f"at least {money(low, currency)}"
    else:
        bounds = f"at most {money(high or ZERO, currency)}"
    return (
        f"The '{stage.name}' rollout stage allows {bounds} of capital per account; "
        f"{money(amount, currency)} is outside that, so nothing was changed."
    )


def stage_profile_refusal(stage: Stage, name: str) -> str | None:
    if stage.allows_profile(name):
        return None
    allowed = ", ".join(sorted(stage.profiles or ()))
    return (
        f"The '{stage.name}' rollout stage allows only the {allowed} profile"
        f"{'' if len(stage.profiles or ()) == 1 else 's'}, not {name}; nothing was changed."
    )


async def change_profile(
    bot: Desk, acct: AccountRuntime, name: str, actor: str = "investor"
) -> None:
    engine = bot.session.engine
    refusal = stage_profile_refusal(engine.stage, name)
    if refusal:
        raise RampartError(refusal)
    get_profile(name, bot.settings.profiles or None)  # an unknown name: one sentence
    payload = {"account_id": acct.account_id, "profile": name, "actor": actor}
    if not await bot.operator.forward("profile", payload, acct.account_id):
        async with bot.lock:
            actions.set_profile(bot.session, acct.account_id, name)
            # A profile the stage allows again ends a rollout REDUCING now, not at the next
            # check.
            await bot.recheck(engine, acct.account_id)
    await bot.operator.audit(actor, "operator.profile", acct.account_id, profile=name)


def free_to_withdraw(bot: Desk, acct: AccountRuntime) -> Decimal:
    """Cash neither in positions nor held by working orders (what a withdrawal can take)."""
    return actions.free_to_withdraw(bot.session, acct)


def check_capital(bot: Desk, acct: AccountRuntime, amount: Decimal) -> None:
    """Refuse, in one sentence, a capital the stage or the free cash does not allow (asked
    before a large withdrawal's confirmation too, so Confirm is never offered in vain).

    Past one machine the free cash is the worker's to know: it checks again when the change
    reaches it, and its refusal is the answer."""
    refusal = stage_capital_refusal(bot.session.engine.stage, amount, acct.spec.quote)
    if refusal:
        raise RampartError(refusal)
    if not bot.operator.forwarding:
        actions.check_withdrawal(bot.session, acct, amount)


async def change_capital(
    bot: Desk, acct: AccountRuntime, amount: Decimal, actor: str = "investor"
) -> Decimal:
    """Set the account's capital to ``amount``; returns the deposit (+) or withdrawal (−)."""
    engine = bot.session.engine
    old = acct.spec.capital
    check_capital(bot, acct, amount)
    delta = amount - old
    if delta == 0:
        return delta
    payload = {"account_id": acct.account_id, "amount": str(amount), "actor": actor}
    if not await bot.operator.forward("capital", payload, acct.account_id):
        async with bot.lock:
            # set_capital checks the free cash again under the lock (a candle may have moved it)
            delta = actions.set_capital(bot.session, acct.account_id, amount, actor)
            await bot.recheck(engine, acct.account_id)
    await bot.operator.audit(actor, "operator.capital", acct.account_id, old=old, new=amount)
    return delta
