"""An agent's callbacks: a last look that may veto an entry or an exit, a
stake clamped to the profile's limits, on_start and on_fill, each under the room's boundary
checks and deadline: a garbage answer is a refusal naming the agent, a slow callback a missed
deadline, never a stalled engine."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

from rampart.agents.base import AgentView
from rampart.domain.events import AgentFaulted, Event
from rampart.domain.fills import Fill
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.trading.agent_room import RoomRules
from rampart.trading.engine import Engine

from .helpers import SYMBOL, ScriptedAgent, build, candle, feed, long_intent

D = Decimal


class Looking(ScriptedAgent):
    """Opens a long on the first candle, closes on the third; its callbacks answer what the
    test sets (``entry``, ``exit``, ``staked``), after waiting on ``gate`` when one is set."""

    name = "looking"

    def __init__(self) -> None:
        super().__init__(self._script)
        self.entry: object = True
        self.exit: object = True
        self.staked: object = None
        self.gate: threading.Event | None = None
        self.heard: list[str] = []

    def _script(self, i: int, view: AgentView) -> list[Intent]:
        self.heard.append(f"decide {i}")
        if i == 0:
            return [long_intent(view, "0.98", "1.10", agent=self.name)]
        if i == 2:
            return self.close_long(view)
        return []

    def close_long(self, view: AgentView) -> list[Intent]:
        close = Intent(
            view.account_id, SYMBOL, Side.SELL, IntentAction.CLOSE, D(100), agent=self.name
        )
        return [close]

    def _wait(self) -> None:
        if self.gate is not None:
            self.gate.wait()

    def on_start(self) -> None:
        self.heard.append("start")

    def on_fill(self, fill: Fill) -> None:
        self.heard.append(f"fill {fill.side}")

    def confirm_entry(self, view: AgentView, intent: Intent, qty: Decimal) -> bool:
        self._wait()
        return self.entry  # type: ignore[return-value]

    def confirm_exit(self, view: AgentView, intent: Intent) -> bool:
        return self.exit  # type: ignore[return-value]

    def stake(self, view: AgentView, intent: Intent, largest: Decimal) -> Decimal:
        return largest if self.staked is None else self.staked  # type: ignore[return-value]


async def _run(
    agent: Looking, candles: int = 3, rules: RoomRules | None = None
) -> tuple[Engine, list[Event]]:
    engine, _venue, clock, bus = await build(agent, agent_name="scripted")
    if rules is not None:
        engine.room.rules = rules
    events: list[Event] = []
    bus.subscribe(events.append)
    await feed(engine, clock, [candle(i, 100, 101, 99.5, 100) for i in range(candles)])
    return engine, events


def test_confirm_entry_false_vetoes_the_entry_in_a_sentence() -> None:
    agent = Looking()
    agent.entry = False
    engine, _ = asyncio.run(_run(agent, candles=1))
    acct = engine.accounts["a1"]
    assert SYMBOL not in acct.ledger.positions
    (refused,) = acct.rejections
    assert refused.code == "agent_veto" and "looking vetoed this entry" in refused.message


def test_confirm_exit_false_keeps_the_position() -> None:
    agent = Looking()
    agent.exit = False
    engine, _ = asyncio.run(_run(agent))
    acct = engine.accounts["a1"]
    assert SYMBOL in acct.ledger.positions
    (refused,) = acct.rejections
    assert refused.code == "agent_veto" and "vetoed this exit" in refused.message
    assert engine.violations == 0


def test_a_stake_above_the_profile_is_clamped_and_a_smaller_one_bought() -> None:
    agent = Looking()
    agent.staked = D(1_000)  # 100,000 USDT of BTC: far past moderate's 20 % of 10,000
    engine, _ = asyncio.run(_run(agent, candles=1))
    assert engine.accounts["a1"].ledger.positions[SYMBOL].qty == D(20)  # 2,000 USDT: the limit
    agent = Looking()
    agent.staked = D("2.5")
    engine, _ = asyncio.run(_run(agent, candles=1))
    assert engine.accounts["a1"].ledger.positions[SYMBOL].qty == D("2.5")
    agent = Looking()
    agent.staked = D(0)
    engine, _ = asyncio.run(_run(agent, candles=1))
    (refused,) = engine.accounts["a1"].rejections
    assert refused.code == "agent_veto" and "staked nothing" in refused.message


def test_a_garbage_answer_is_a_refusal_naming_the_agent() -> None:
    for field, garbage, words in (
        ("entry", "yes", "answered 'yes' while confirming an entry, not True or False"),
        ("staked", 2.5, "answered 2.5 while sizing an entry, not a quantity"),
        ("staked", D(-1), "answered Decimal('-1') while sizing an entry"),
    ):
        agent = Looking()
        setattr(agent, field, garbage)
        engine, events = asyncio.run(_run(agent, candles=1))
        acct = engine.accounts["a1"]
        assert SYMBOL not in acct.ledger.positions, field
        (refused,) = acct.rejections
        assert refused.code == "agent_answer", refused
        assert refused.message.startswith("Agent looking answered"), refused.message
        assert words in refused.message, refused.message
        assert [e.kind for e in events if isinstance(e, AgentFaulted)] == ["answer"]


def test_a_slow_last_look_misses_its_deadline_and_the_engine_goes_on() -> None:
    # A callback from outside Rampart runs on the agent's own thread under the live deadline;
    # this one waits on an event the test sets only at the end (no wall-time sleep here).
    agent = Looking()
    agent.gate = threading.Event()
    try:
        engine, events = asyncio.run(
            _run(agent, candles=3, rules=RoomRules(deadline_s=0.05, faults_in_a_row=5))
        )
    finally:
        agent.gate.set()
    acct = engine.accounts["a1"]
    assert SYMBOL not in acct.ledger.positions
    overran = [e for e in events if isinstance(e, AgentFaulted) and e.kind == "overran"]
    assert overran and "looking took longer than its 0.05 s deadline" in overran[0].sentence
    assert engine.candles_seen == 3  # every candle was handled


def test_on_start_once_and_each_fill_before_the_next_decision() -> None:
    agent = Looking()
    asyncio.run(_run(agent))
    assert agent.heard == ["start", "decide 0", "fill buy", "decide 1", "decide 2"]
