"""The investor desk: what an investor does to their own account (connect and disconnect a key
or a wallet, invest and withdraw, change the risk profile), for every front.

The fronts hand the desk the sender's :class:`~rampart.operator.investor_record.Investor`; the desk
changes the engine, the stored records and the venue's clients, audits the change once and
answers with the sentence every front shows. A front never touches the store, the trading core
or a venue itself (``.importlinter``, contract ``fronts-through-facade``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rampart.domain.errors import RampartError
from rampart.domain.stages import Stage
from rampart.operator.accounts import AccountConfig, account_spec, quote_of
from rampart.operator.desk_base import DeskOperator, Recheck
from rampart.operator.investor_record import Investor, InvestorRecords
from rampart.operator.investors import owner_for
from rampart.operator.settings import Settings
from rampart.security.secrets import KeyBox

if TYPE_CHECKING:
    from rampart.operator.session import Session
    from rampart.trading.account import AccountRuntime


async def _no_stage(engine: Any, account_id: str) -> None:
    del engine, account_id


class InvestorDesk:
    """The investor actions of one service, on its operator facade."""

    def __init__(
        self,
        operator: DeskOperator,
        session: Session,
        settings: Settings,
        key_box: KeyBox | None,
        recheck: Recheck | None = None,
    ) -> None:
        """Made by the facade (:meth:`Operator.investor_desk`), which hands it its session."""
        self.operator = operator
        self._session = session
        self.settings = settings
        self.key_box = key_box
        self.recheck: Recheck = recheck or _no_stage

    @property
    def investors(self) -> InvestorRecords:
        return self.operator.investors

    @property
    def session(self) -> Session:
        return self._session

    @property
    def lock(self) -> asyncio.Lock:
        return self.operator.lock

    @property
    def stage(self) -> Stage:
        """The rollout stage in force (its capital and profile bounds)."""
        return self._session.engine.stage

    def running(self, account_id: str) -> AccountRuntime | None:
        """The account as the engine runs it, or None (not started, or stopped)."""
        return self._session.engine.accounts.get(account_id)

    def require(self, account_id: str) -> AccountRuntime:
        acct = self.running(account_id)
        if acct is None:
            raise RampartError(f"There is no account called {account_id!r}.")
        return acct

    def capital_of(self, account_id: str) -> Decimal:
        return self.require(account_id).spec.capital

    async def start_account(
        self, inv: Investor, stage_check: Callable[[Decimal, str], str | None]
    ) -> Investor:
        """Start ``inv``'s account with ``inv.capital`` (``/invest``, ``/demo``); returns it
        with the capital it started with. On an exchange-backed service that is their own
        key's balance (:mod:`rampart.operator.routing`); ``stage_check(amount, profile)`` is
        the rollout stage's refusal or None. Audited once; a refusal changes nothing."""
        from rampart.operator import routing

        if routing.exchange_backed(self.settings):
            started = await routing.start_exchange_account(self, inv, inv.capital, stage_check)
        else:
            symbols = list(self.settings.feed.symbols)
            cfg = AccountConfig(
                id=inv.account_id,
                agent="trend",
                profile=inv.profile,
                capital=inv.capital,
                symbols=symbols,
                owner=owner_for(inv.telegram_id),
            )
            await self.operator.add_account(account_spec(cfg, quote_of(symbols)))
            started = inv
        await self.operator.audit(
            owner_for(inv.telegram_id),
            "operator.invest",
            inv.account_id,
            capital=started.capital,
            profile=inv.profile,
            mode=inv.mode,
        )
        return started


__all__ = ["InvestorDesk"]
