"""The changes an investor's or an operator's action makes to the trading engine itself, on
whichever process trades the account.

``rampart run`` applies them to its own engine, under the operator lock, right where the
facade checked and audits the action. Past one machine (``rampart serve``) the facade
checks and audits in the server, and the worker that holds the account's shard applies the same
function to its shard's session when the command reaches it
(:mod:`rampart.fleet.worker_commands`): one implementation, wherever the engine runs.

Each function runs under the caller's lock and raises :class:`RampartError` with the sentence
the front shows when the engine refuses; nothing here audits (the facade did, once).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from rampart.domain.errors import RampartError
from rampart.domain.events import CapitalChanged
from rampart.domain.intents import Intent
from rampart.operator.text import money
from rampart.risk.cash_flows import CashFlow, kind_of
from rampart.trading.investor_holds import ALL

if TYPE_CHECKING:
    from rampart.operator.session import Session
    from rampart.trading.account import AccountRuntime

ZERO = Decimal(0)


@runtime_checkable
class CashVenue(Protocol):
    """A venue whose accounts hold virtual cash Rampart may move (the paper venue)."""

    def free_cash(self, account_id: str, asset: str) -> Decimal | None: ...

    def deposit(self, account_id: str, asset: str, amount: Decimal) -> None: ...


def account(session: Session, account_id: str) -> AccountRuntime:
    acct = session.engine.accounts.get(account_id)
    if acct is None:
        raise RampartError(f"There is no account called {account_id!r}.")
    return acct


def persist(session: Session, acct: AccountRuntime) -> None:
    """Buffer the account's settings and state for the next write."""
    writer = session.writer
    if writer is not None:
        writer.upsert_account(acct.spec, acct.state, acct.paused, session.clock.now_ms())


def cash_venue(session: Session, acct: AccountRuntime) -> tuple[CashVenue, Decimal]:
    """The venue holding the account's virtual cash and what of it is free, or the refusal
    for an account whose money is on an exchange."""
    venue: Any = session.engine.venue
    free = None
    if isinstance(venue, CashVenue):
        free = venue.free_cash(acct.account_id, acct.spec.quote)
    if not isinstance(venue, CashVenue) or free is None:
        raise RampartError(
            "Your account trades on an exchange, where its capital is what the exchange "
            "holds; deposit or withdraw there, and the next reconciliation follows it."
        )
    return venue, free


def free_to_withdraw(session: Session, acct: AccountRuntime) -> Decimal:
    """Cash neither in positions nor held by working orders (what a withdrawal can take)."""
    _, free = cash_venue(session, acct)
    return max(min(free, acct.ledger.cash), ZERO)


def check_withdrawal(session: Session, acct: AccountRuntime, amount: Decimal) -> None:
    """Refuse a capital below what can be taken out now, in one sentence."""
    delta = amount - acct.spec.capital
    if delta < 0 and -delta > (free := free_to_withdraw(session, acct)):
        raise RampartError(
            f"You can take out at most {money(free, acct.spec.quote)} now: the rest is in open "
            "positions or orders. /close some first, or wait until they close; nothing "
            "was changed."
        )


def set_profile(session: Session, account_id: str, name: str) -> None:
    acct = account(session, account_id)
    session.engine.change_profile(account_id, name)
    persist(session, acct)


def set_capital(session: Session, account_id: str, amount: Decimal, actor: str) -> Decimal:
    """Set the account's capital to ``amount``; returns the deposit (+) or withdrawal (−).

    On paper a deposit or withdrawal of virtual cash: the venue, the ledger's cash and capital
    and the breakers' reference equities move by the same amount, so it counts neither as
    profit nor as a loss (no breaker trips on it)."""
    engine = session.engine
    acct = account(session, account_id)
    check_withdrawal(session, acct, amount)
    venue, _ = cash_venue(session, acct)
    quote = acct.spec.quote
    delta = amount - acct.spec.capital
    if delta == 0:
        return delta
    now = session.clock.now_ms()
    # Valued just before the money moves: returns leave the deposit out exactly.
    engine.publish_equity(acct, now)
    ledger = acct.ledger
    before = ledger.equity(engine.marks)
    venue.deposit(acct.account_id, quote, delta)
    ledger.cash += delta
    ledger.capital += delta
    # The breakers measure the strategy's own result: the flow rebases their day start and
    # peak (time-weighted), so a deposit hides no loss and a withdrawal looks like none.
    acct.breakers.on_cash_flow(CashFlow(now, delta, kind_of(delta), quote), before)
    old = acct.spec.capital
    acct.spec = replace(acct.spec, capital=amount)
    persist(session, acct)
    # Stored and followed by "PnL today", which must not count it as profit or loss.
    session.bus.publish(CapitalChanged(now, acct.account_id, old, amount, actor))
    return delta


async def close(
    session: Session, account_id: str, symbols: list[str], until: int | None, why: str
) -> None:
    """Close ``symbols`` at market and hold them from the agent until ``until`` (None: until
    lifted)."""
    engine = session.engine
    acct = account(session, account_id)
    for symbol in symbols:
        engine.holds.hold(account_id, symbol, until, why)
        if symbol in acct.ledger.positions:
            await engine.executor.exit_position(acct, symbol, "investor")


def hold_all(session: Session, account_id: str, reason: str) -> None:
    account(session, account_id)
    session.engine.holds.hold(account_id, ALL, None, reason)


def allow(session: Session, account_id: str, symbol: str) -> bool:
    """Lift the hold on ``symbol`` (``ALL``: every one); False when there was none."""
    account(session, account_id)
    return bool(session.engine.holds.lift(account_id, symbol))


async def place(session: Session, intent: Intent) -> str:
    """Send the investor's intent through the risk engine and, approved, to the venue; the
    risk engine's reason when it refuses ("" when placed)."""
    engine = session.engine
    acct = account(session, intent.account_id)
    if await engine.handle_intent(acct, intent):
        return ""
    return acct.rejections[-1].message if acct.rejections else "the risk engine refused it"


__all__ = [
    "CashVenue",
    "account",
    "allow",
    "cash_venue",
    "check_withdrawal",
    "close",
    "free_to_withdraw",
    "hold_all",
    "persist",
    "place",
    "set_capital",
    "set_profile",
]
