"""The engine's side of an agent's room: each decision under a deadline, its answer through the
boundary (``rampart.agents.boundary``), its faults counted, its account paused after too many.

- **Faults.** An answer the boundary refuses, an exception, or a decision past its deadline is
  a fault: the decision proposes nothing, the account's ``/why`` and the ``agent_refused`` (or
  ``agent_overran``) log line say what the agent did, and an :class:`AgentFaulted` event counts
  it (``rampart_agent_faults_total``; an overrun is the AgentOverran P2). After
  :attr:`RoomRules.faults_in_a_row` faults in a row the account is paused by ``agent`` with the
  invariant ``agent`` (the InvestorProblem incident), its working entries cancelled, and its
  agent is no longer asked until an operator resumes it. The engine never stops for an agent.
- **Deadlines.** In live modes (a service: ``rampart run``, workers) each decision has a wall
  time budget (``engine.agent_deadline_s``, per agent ``engine.agent_deadlines``): a liveness
  measure like a heartbeat, never business time. An agent from outside Rampart decides on a
  daemon thread of its own (an async one on that thread's own event loop), so however it
  blocks, the engine's loop waits at most the budget for it, and while it is still busy the
  next decisions asked of it are skipped at once: another account waits for it at most once.
  Rampart's own agents answer inline (the LLM agent's model call is awaited under the budget).
  Replays and research set no deadline: every answer is awaited, so a result never depends on
  the machine's speed.
- **Decision times.** Every decision's wall time is kept per agent (:attr:`AgentRoom.times`,
  p50/p99 in a replay's summary).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from rampart.agents.base import Agent, AgentBase, AgentView, agent_view
from rampart.agents.boundary import OVERRAN, RAISED, AgentFault, check_answer, raised
from rampart.agents.decision_times import DecisionTimes
from rampart.agents.informative import NO_SERIES, Informative, declared
from rampart.domain.candles import Candle
from rampart.domain.events import AgentFaulted
from rampart.domain.intents import Intent
from rampart.trading.account import Rejection
from rampart.trading.callbacks import LastLook, Notices

if TYPE_CHECKING:
    from collections import deque
    from decimal import Decimal

    from rampart.agents.informative import SeriesBook
    from rampart.trading.account import AccountRuntime
    from rampart.trading.bus import EventBus
    from rampart.trading.controls import Controls
    from rampart.trading.execution import Executor
    from rampart.trading.ports import Venue
    from rampart.trading.serving import Subscription

log = structlog.get_logger("rampart.agents")
FAULTS_IN_A_ROW = 3
DEADLINE_S = 1.0
CODES = {"answer": "agent_answer", RAISED: "agent_raised", OVERRAN: "agent_deadline"}
"""The rejection codes ``/why`` shows for each kind of fault."""
NOTHING: tuple[Intent, ...] = ()


@dataclass(frozen=True, slots=True)
class RoomRules:
    faults_in_a_row: int = FAULTS_IN_A_ROW
    """Faults in a row after which the account is paused."""
    deadline_s: float | None = None
    """The budget of a decision in wall seconds; None awaits every answer (replays)."""
    deadlines: Mapping[str, float] = field(default_factory=dict)
    """Per agent name, a budget other than ``deadline_s`` (only where one is set)."""

    def deadline_for(self, agent: str) -> float | None:
        if self.deadline_s is None:
            return None
        return self.deadlines.get(agent, self.deadline_s)


def from_outside(agent: object) -> bool:
    """Whether ``agent`` is not one of Rampart's own (it decides on a thread of its own)."""
    return not type(agent).__module__.startswith("rampart.")


