"""The position monitor and the circuit breakers, run for every account on each price update.

In two steps, so that an account with nothing to send costs no coroutine (the engine guards
every account on every candle): :meth:`Guard.check` reads the account and says what is to be
sent (:data:`IDLE` on most candles: nothing), :meth:`Guard.act` sends it. The stop and target
are tested once, in ``check``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

import structlog

from rampart.domain.accounts import TradingState
from rampart.domain.events import AccountStateChanged, BreakerTripped
from rampart.domain.money import ZERO
from rampart.domain.positions import ClosedTrade, Position
from rampart.risk.breakers import Trip
from rampart.risk.restrictions import KILL_ON_POSITION_LOSS, position_loss, position_loss_kill
from rampart.trading.account import AccountRuntime

if TYPE_CHECKING:
    from rampart.domain.stages import Stage
    from rampart.risk.breakers import Breakers
    from rampart.trading.bus import EventBus
    from rampart.trading.controls import Controls
    from rampart.trading.execution import Executor
    from rampart.trading.ports import VenueCapabilities
    from rampart.trading.serving import Subscription

log = structlog.get_logger("rampart.engine")

YIELD_EVERY = 100
"""Accounts handled between two yields to the event loop on one candle, so the HTTP API
keeps answering while a thousand accounts trade (one account never yields)."""


@dataclass(frozen=True, slots=True)
class Guarding:
    """What :meth:`Guard.check` found to send for one account (see :meth:`Guard.act`)."""

    position: Position | None = None
    """The position needs something sent (an exit, its bracket, a pause): after it, its loss
    is looked at again and the breakers asked."""
    exit: bool = False
    """The monitor saw the stop or the target crossed: close the position."""
    protect: bool = False
    """Put the position's bracket back on the venue (the back-off has passed)."""
    equity: Decimal = ZERO
    trips: tuple[Trip, ...] = ()
    """The breakers' trips (already applied to the breaker state), when no position acts."""


IDLE = Guarding()
"""Nothing to send: what :meth:`Guard.check` answers on most candles."""


class GuardedEngine(Protocol):
    """What the guard reads on the engine (the :class:`Engine` it watches accounts for)."""

    @property
    def executor(self) -> Executor: ...

    @property
    def breakers(self) -> dict[str, Breakers]: ...

    @property
    def capabilities(self) -> VenueCapabilities: ...

    @property
    def marks(self) -> dict[str, Decimal]: ...

    @property
    def controls(self) -> Controls: ...

    @property
    def stage(self) -> Stage: ...

    @property
    def bus(self) -> EventBus: ...


