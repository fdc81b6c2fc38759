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

These reach into the engine's per-account state (they run under the operator lock, between
candles); they belong on the Engine once the trading core grows a "reconfigure" call. The
paper venue's cash moves through its own ``free_cash``/``deposit`` (:class:`CashVenue`).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rampart.domain.errors import RampartError
from rampart.domain.events import CapitalChanged
from rampart.domain.stages import Stage
from rampart.operator.text import money
from rampart.risk.profiles import get_profile

if TYPE_CHECKING:
    from rampart.operator.desk import Desk
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


def _persist(bot: Desk, acct: AccountRuntime) -> None:
    writer = bot.session.writer
    if writer is not None:
        writer.upsert_account(acct.spec, acct.state, acct.paused, bot.session.clock.now_ms())


async def change_profile(
    bot: Desk, acct: AccountRuntime, name: str, actor: str = "investor"
) -> None:
    engine = bot.session.engine
    refusal = stage_profile_refusal(engine.stage, name)
    if refusal:
        raise RampartError(refusal)
    get_profile(name, bot.settings.profiles or None)  # an unknown name: one sentence
    async with bot.lock:
        engine.change_profile(acct.account_id, name)
        _persist(bot, acct)
        # A profile the stage allows again ends a rollout REDUCING now, not at the next check.
        await bot.recheck(engine, acct.account_id)
    await bot.operator.audit(actor, "operator.profile", acct.account_id, profile=name)


@runtime_checkable
class CashVenue(Protocol):
    """A venue whose accounts hold virtual cash Rampart may move (the paper venue)."""

    def free_cash(self, account_id: str, asset: str) -> Decimal | None: ...

    def deposit(self, account_id: str, asset: str, amount: Decimal) -> None: ...


def _cash_venue(bot: Desk, acct: AccountRuntime) -> tuple[CashVenue, Decimal]:
    """The venue holding the account's virtual cash and what of it is free, or the refusal
    for an account whose money is on an exchange."""
    venue = bot.session.engine.venue
    free = None
    if isinstance(venue, CashVenue):
        free = venue.free_cash(acct.account_id, acct.spec.quote)
    if not isinstance(venue, CashVenue) or free is None:
        raise RampartError(
            "Your account trades on an exchange, where its capital is what the exchange "
            "holds; deposit or withdraw there, and the next reconciliation follows it."
        )
    return venue, free


def free_to_withdraw(bot: Desk, acct: AccountRuntime) -> Decimal:
    """Cash neither in positions nor held by working orders (what a withdrawal can take)."""
    _, free = _cash_venue(bot, acct)
    return max(min(free, acct.ledger.cash), ZERO)


def check_capital(bot: Desk, acct: AccountRuntime, amount: Decimal) -> None:
    """Refuse, in one sentence, a capital the stage or the free cash does not allow (asked
    before a large withdrawal's confirmation too, so Confirm is never offered in vain)."""
    quote = acct.spec.quote
    refusal = stage_capital_refusal(bot.session.engine.stage, amount, quote)
    if refusal:
        raise RampartError(refusal)
    delta = amount - acct.spec.capital
    if delta < 0 and -delta > (free := free_to_withdraw(bot, acct)):
        raise RampartError(
            f"You can take out at most {money(free, quote)} now: the rest is in open "
            "positions or orders. /close some first, or wait until they close; nothing "
            "was changed."
        )


async def change_capital(
    bot: Desk, acct: AccountRuntime, amount: Decimal, actor: str = "investor"
) -> Decimal:
    """Set the account's capital to ``amount``; returns the deposit (+) or withdrawal (−)."""
    engine = bot.session.engine
    quote = acct.spec.quote
    async with bot.lock:
        check_capital(bot, acct, amount)
        venue, _ = _cash_venue(bot, acct)
        delta = amount - acct.spec.capital
        if delta == 0:
            return delta
        # Valued just before the money moves: returns leave the deposit out exactly.
        engine.publish_equity(acct, bot.session.clock.now_ms())
        venue.deposit(acct.account_id, quote, delta)
        ledger = acct.ledger
        ledger.cash += delta
        ledger.capital += delta
        # The breakers measure losses from these; moving them keeps a deposit from hiding a
        # loss and a withdrawal from looking like one.
        bs = acct.breakers
        bs.day_start_equity += delta
        bs.peak_equity += delta
        bs.last_equity += delta
        old = acct.spec.capital
        acct.spec = replace(acct.spec, capital=amount)
        _persist(bot, acct)
        # Stored and followed by "PnL today", which must not count it as profit or loss.
        now = bot.session.clock.now_ms()
        bot.session.bus.publish(CapitalChanged(now, acct.account_id, old, amount, actor))
        await bot.recheck(engine, acct.account_id)
    await bot.operator.audit(actor, "operator.capital", acct.account_id, old=old, new=amount)
    return delta
