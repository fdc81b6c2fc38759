"""An agent's callbacks, each run like its decision: under its deadline, its
answer checked at the boundary, a fault counted in its room (``rampart.trading.agent_room``).

- ``on_start()``: once, before the agent's first decision.
- ``on_fill(fill)``: each fill of an account's orders, before that account's next decision
  (so a replay tells it at the same point whatever the machine's speed).
- ``stake(view, intent, largest)``: the quantity an entry (or an addition) buys, given the
  largest the risk engine approved. More is clamped to that (the profile's limits hold); 0
  vetoes; less than the venue's smallest order is refused in a sentence.
- ``confirm_entry(view, intent, qty)`` / ``confirm_exit(view, intent)``: a last look at an
  approved entry (or addition) and at a close or reduction the agent asked for; False vetoes.
  A stop or a target on the exchange asks nobody.

Only a callback the agent's class overrides is called (an :class:`AgentBase` default costs
nothing). A callback that raises, overruns or answers something else (a ``"yes"``, a float
stake) is a fault: what it was asked about is not done, the room records the sentence naming
the agent, and enough faults in a row pause the account as a decision's do.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from rampart.agents.base import AgentBase, AgentView
from rampart.agents.boundary import AgentFault, shown
from rampart.domain.events import FillBooked
from rampart.domain.fills import Fill
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import ZERO
from rampart.risk.checks import RiskVerdict
from rampart.risk.codes import RejectCode, fmt_num
from rampart.trading.bus import Topic

if TYPE_CHECKING:
    from rampart.agents.base import Agent
    from rampart.trading.bus import EventBus
    from rampart.trading.serving import Subscription

log = structlog.get_logger("rampart.agents")
_FAULT = object()
_NOT_SENT = "the entry was not sent"
_NOT_ASKED = "it was not asked to decide on this candle"
_BUYS = (IntentAction.OPEN, IntentAction.ADD)
_SELLS = (IntentAction.CLOSE, IntentAction.REDUCE)


class BusHolder(Protocol):
    """The room's engine as the notices see it: where an agent's fills are heard."""

    @property
    def bus(self) -> EventBus: ...


class Room(Protocol):
    """What a callback asks of the agent's room (:class:`rampart.trading.agent_room.AgentRoom`):
    to run it under the agent's deadline, and to count its fault."""

    @property
    def engine(self) -> BusHolder: ...

    async def run(self, agent: Agent, job: Callable[[], Any], doing: str) -> Any: ...

    async def fault(
        self, sub: Subscription, view: AgentView, exc: BaseException, doing: str, outcome: str
    ) -> None: ...


_OWN: dict[tuple[type, str], bool] = {}
_LOOKS = ("stake", "confirm_entry", "confirm_exit")


def overrides(agent: object, name: str) -> bool:
    """Whether ``agent``'s class has a callback ``name`` of its own (not AgentBase's); kept per
    class."""
    key = (type(agent), name)
    own = _OWN.get(key)
    if own is None:
        found = getattr(type(agent), name, None)
        own = _OWN[key] = found is not None and found is not getattr(AgentBase, name, None)
    return own


def looks(agent: object) -> bool:
    """Whether the agent takes a last look at anything (stake, confirm_entry/exit): asked
    once, when its account is added (``Subscription.looks``)."""
    return any(overrides(agent, name) for name in _LOOKS)


def hears_fills(agent: object) -> bool:
    """Whether the agent is told of its fills (``on_fill``): asked once, as :func:`looks`."""
    return overrides(agent, "on_fill")