class AgentThread:
    """A daemon thread that runs one agent's decisions, one at a time: a daemon, so an agent
    that never returns keeps no process from ending (a pool's threads are joined at exit)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.busy = False
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], asyncio.AbstractEventLoop, Any]]
        self._jobs = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        self.busy = True
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"agent-{self.name}", daemon=True
            )
            self._thread.start()
        self._jobs.put((job, loop, done))
        return done

    def _run(self) -> None:
        while True:
            job, loop, done = self._jobs.get()
            try:
                result, failed = job(), None
            except BaseException as exc:  # the agent's, handed back to the room
                result, failed = (
                    None,
                    exc
                    if isinstance(exc, Exception | SystemExit)
                    else (RuntimeError(f"{type(exc).__name__} ({exc})")),
                )
            self.busy = False
            try:
                loop.call_soon_threadsafe(_settle, done, result, failed)
            except RuntimeError:  # the loop has closed: nobody waits for this answer
                return


def _settle(done: asyncio.Future[Any], result: Any, failed: BaseException | None) -> None:
    if done.done():  # the deadline passed: the answer comes too late to count
        return
    if failed is not None:
        done.set_exception(failed)
    else:
        done.set_result(result)


class RoomEngine(Protocol):
    """What the room reads and asks of the engine (the :class:`Engine` it decides for): the
    history, marks and series a view is built from, and where an intent goes."""

    @property
    def controls(self) -> Controls: ...

    @property
    def history(self) -> dict[str, deque[Candle]]: ...

    @property
    def venue(self) -> Venue: ...

    @property
    def marks(self) -> dict[str, Decimal]: ...

    @property
    def series(self) -> SeriesBook: ...

    @property
    def executor(self) -> Executor: ...

    @property
    def bus(self) -> EventBus: ...

    async def handle_intent(
        self, acct: AccountRuntime, intent: Intent, look: LastLook | None = None
    ) -> bool: ...


class AgentRoom:
    def __init__(self, engine: RoomEngine, rules: RoomRules) -> None:
        self._engine = self.engine = engine
        self.rules = rules
        self.notices = Notices(self)
        """What agents are told before they decide (on_start, on_fill)."""
        self.times: dict[str, DecisionTimes] = {}
        """Each agent's decision times, by name."""
        self._threads: dict[int, AgentThread] = {}
        self._specs: dict[int, tuple[Informative, ...]] = {}
        """Each agent's declared informative series (checked when its account was added)."""
        self.rows: dict[str, tuple[Candle, ...] | None] = {}
        """Each symbol's history as agents see it: a tuple of frozen candles, built on the
        candle's first view and shared (the engine clears it on every candle), so no agent can
        change what another account's agent, or a later candle, sees."""

    async def ask(self, sub: Subscription, candle: Candle, now: int) -> None:
        """One account's decision on ``candle``: its view, the agent's intents, each sent."""
        engine = self._engine
        acct = sub.account
        if acct.paused and engine.controls.benched(acct):
            return  # its agent's faults paused it: not asked until an operator resumes it
        ledger = acct.ledger
        symbol = candle.symbol
        rows = self.rows.get(symbol)
        if rows is None:
            rows = self.rows[symbol] = tuple(engine.history[symbol])
        position = ledger.positions.get(symbol)
        agent = sub.agent
        specs = self._specs.get(id(agent))
        if specs is None:
            specs = self._specs[id(agent)] = declared(agent)
        view = agent_view(
            acct.account_id,
            symbol,
            candle,
            rows,
            engine.venue.instrument(symbol),
            ledger.equity(engine.marks),
            ledger.cash,
            None if position is None else position.copy(),  # its own, not the ledger's
            sub.constraints,
            now,
            engine.series.view(specs, symbol, now) if specs else NO_SERIES,
        )
        notices = self.notices
        if (notices.fills or id(sub.agent) not in notices.started) and not (
            await notices.before(sub, view)
        ):
            return  # on_start or on_fill faulted
        intents = await self.decide(sub, view)
        if not intents:
            return  # most decisions
        look = LastLook(self, sub, view) if sub.looks else None
        for n, intent in enumerate(intents):
            if n:  # a second intent is checked against the first one's answers
                await engine.executor.drain(held=True)
            await engine.handle_intent(acct, intent, look)

    async def decide(self, sub: Subscription, view: AgentView) -> Sequence[Intent]:
        """What ``sub``'s agent proposes on ``view``, checked; nothing on a fault."""
        agent = sub.agent
        name = agent.name
        times = self.times.get(name)
        if times is None:
            times = self.times[name] = DecisionTimes()
        deadline = self.rules.deadline_for(name) if self.rules.deadline_s is not None else None
        start = perf_counter_ns()
        try:
            if deadline is None:
                answer = await agent.decide_async(view)
            else:
                answer = await self._within(agent, name, view, deadline)
            times.add(perf_counter_ns() - start)
            # [] (most answers) is a valid answer as it stands: nothing to check.
            intents = (
                answer
                if type(answer) is list and not answer
                else check_answer(name, view.account_id, view.symbol, answer)
            )
        except AgentFault as fault:
            await self._fault(sub, view, fault.kind, fault.sentence, None)
            return NOTHING
        except (Exception, SystemExit) as exc:  # an agent's sys.exit() must not end the engine
            times.add(perf_counter_ns() - start)
            await self._fault(sub, view, RAISED, raised(name, exc, "deciding"), exc)
            return NOTHING
        if sub.faults:
            sub.faults = 0
        return intents

    async def _within(self, agent: Agent, name: str, view: AgentView, deadline: float) -> Any:
        late = AgentFault(
            f"agent {name} took longer than its {deadline:g} s deadline to decide, so it was "
            "skipped on this candle",
            OVERRAN,
        )
        if from_outside(agent):
            thread = self._threads.get(id(agent))
            if thread is None:
                thread = self._threads[id(agent)] = AgentThread(name)
            if thread.busy:
                raise AgentFault(
                    f"agent {name} was still deciding on an earlier candle, past its "
                    f"{deadline:g} s deadline, so it was skipped on this one",
                    OVERRAN,
                )
            pending: Any = thread.submit(_job(agent, view))
        else:
            pending = agent.decide_async(view)
        try:
            return await asyncio.wait_for(pending, deadline)
        except TimeoutError:
            raise late from None

    async def run(self, agent: Agent, job: Callable[[], Any], doing: str) -> Any:
        """``job`` (one of the agent's callbacks) under the agent's deadline, as a
        decision is: inline for Rampart's own agents and in replays, on the agent's own thread
        otherwise. Raises AgentFault past the deadline; the agent's own exception as is."""
        name = agent.name
        deadline = self.rules.deadline_for(name) if self.rules.deadline_s is not None else None
        if deadline is None or not from_outside(agent):
            return job()
        thread = self._threads.get(id(agent))
        if thread is None:
            thread = self._threads[id(agent)] = AgentThread(name)
        if thread.busy:
            raise AgentFault(
                f"agent {name} was still busy on an earlier call, past its {deadline:g} s "
                f"deadline, so it was not asked while {doing}",
                OVERRAN,
            )
        try:
            return await asyncio.wait_for(thread.submit(job), deadline)
        except TimeoutError:
            raise AgentFault(
                f"agent {name} took longer than its {deadline:g} s deadline while {doing}",
                OVERRAN,
            ) from None

    async def fault(
        self, sub: Subscription, view: AgentView, exc: BaseException, doing: str, outcome: str
    ) -> None:
        """A callback's fault, counted as a decision's is: an AgentFault as it says, another
        exception as the agent's raise; ``outcome`` says what was not done."""
        if isinstance(exc, AgentFault):
            await self._fault(sub, view, exc.kind, exc.sentence, None, outcome)
        else:
            sentence = raised(sub.agent.name, exc, doing)
            await self._fault(sub, view, RAISED, sentence, exc, outcome)

    async def _fault(
        self,
        sub: Subscription,
        view: AgentView,
        kind: str,
        sentence: str,
        exc: BaseException | None,
        outcome: str = "nothing was proposed",
    ) -> None:
        engine = self._engine
        acct, name = sub.account, sub.agent.name
        sub.faults += 1
        limit = self.rules.faults_in_a_row
        told = f"{sentence[0].upper()}{sentence[1:]}; {outcome}"
        log.warning(
            "agent_overran" if kind == OVERRAN else "agent_refused",
            account_id=acct.account_id,
            agent=name,
            symbol=view.symbol,
            in_a_row=sub.faults,
            reason=sentence,
        )
        acct.rejections.append(Rejection(view.ts, view.symbol, CODES[kind], f"{told}.", name))
        engine.bus.publish(
            AgentFaulted(view.ts, acct.account_id, name, view.symbol, kind, sentence, sub.faults)
        )
        if sub.faults >= limit:
            sub.faults = 0
            reason = f"{sentence} ({limit} faults in a row)" if limit > 1 else sentence
            if engine.controls.agent_benched(acct, name, reason, exc):
                await engine.controls.stand_down(acct, "paused: its agent faulted")


def _job(agent: Agent, view: AgentView) -> Callable[[], Any]:
    """The call the agent's thread makes: ``decide`` for an agent that answers at once, its own
    ``decide_async`` run to the end on an event loop of the thread's own otherwise."""
    own = getattr(type(agent), "decide_async", None)
    if own is AgentBase.decide_async or own is None:
        return lambda: agent.decide(view)
    return lambda: _thread_loop().run_until_complete(agent.decide_async(view))


_local = threading.local()


def _thread_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None:
        loop = _local.loop = asyncio.new_event_loop()
    return loop