class Guard:
    def __init__(self, engine: GuardedEngine) -> None:
        self._engine = engine
        self._executor = engine.executor
        self._breakers = engine.breakers
        self._native_brackets = engine.capabilities.native_brackets
        """The venue holds a position's stop and target itself (else the monitor does)."""
        self.kill_scope = "account"
        """What a position past ``kill_on_position_loss`` stops: ``account`` (halt and
        flatten it) or ``service`` (the global kill switch); ``risk.kill_on_position_loss_scope``
        in the settings."""

    async def accounts(self, subs: Sequence[Subscription], symbol: str, now: int) -> None:
        """Guard every account on ``symbol`` in the order given, yielding to the event loop
        every :data:`YIELD_EVERY` accounts."""
        for i, sub in enumerate(subs, 1):
            guarding = self.check(sub.account, symbol, now)
            if guarding is not IDLE:
                await self.act(sub.account, symbol, guarding, now)
            if i % YIELD_EVERY == 0:
                await asyncio.sleep(0)

    async def account(self, acct: AccountRuntime, symbol: str, now: int) -> None:
        """Guard one account after a price update: :meth:`check`, then :meth:`act`."""
        guarding = self.check(acct, symbol, now)
        if guarding is not IDLE:
            await self.act(acct, symbol, guarding, now)

    def check(self, acct: AccountRuntime, symbol: str, now: int) -> Guarding:
        """What the account needs sent after a price update; :data:`IDLE` for nothing. Reads
        only, but for the breakers: their trips are applied to the breaker state here (and
        asked only when no position acts; :meth:`act` asks them after it)."""
        ledger = acct.ledger
        marks = self._engine.marks
        positions = ledger.positions
        equity = ledger.equity(marks)
        pos = positions.get(symbol)
        if pos is not None:
            mark = marks.get(symbol)
            if mark is not None:
                guarded = symbol in acct.bracket_book.guarded  # acct.guarded, read directly
                # The monitor holds the stop where the venue does not hold the bracket, or
                # while its bracket is off the venue (guarded).
                crossed = (guarded or not self._native_brackets) and (
                    mark <= pos.stop_loss or mark >= pos.take_profit
                )
                if crossed or guarded:
                    executor = self._executor
                    return Guarding(
                        pos,
                        exit=crossed and not executor.is_dust(pos),
                        # Try to put the bracket back on the venue; after a refusal only once
                        # the back-off has passed (the monitor holds the stop meanwhile).
                        protect=not crossed
                        and self._native_brackets
                        and executor.protection_due(acct, symbol),
                        equity=equity,
                    )
                net = pos.net_pnl(mark)  # once for both checks: asked on every held candle
                # Both need a loss (a limit past it, a kill amount past it): a position in
                # profit, about half the held candles, is asked neither.
                if net < ZERO and (
                    self._breakers[acct.account_id].position_loss_exceeded(
                        net, equity, acct.profile, pos.loss_at_stop
                    )
                    or self._kill_due(acct, net)
                ):
                    return Guarding(pos, equity=equity)
        trips = self._breakers[acct.account_id].on_equity(acct.breakers, equity, now, timed=True)
        # No working order (a flat, quiet account: most candles), no entry to cancel: its
        # state is not asked.
        if trips or (
            acct.orders and acct.state is not TradingState.ACTIVE and acct.working_entries()
        ):
            return Guarding(equity=equity, trips=tuple(trips))
        return IDLE

    async def act(self, acct: AccountRuntime, symbol: str, guarding: Guarding, now: int) -> None:
        """Send what :meth:`check` found: the exit or the bracket, then (the position still
        held) the kill or the pause its loss calls for, then the breakers' trips."""
        pos = guarding.position
        trips: Sequence[Trip] = guarding.trips
        if pos is not None:
            executor = self._executor
            if guarding.exit:
                await executor.exit_position(acct, symbol, "position monitor")
            elif guarding.protect:
                await executor.ensure_protection(acct, symbol)
            mark = self._engine.marks[symbol]
            equity = guarding.equity
            # Asked again after the exit: a part of it filled at once leaves less to lose.
            if symbol in acct.ledger.positions and self._kill_due(acct, pos.net_pnl(mark)):
                await self._kill(acct, symbol, -pos.net_pnl(mark), now)
            elif symbol in acct.ledger.positions and self._breakers[
                acct.account_id
            ].position_loss_exceeded(pos.net_pnl(mark), equity, acct.profile, pos.loss_at_stop):
                restriction = position_loss(
                    symbol, -pos.net_pnl(mark), equity, acct.profile, acct.spec.quote, now
                )
                await self._engine.controls.pause_account(
                    acct.account_id,
                    actor="system",
                    reason=f"{symbol} position lost more than the per-position limit",
                    flatten=True,
                    restriction=restriction,
                )
            trips = self._breakers[acct.account_id].on_equity(
                acct.breakers, equity, now, timed=True
            )
        if trips:
            await self.apply_trips(acct, list(trips), now)
        if acct.state is not TradingState.ACTIVE and acct.working_entries():
            await self._executor.cancel_entries(acct)

    def _kill_rule(self, acct: AccountRuntime) -> tuple[Decimal, str]:
        """The kill amount and scope: a rollout stage's amount (internal and limited: 50)
        engages the kill switch for the whole service, as plan 004 says; the tighter of it
        and the profile's own counts. Without one, the profile's amount and the settings'."""
        own, staged = acct.profile.kill_on_position_loss, self._engine.stage.kill_on_position_loss
        if staged is None:
            return own, self.kill_scope
        return (min(own, staged) if own > 0 else staged), "service"

    def _kill_due(self, acct: AccountRuntime, net_pnl: Decimal) -> bool:
        """The position is past ``kill_on_position_loss`` and what it stops is not stopped
        yet (the flattening exit may take a candle to fill: one kill, not one per candle)."""
        limit, scope = self._kill_rule(acct)
        stopped = self._engine.controls.global_kill if scope == "service" else acct.paused
        return not stopped and self._breakers[acct.account_id].position_loss_kills(
            net_pnl, acct.profile, limit
        )

    async def _kill(self, acct: AccountRuntime, symbol: str, loss: Decimal, now: int) -> None:
        """LeviBot's "Position Loss > $50 → Activate kill switch": the account halted and
        flattened (only an operator resumes it), or with scope ``service`` the global kill
        switch engaged and every position closed. The trip is the P1's (PositionLossKill)."""
        limit, scope = self._kill_rule(acct)
        restriction = position_loss_kill(symbol, loss, acct.profile, acct.spec.quote, now, limit)
        message = restriction.measured
        self._engine.bus.publish(
            BreakerTripped(now, acct.account_id, KILL_ON_POSITION_LOSS, message)
        )
        log.error(
            "position_loss_kill",
            account_id=acct.account_id,
            symbol=symbol,
            loss=str(loss),
            limit=str(limit),
            scope=scope,
        )
        controls = self._engine.controls
        if scope == "service":
            await controls.engage_kill_switch("risk", f"{acct.account_id}: {message}", flatten=True)
            return
        await controls.pause_account(
            acct.account_id, actor="risk", reason=message, flatten=True, restriction=restriction
        )

    # -- trips --------------------------------------------------------------------------------

    def publish_trips(self, acct: AccountRuntime, trips: list[Trip], now: int) -> None:
        bus = self._engine.bus
        for trip in trips:
            if not trip.released:
                bus.publish(BreakerTripped(now, acct.account_id, trip.breaker, trip.message))
                log.warning("breaker_tripped", account_id=acct.account_id, breaker=trip.breaker)
            if trip.old_state != trip.new_state:
                bus.publish(
                    AccountStateChanged(
                        now,
                        acct.account_id,
                        trip.old_state,
                        trip.new_state,
                        trip.message,
                        _cause(acct, trip),
                    )
                )

    async def apply_trips(self, acct: AccountRuntime, trips: list[Trip], now: int) -> None:
        self.publish_trips(acct, trips, now)
        if any(trip.new_state is not TradingState.ACTIVE for trip in trips):
            await self._executor.cancel_entries(acct)

    def on_trade_closed(self, acct: AccountRuntime, trade: ClosedTrade) -> None:
        breakers = self._breakers[acct.account_id]
        trips = breakers.on_trade_closed(acct.breakers, trade.pnl, trade.closed_at)
        # Working entries are canceled on the next guard pass (this runs inside a fill).
        self.publish_trips(acct, trips, trade.closed_at)


def _cause(acct: AccountRuntime, trip: Trip) -> str:
    """What restricts the account after ``trip``: its own restriction, else (a release into a
    cooldown that still runs, say) what the account's breakers now hold; empty when ACTIVE."""
    if trip.new_state is TradingState.ACTIVE:
        return ""
    return trip.restriction.cause if trip.restriction is not None else acct.cause
