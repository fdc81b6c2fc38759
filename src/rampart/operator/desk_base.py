"""What the investor actions run on: the desk (:class:`Desk`) and the part of the operator
facade it reaches (:class:`DeskOperator`).

The facade (``control``) makes the desk, the desk's actions (``routing``, ``capital``,
``credentials``, ``intents``) run on it, and it calls back into the facade: the types they
share live here, below all of them, so none of those files reads another in a circle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rampart.clock import Clock
    from rampart.domain.accounts import AccountSpec
    from rampart.operator.investor_record import InvestorRecords
    from rampart.operator.session import Session
    from rampart.operator.settings import Settings
    from rampart.security.secrets import KeyBox


Recheck = Callable[[Any, str], Awaitable[object]]
"""``(engine, account_id)``: bring the account inside the rollout stage now (the rollout's
``enforce.recheck``, handed over by the front: the rollout sits above the facade)."""


class DeskOperator(Protocol):
    """What the desk asks of the operator facade (:class:`~rampart.operator.control.Operator`
    is one): its lock and records, starting an account, forwarding an action to the process
    that trades it, saving and auditing."""

    @property
    def lock(self) -> asyncio.Lock: ...

    @property
    def business(self) -> Clock: ...

    @property
    def investors(self) -> InvestorRecords: ...

    @property
    def forwarding(self) -> bool: ...

    async def forward(self, kind: str, payload: dict[str, Any], account_id: str) -> str | None: ...

    async def add_account(self, spec: AccountSpec) -> None: ...

    async def save_now(self) -> None: ...

    async def audit(self, actor: str, action: str, target: str, **detail: object) -> None: ...


class Desk(Protocol):
    """What the investor actions run on (:class:`~rampart.operator.desk.InvestorDesk` is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def session(self) -> Session: ...

    @property
    def key_box(self) -> KeyBox | None: ...

    @property
    def lock(self) -> asyncio.Lock: ...

    @property
    def operator(self) -> DeskOperator: ...

    @property
    def recheck(self) -> Recheck: ...


__all__ = ["Desk", "DeskOperator", "Recheck"]
