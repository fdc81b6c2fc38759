"""The investor desk: what an investor does to their own account (connect and disconnect a key
or a wallet, invest and withdraw, change the risk profile), for every front.

The fronts hand the desk the sender's :class:`~rampart.operator.investors.Investor`; the desk
changes the engine, the stored records and the venue's clients, audits the change once and
answers with the sentence every front shows. A front never touches the store, the trading core
or a venue itself (``.importlinter``, contract ``fronts-through-facade``).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from rampart.domain.errors import RampartError
from rampart.domain.stages import Stage
from rampart.market.settings import FeedConfig
from rampart.operator.investors import InvestorBook
from rampart.security.secrets import KeyBox
from rampart.security.settings import VaultConfig
from rampart.venues.settings import VenueConfig

if TYPE_CHECKING:
    from pydantic import SecretStr

    from rampart.operator.control import Operator
    from rampart.operator.session import Session
    from rampart.trading.account import AccountRuntime


class DeskSettings(Protocol):
    """The sections the desk reads (``rampart.config.Settings`` and the bot's have them)."""

    @property
    def mode(self) -> str: ...

    @property
    def venue(self) -> VenueConfig: ...

    @property
    def feed(self) -> FeedConfig: ...

    @property
    def master_key(self) -> SecretStr | None: ...

    @property
    def vault(self) -> VaultConfig: ...

    @property
    def profiles(self) -> dict[str, dict[str, Any]]: ...


class Desk(Protocol):
    """What the investor actions run on (:class:`InvestorDesk` is one)."""

    @property
    def settings(self) -> DeskSettings: ...

    @property
    def session(self) -> Session: ...

    @property
    def key_box(self) -> KeyBox | None: ...

    @property
    def lock(self) -> asyncio.Lock: ...

    @property
    def operator(self) -> Operator: ...


class InvestorDesk:
    """The investor actions of one service, on its operator facade."""

    def __init__(self, operator: Operator, settings: DeskSettings, key_box: KeyBox | None) -> None:
        self.operator = operator
        self.settings = settings
        self.key_box = key_box
        self.investors: InvestorBook = operator.investors

    @property
    def session(self) -> Session:
        return self.operator.session

    @property
    def lock(self) -> asyncio.Lock:
        return self.operator.lock

    @property
    def stage(self) -> Stage:
        """The rollout stage in force (its capital and profile bounds)."""
        return self.operator.engine.stage

    def running(self, account_id: str) -> AccountRuntime | None:
        """The account as the engine runs it, or None (not started, or stopped)."""
        return self.operator.engine.accounts.get(account_id)

    def require(self, account_id: str) -> AccountRuntime:
        acct = self.running(account_id)
        if acct is None:
            raise RampartError(f"There is no account called {account_id!r}.")
        return acct

    def capital_of(self, account_id: str) -> Decimal:
        return self.require(account_id).spec.capital


__all__ = ["Desk", "DeskSettings", "InvestorDesk"]