class LastLook:
    """The agent's say on what the risk engine approved for one of its intents."""

    __slots__ = ("room", "sub", "view")

    def __init__(self, room: Room, sub: Subscription, view: AgentView) -> None:
        self.room, self.sub, self.view = room, sub, view

    async def verdict(self, intent: Intent, verdict: RiskVerdict) -> RiskVerdict | None:
        """``verdict`` as the agent leaves it (a smaller stake, a veto); None when a callback
        faulted (the room has recorded why)."""
        agent, view, action = self.sub.agent, self.view, intent.action
        if action in _BUYS:
            if overrides(agent, "stake"):
                largest = verdict.qty
                answer = await self._ask(
                    lambda: agent.stake(view, intent, largest),  # type: ignore[attr-defined]
                    "sizing an entry",
                    _quantity,
                    _NOT_SENT,
                )
                if answer is _FAULT:
                    return None
                verdict = self._staked(intent, verdict, answer)
                if not verdict.approved:
                    return verdict
            if overrides(agent, "confirm_entry"):
                qty = verdict.qty
                answer = await self._ask(
                    lambda: agent.confirm_entry(view, intent, qty),  # type: ignore[attr-defined]
                    "confirming an entry",
                    _yes_or_no,
                    _NOT_SENT,
                )
                if answer is _FAULT:
                    return None
                if not answer:
                    return _veto(agent.name, "entry")
        elif action in _SELLS and overrides(agent, "confirm_exit"):
            answer = await self._ask(
                lambda: agent.confirm_exit(view, intent),  # type: ignore[attr-defined]
                "confirming an exit",
                _yes_or_no,
                "the exit was not sent",
            )
            if answer is _FAULT:
                return None
            if not answer:
                return _veto(agent.name, "exit")
        return verdict

    async def _ask(
        self,
        job: Callable[[], Any],
        doing: str,
        check: Callable[[str, str, object], Any],
        outcome: str,
    ) -> Any:
        room, sub = self.room, self.sub
        try:
            return check(sub.agent.name, doing, await room.run(sub.agent, job, doing))
        except (Exception, SystemExit) as exc:  # the agent's, as a decision's would be
            await room.fault(sub, self.view, exc, doing, outcome)
            return _FAULT

    def _staked(self, intent: Intent, verdict: RiskVerdict, staked: Decimal) -> RiskVerdict:
        name, largest = self.sub.agent.name, verdict.qty
        inst = self.view.instrument
        if staked == ZERO:
            return RiskVerdict.reject(
                RejectCode.AGENT_VETO, f"Agent {name} staked nothing, so the entry was not sent."
            )
        if staked >= largest:
            if staked > largest:
                log.info("stake_clamped", agent=name, asked=str(staked), largest=str(largest))
            return verdict  # at most what the profile allows: clamped to it
        qty = inst.floor_qty(staked)
        if qty < inst.min_qty or qty * intent.entry_price < inst.min_notional:
            return RiskVerdict.reject(
                RejectCode.BELOW_MIN_QTY,
                f"Agent {name} staked {fmt_num(staked)} {inst.base}, below the smallest "
                f"{intent.symbol} order ({fmt_num(inst.min_qty)} {inst.base} worth at least "
                f"{fmt_num(inst.min_notional)} {inst.quote}).",
            )
        risk = verdict.risk_amount * qty / largest
        base = inst.base
        return RiskVerdict.approve(
            qty,
            risk,
            lambda: (
                f"Approved: buy {fmt_num(qty)} {base}, the stake agent {name} chose (the "
                f"profile allowed {fmt_num(largest)})."
            ),
        )


def _veto(agent: str, what: str) -> RiskVerdict:
    return RiskVerdict.reject(
        RejectCode.AGENT_VETO, f"Agent {agent} vetoed this {what} at its last look."
    )


def _yes_or_no(agent: str, doing: str, answer: object) -> bool:
    if type(answer) is not bool:
        raise AgentFault(f"agent {agent} answered {shown(answer)} while {doing}, not True or False")
    return answer


def _quantity(agent: str, doing: str, answer: object) -> Decimal:
    if type(answer) is int:
        answer = Decimal(answer)
    if type(answer) is not Decimal or not answer.is_finite() or answer < ZERO:
        raise AgentFault(
            f"agent {agent} answered {shown(answer)} while {doing}, not a quantity (a Decimal "
            "of 0 or more)"
        )
    return answer


class Notices:
    """``on_start`` and ``on_fill`` for a room: what an agent is told before it decides."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.started: set[int] = set()
        self.fills: dict[str, list[Fill]] = {}
        """Fills waiting to be told, by account (only accounts whose agent listens)."""

    def __call__(self, event: object) -> None:
        """The bus's subscriber (subscribed once an agent that hears fills is asked)."""
        if isinstance(event, FillBooked):
            waiting = self.fills.get(event.fill.account_id)
            if waiting is not None:
                waiting.append(event.fill)

    async def before(self, sub: Subscription, view: AgentView) -> bool:
        """Tell the agent what it has not heard yet; False when that faulted (the decision is
        skipped: the agent may not be in the state it expects)."""
        agent, room = sub.agent, self.room
        if id(agent) not in self.started:
            self.started.add(id(agent))
            if overrides(agent, "on_start"):
                try:
                    await room.run(agent, agent.on_start, "starting")  # type: ignore[attr-defined]
                except (Exception, SystemExit) as exc:
                    await room.fault(sub, view, exc, "starting", _NOT_ASKED)
                    return False
        if not sub.hears_fills:
            return True
        waiting = self.fills.get(sub.account.account_id)
        if waiting is None:
            # From now on: fills before its first decision were of no order it asked for.
            if not self.fills:
                room.engine.bus.subscribe(self, topics=(Topic.ORDERS,), name="agent_fills")
            self.fills[sub.account.account_id] = []
            return True
        told, waiting[:] = list(waiting), []
        for fill in told:
            if fill.symbol != view.symbol:
                waiting.append(fill)  # told on a decision on its own symbol
                continue
            try:
                await room.run(
                    agent,
                    lambda f=fill: agent.on_fill(f),  # type: ignore[attr-defined,misc]
                    "hearing of a fill",
                )
            except (Exception, SystemExit) as exc:
                await room.fault(sub, view, exc, "hearing of a fill", _NOT_ASKED)
                return False
        return True
