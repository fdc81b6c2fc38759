"""Kill switches: global (operator), per account (pause) and automatic (breakers, losses).

Engaging blocks new entries at once (the risk engine reads these flags) and cancels working
entry orders; with ``flatten`` it also closes positions with market orders. Protective orders
stay until a position is flat. Every engage and release is published with who and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import structlog

from rampart.domain.accounts import TradingState
from rampart.domain.errors import RampartError
from rampart.domain.events import AccountStateChanged, InvariantViolated, KillSwitchChanged
from rampart.risk.restrictions import Restriction, kill_switch, paused, venue_report

if TYPE_CHECKING:
    from rampart.clock import Clock
    from rampart.risk.breakers import Breakers, Trip
    from rampart.trading.account import AccountRuntime
    from rampart.trading.bus import EventBus
    from rampart.trading.execution import Executor

log = structlog.get_logger("rampart.controls")
AGENT_ACTOR = "agent"
"""Who pauses an account whose agent raised: not its owner, so only an operator resumes it."""


class ControlledEngine(Protocol):
    """What the kill switches read and do on the engine (the :class:`Engine` that owns them)."""

    violations: int

    @property
    def accounts(self) -> dict[str, AccountRuntime]: ...

    @property
    def breakers(self) -> dict[str, Breakers]: ...

    @property
    def bus(self) -> EventBus: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def executor(self) -> Executor: ...

    async def apply_trips(self, acct: AccountRuntime, trips: list[Trip], now: int) -> None: ...


class Controls:
    def __init__(self, engine: ControlledEngine) -> None:
        self._engine = engine
        self.global_kill = False
        self.global_reason = ""
        self.global_actor = ""
        self.global_since_ms = 0
        """Who engaged the global kill switch, and when (kept until it is released)."""
        self.paused_by: dict[str, str] = {}
        """Per paused account, who paused it (an operator's pause is lifted only by one)."""

    def _account(self, account_id: str) -> AccountRuntime:
        acct = self._engine.accounts.get(account_id)
        if acct is None:
            raise RampartError(f"There is no account called {account_id!r}.")
        return acct

    def _publish(self, scope: str, engaged: bool, reason: str, actor: str, flatten: bool) -> None:
        now = self._engine.clock.now_ms()
        self._engine.bus.publish(KillSwitchChanged(now, scope, engaged, reason, actor, flatten))
        log.warning("kill_switch", scope=scope, engaged=engaged, actor=actor, reason=reason)

    async def _stand_down(self, acct: AccountRuntime, flatten: bool, reason: str) -> None:
        executor = self._engine.executor
        await executor.cancel_entries(acct)
        await executor.drain()
        if flatten:
            for symbol in sorted(acct.ledger.positions):
                await executor.exit_position(acct, symbol, reason)
        await executor.drain()

    def kill_switch_by(self, actor: str) -> tuple[str, int]:
        """Who the global kill switch is held by, and since when, once ``actor`` engages it
        now: the first to engage it keeps it until it is released."""
        if self.global_actor:
            return self.global_actor, self.global_since_ms
        return actor, self._engine.clock.now_ms()

    def stop_entries_now(self) -> bool:
        """Raise the kill switch's flag alone, ahead of a lock: the risk engine reads it on
        every intent, so entries stop at once, even mid-candle. Who, why and since when follow
        with :meth:`engage_kill_switch` (or :meth:`mark_kill_switch`); :meth:`undo_stop_entries`
        lowers it again when that never comes. Whether it was already raised."""
        was_engaged = self.global_kill
        self.global_kill = True
        return was_engaged

    def undo_stop_entries(self, was_engaged: bool) -> None:
        """The flag back to how :meth:`stop_entries_now` found it (the kill was not sent, so no
        front may show it engaged)."""
        self.global_kill = was_engaged

    def show_kill_switch(self, engaged: bool, reason: str, actor: str, since_ms: int) -> None:
        """The kill switch as another process recorded it (the store's document, newer than
        this checkpoint), shown without standing anything down or saying it on the bus: the
        processes that trade stand their own accounts down."""
        self.global_kill = engaged
        self.global_reason = reason if engaged else ""
        self.global_actor = actor if engaged else ""
        self.global_since_ms = since_ms if engaged else 0

    def mark_kill_switch(
        self, actor: str, reason: str, flatten: bool = False, since_ms: int | None = None
    ) -> None:
        """The kill switch engaged, said on the bus, without standing anything down: where the
        accounts are traded by other processes (the operator facade of ``rampart serve``), which
        stand their own accounts down. ``since_ms``: when the fleet's kill switch was engaged
        (the facade's time, so every shard shows the same)."""
        self.global_kill = True
        self.global_reason = reason
        if not self.global_actor:
            self.global_actor = actor
            self.global_since_ms = since_ms or self._engine.clock.now_ms()
        self._publish("global", True, reason, actor, flatten)

    async def engage_kill_switch(
        self, actor: str, reason: str, flatten: bool = False, since_ms: int | None = None
    ) -> None:
        self.mark_kill_switch(actor, reason, flatten, since_ms)
        for acct in self._engine.accounts.values():
            await self._stand_down(acct, flatten, f"kill switch: {reason}")

    async def release_kill_switch(self, actor: str, reason: str) -> None:
        self.global_kill = False
        self.global_reason = ""
        self.global_actor = ""
        self.global_since_ms = 0
        self._publish("global", False, reason, actor, False)

    def mark_paused(
        self,
        account_id: str,
        actor: str,
        reason: str,
        flatten: bool = False,
        restriction: Restriction | None = None,
    ) -> AccountRuntime:
        """The account paused, said on the bus, without standing it down (see
        :meth:`mark_kill_switch`)."""
        acct = self._account(account_id)
        acct.paused = True
        acct.pause_reason = reason
        acct.pause_restriction = restriction
        self.paused_by[account_id] = actor
        self._publish(account_id, True, reason, actor, flatten)
        return acct

    async def pause_account(
        self,
        account_id: str,
        actor: str,
        reason: str,
        flatten: bool = False,
        restriction: Restriction | None = None,
    ) -> None:
        """``restriction``: the figures behind a pause the system makes (a position's loss)."""
        acct = self.mark_paused(account_id, actor, reason, flatten, restriction)
        await self._stand_down(acct, flatten, f"paused: {reason}")

    def agent_raised(self, acct: AccountRuntime, agent: object, exc: Exception, doing: str) -> bool:
        """An agent's bug stops its account, not the engine: the account paused (entries
        refused from now on), the fault counted as an invariant broken (``agent``: the
        InvestorProblem incident, a replay's failure). False when the account was already
        paused for it, so an agent raising on every bar is reported once."""
        name = getattr(agent, "name", type(agent).__name__)
        reason = f"agent {name} raised {type(exc).__name__} ({exc}) while {doing}"
        return self.agent_benched(acct, name, reason, exc)

    def agent_benched(
        self, acct: AccountRuntime, agent: str, reason: str, exc: BaseException | None = None
    ) -> bool:
        """The account paused by its agent's fault (``reason`` names the agent), said on the
        bus as the invariant ``agent``; False when its agent had already paused it."""
        if self.benched(acct):
            return False
        log.error("agent_raised", account_id=acct.account_id, agent=agent, reason=reason,
                  exc_info=exc)  # fmt: skip
        engine = self._engine
        engine.violations += 1
        engine.bus.publish(
            InvariantViolated(engine.clock.now_ms(), acct.account_id, "agent", reason)
        )
        self.mark_paused(acct.account_id, AGENT_ACTOR, reason)
        return True

    def benched(self, acct: AccountRuntime) -> bool:
        """Whether the account is paused by its agent's faults (its agent is no longer asked
        until an operator resumes it)."""
        return acct.paused and self.paused_by.get(acct.account_id) == AGENT_ACTOR

    async def stand_down(self, acct: AccountRuntime, reason: str) -> None:
        """A paused account's working entries cancelled (its positions keep their brackets)."""
        await self._stand_down(acct, False, reason)

    def mark_resumed(self, account_id: str, actor: str, reason: str) -> AccountRuntime:
        """The pause lifted, said on the bus; breakers are the trading engine's to lift."""
        acct = self._account(account_id)
        acct.paused = False
        acct.pause_reason = ""
        acct.pause_restriction = None
        self.paused_by.pop(account_id, None)
        self._publish(account_id, False, reason, actor, False)
        return acct

    async def resume_account(
        self, account_id: str, actor: str, reason: str, lift_breakers: bool = False
    ) -> None:
        """Lift a pause. Only an operator lifts a breaker halt (``lift_breakers``)."""
        acct = self.mark_resumed(account_id, actor, reason)
        if lift_breakers:
            now = self._engine.clock.now_ms()
            if acct.close_only:
                # The operator has looked at the unexplained venue report.
                before = acct.state
                acct.close_only = acct.unexplained_order = ""
                self._engine.bus.publish(
                    AccountStateChanged(now, account_id, before, acct.state, reason, acct.cause)
                )
            trips = self._engine.breakers[account_id].resume(acct.breakers, now)
            await self._engine.apply_trips(acct, trips, now)

    async def flatten_all(self, reason: str) -> None:
        """Close every position (used at the end of a replay so every trade is booked)."""
        for acct in self._engine.accounts.values():
            for symbol in sorted(acct.ledger.positions):
                await self._engine.executor.exit_position(acct, symbol, reason)
        await self._engine.executor.drain()

    def restrictions(self, acct: AccountRuntime) -> list[Restriction]:
        """What keeps the account from trading normally, most sweeping first (the kill switch,
        a pause, a breaker, a venue report): the reasons every front shows, with the figures."""
        found: list[Restriction] = []
        if self.global_kill:
            found.append(kill_switch(self.global_actor, self.global_reason, self.global_since_ms))
        if acct.paused:
            by = self.paused_by.get(acct.account_id, "")
            found.append(acct.pause_restriction or paused(by, acct.pause_reason, acct.spec.owner))
        breakers = acct.breakers
        if breakers.state is not TradingState.ACTIVE and breakers.restriction is not None:
            found.append(breakers.restriction)
        if acct.close_only:
            found.append(venue_report(acct.close_only))
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "global_kill": self.global_kill,
            "global_reason": self.global_reason,
            "global_actor": self.global_actor,
            "global_since_ms": self.global_since_ms,
            "paused_by": dict(self.paused_by),
        }

    def load_dict(self, data: dict[str, Any]) -> None:
        self.global_kill = bool(data["global_kill"])
        self.global_reason = str(data["global_reason"])
        self.global_actor = str(data.get("global_actor", ""))
        self.global_since_ms = int(data.get("global_since_ms", 0))
        self.paused_by = {str(a): str(who) for a, who in data.get("paused_by", {}).items()}
