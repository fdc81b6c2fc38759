"""The operator's control actions (the kill switch, pause, resume, an engine stopped), written
once for ``rampart run`` and for the fleet (``rampart serve``).

Each action makes its decision here: the checks and their refusals, the facade's own controls
(the since-time, who holds the kill switch, ``KillSwitchChanged`` on the facade's bus), the
audit entry and the answer. How the action then reaches the engines that trade is the one thing
that differs, behind :meth:`ControlActions._reach`: in one process it reaches nothing (this
engine is the one that trades, and it stands its accounts down under the lock); past one
machine the scaled operator sends it on the command stream and the facade's engine, a mirror
that never trades, only records it (``Controls.mark_…``), the workers standing their own
accounts down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import structlog

from rampart.domain.orders import Order, OrderRole
from rampart.operator.errors import Conflict
from rampart.operator.results import (
    STOPPED,
    AccountActionResult,
    AccountSummary,
    EntryOutcome,
    KillSwitchResult,
    _clean_reason,
    _outcome,
    _plural,
)

if TYPE_CHECKING:
    from rampart.trading.account import AccountRuntime
    from rampart.trading.engine import Engine

log = structlog.get_logger("rampart.operator.control")


class ControlActions:
    """Mixed into :class:`~rampart.operator.control.Operator`, which provides these."""

    lock: asyncio.Lock

    @property
    def _engine(self) -> Engine:
        raise NotImplementedError

    @property
    def forwarding(self) -> bool:
        raise NotImplementedError

    _audit: Callable[..., Awaitable[None]]
    _account: Callable[[str], AccountRuntime]
    summary: Callable[[str], AccountSummary]

    async def _reach(
        self, kind: str, payload: dict[str, Any], account_id: str | None = None
    ) -> str:
        """Take the action to the processes that trade the accounts; how they answered, as a
        clause of the sentence ("" here: this process trades them, and nothing is sent).

        Raises with the sentence of a refusal, before anything changed here."""
        del kind, payload, account_id
        return ""

    # -- what the engine says of the entries and positions it stood down ----------------------

    @staticmethod
    def _open_entries(accounts: Iterable[AccountRuntime]) -> list[Order]:
        """The live entry orders (the engine updates these objects as reports arrive)."""
        return [
            order
            for acct in accounts
            for order in acct.orders.values()
            if order.role is OrderRole.ENTRY and order.is_open
        ]

    @staticmethod
    def _outcomes(entries: Iterable[Order]) -> tuple[EntryOutcome, ...]:
        return tuple(
            EntryOutcome(o.account_id, o.client_id, o.symbol, _outcome(o)) for o in entries
        )

    def _entries_text(self, outcomes: tuple[EntryOutcome, ...], word: str) -> str:
        canceled = sum(1 for o in outcomes if o.outcome == "canceled")
        text = f"{_plural(canceled, word)} canceled"
        unknown = sum(1 for o in outcomes if o.outcome == "unknown")
        if unknown and self.forwarding:
            # The worker cancels them after it answers: only its next checkpoint says how.
            text += (
                f"; {_plural(unknown, 'entry order')} being canceled by the worker that trades "
                "it (its next checkpoint shows the outcome)"
            )
        elif unknown:
            text += (
                f"; {_plural(unknown, 'entry order')} with an unknown outcome (the venue has "
                "not confirmed the cancel, so it may still fill; reconciliation asks the venue)"
            )
        filled = sum(1 for o in outcomes if o.outcome == "filled")
        if filled:
            text += f"; {_plural(filled, 'entry order')} filled before the cancel"
        return text

    def _flattened(self, before: set[tuple[str, str]]) -> int:
        """Positions that were open and are now closed or have a closing order working (past
        one machine: those the workers were asked to close, which the facade cannot see yet)."""
        if self.forwarding:
            return len(before)
        done = 0
        for account_id, symbol in before:
            acct = self._engine.accounts[account_id]
            if symbol not in acct.ledger.positions or any(
                acct.open_orders(symbol, roles=(OrderRole.EXIT,))
            ):
                done += 1
        return done

    @staticmethod
    def _positions(accounts: Iterable[AccountRuntime]) -> set[tuple[str, str]]:
        return {(a.account_id, s) for a in accounts for s in a.ledger.positions}

    @staticmethod
    def _told(text: str, told: str) -> str:
        return f"{text}; {told}." if told else f"{text}."

    # -- kill switch --------------------------------------------------------------------------

    async def engage_kill_switch(
        self, actor: str, reason: str, flatten: bool = False
    ) -> KillSwitchResult:
        reason = _clean_reason(reason)
        controls = self._engine.controls
        # Raised before waiting for the lock or for the workers: the risk engine reads this
        # flag on every intent, so entries stop now even if a candle is being processed.
        was_engaged = controls.stop_entries_now()
        _, since = controls.kill_switch_by(actor)
        payload = {"actor": actor, "reason": reason, "flatten": flatten, "since_ms": since}
        # Sent before the lock: a kill switch never queues behind another action's answer.
        try:
            told = await self._reach("kill", payload)
        except BaseException:
            controls.undo_stop_entries(was_engaged)  # not sent: the facade must not show it
            raise
        async with self.lock:
            accounts = list(self._engine.accounts.values())
            entries = self._open_entries(accounts)
            positions = self._positions(accounts) if flatten else set()
            if self.forwarding:
                controls.mark_kill_switch(actor, reason, flatten, since)
            else:
                await controls.engage_kill_switch(actor, reason, flatten, since)
            outcomes = self._outcomes(entries)
            flattened = self._flattened(positions)
        canceled = sum(1 for o in outcomes if o.outcome == "canceled")
        unknown = sum(1 for o in outcomes if o.outcome == "unknown")
        text = (
            f"Kill switch engaged by {actor}: no new entries on {_plural(len(accounts), 'account')}"
            f"; {self._entries_text(outcomes, 'working entry order')}"
        )
        if flatten:
            text += f"; {_plural(flattened, 'position')} being closed at market"
        log.warning("operator_kill_switch", actor=actor, flatten=flatten, canceled=canceled)
        await self._audit(actor, "operator.kill", "global", reason=reason, flatten=flatten)
        return KillSwitchResult(
            engaged=True,
            changed=not was_engaged,
            reason=reason,
            actor=actor,
            flatten=flatten,
            accounts=len(accounts),
            entries_canceled=canceled,
            positions_flattened=flattened,
            message=self._told(text, told),
            entries_unknown=unknown,
            entries=outcomes,
        )

    async def release_kill_switch(self, actor: str, reason: str) -> KillSwitchResult:
        reason = _clean_reason(reason)
        async with self.lock:
            controls = self._engine.controls
            if not controls.global_kill:
                raise Conflict("The kill switch is not engaged; there is nothing to release.")
            told = await self._reach("unkill", {"actor": actor, "reason": reason})
            # Nothing to stand down: the same release wherever the engine trades.
            await controls.release_kill_switch(actor, reason)
            count = len(self._engine.accounts)
        await self._audit(actor, "operator.unkill", "global", reason=reason)
        text = f"Kill switch released by {actor}: accounts may open positions again"
        return KillSwitchResult(
            engaged=False,
            changed=True,
            reason=reason,
            actor=actor,
            flatten=False,
            accounts=count,
            entries_canceled=0,
            positions_flattened=0,
            message=self._told(text, told),
        )

    # -- one account --------------------------------------------------------------------------

    async def _pause(
        self, account_id: str, actor: str, reason: str, flatten: bool
    ) -> tuple[AccountSummary, tuple[EntryOutcome, ...], int, str]:
        """Pause the account wherever it trades (under the lock); its summary, the entries'
        outcomes, the positions being closed and how the workers answered."""
        async with self.lock:
            acct = self._account(account_id)  # an unknown account: refused, nothing sent
            if reason.startswith(STOPPED) and acct.paused and acct.pause_reason.startswith(STOPPED):
                raise Conflict(f"Engine {account_id} is already stopped.")
            entries = self._open_entries([acct])
            positions = self._positions([acct]) if flatten else set()
            payload = {"account_id": account_id, "actor": actor, "reason": reason}
            told = await self._reach("pause", {**payload, "flatten": flatten}, account_id)
            controls = self._engine.controls
            if self.forwarding:
                controls.mark_paused(account_id, actor, reason, flatten)
            else:
                await controls.pause_account(account_id, actor, reason, flatten)
            outcomes = self._outcomes(entries)
            flattened = self._flattened(positions)
            summary = self.summary(account_id)
        return summary, outcomes, flattened, told

    async def pause_account(
        self, account_id: str, actor: str, reason: str, flatten: bool = False
    ) -> AccountActionResult:
        reason = _clean_reason(reason)
        summary, outcomes, flattened, told = await self._pause(account_id, actor, reason, flatten)
        await self._audit(actor, "operator.pause", account_id, reason=reason, flatten=flatten)
        stood_down = self._entries_text(outcomes, "entry order")
        text = f"Account {account_id} paused by {actor}; {stood_down}"
        if flatten:
            text += f"; {_plural(flattened, 'position')} being closed at market"
        return self._action(summary, outcomes, flattened, self._told(text, told))

    @staticmethod
    def _action(
        summary: AccountSummary, outcomes: tuple[EntryOutcome, ...], flattened: int, text: str
    ) -> AccountActionResult:
        canceled = sum(1 for o in outcomes if o.outcome == "canceled")
        unknown = sum(1 for o in outcomes if o.outcome == "unknown")
        return AccountActionResult(summary, canceled, flattened, text, unknown, outcomes)

    async def resume_account(
        self,
        account_id: str,
        actor: str,
        reason: str,
        lift_breakers: bool = False,
        *,
        owner: bool = False,
    ) -> AccountActionResult:
        """Lift a pause. ``owner``: the account's investor asks, who may lift only their own
        pause (or the system's loss-limit pause), never an operator's."""
        reason = _clean_reason(reason)
        async with self.lock:
            acct = self._account(account_id)
            paused_by = self._engine.controls.paused_by.get(account_id, actor)
            if owner and acct.paused and paused_by not in (actor, "system"):
                raise Conflict(
                    f"Your account was paused by the operator: {acct.pause_reason.rstrip('.')}. "
                    "Only the operator can resume it."
                )
            if not acct.paused and not (lift_breakers and acct.state.value != "active"):
                held = [
                    r.text for r in self._engine.controls.restrictions(acct) if r.effect != "paused"
                ]
                if held and acct.state.value != "active":
                    # Not paused but held by a breaker: name it and say how to lift it.
                    raise Conflict(
                        f"Account {account_id} is not paused but {acct.state.value} by "
                        f"{' '.join(held)} To lift it, resume with lift_breakers set to true."
                    )
                raise Conflict(f"Account {account_id} is not paused; there is nothing to resume.")
            payload = {"account_id": account_id, "actor": actor, "reason": reason}
            told = await self._reach("resume", {**payload, "lift": lift_breakers}, account_id)
            # Lifting a pause or a breaker stands nothing down: the same wherever it trades.
            await self._engine.controls.resume_account(account_id, actor, reason, lift_breakers)
            summary = self.summary(account_id)
        await self._audit(actor, "operator.resume", account_id, reason=reason, lift=lift_breakers)
        text = f"Account {account_id} resumed by {actor}; it is now {summary.status}"
        if summary.state != "active":
            text += " (a circuit breaker still holds it; resume with lift_breakers to lift it)"
        return AccountActionResult(summary, 0, 0, self._told(text, told))

    async def stop_engine(
        self, account_id: str, actor: str, reason: str = "stopped by the operator"
    ) -> AccountActionResult:
        """Pause the account for good, close its positions at market and mark it stopped."""
        why = _clean_reason(reason)
        summary, outcomes, flattened, told = await self._pause(
            account_id, actor, f"{STOPPED}: {why}", flatten=True
        )
        await self._audit(actor, "operator.engine_stop", account_id, reason=why)
        text = (
            f"Engine {account_id} stopped by {actor}; {self._entries_text(outcomes, 'entry order')}"
            f"; {_plural(flattened, 'position')} being closed at market"
        )
        return self._action(summary, outcomes, flattened, self._told(text, told))


__all__ = ["ControlActions"]
