"""Tests of the template_agent agent: pytest test_template_agent.py"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from rampart.agents.base import AgentConstraints, agent_view
from rampart.agents.plugins import probe_candles
from rampart.agents.registry import make_agent
from rampart.domain.instruments import Instrument
from rampart.domain.intents import IntentAction
from rampart.domain.positions import Position

SPEC = f"{Path(__file__).with_name('template_agent.py')}:TemplateAgent"


def test_it_meets_the_agent_protocol() -> None:
    # make_agent refuses, in one sentence, an agent that does not (members, space, probe).
    assert make_agent(SPEC, {"period": 20}).warmup == 101


def test_it_sells_in_steps_and_lifts_its_stop_to_the_entry() -> None:
    agent = make_agent(SPEC)
    candles = probe_candles(400)
    instrument = Instrument.for_price(candles[0].symbol, 100.0)
    limits = AgentConstraints(Decimal("0.005"), Decimal("0.05"), Decimal("1.5"))
    position: Position | None = None
    reductions = 0
    for i, candle in enumerate(candles, 1):
        agent.update(candle)
        view = agent_view(
            "test",
            candle.symbol,
            candle,
            candles[:i],
            instrument,
            Decimal(1000),
            Decimal(1000),
            None if position is None else position.copy(),
            limits,
            candle.close_ts,
        )
        for intent in agent.decide(view):
            if intent.action is IntentAction.OPEN and position is None:
                stop = intent.stop_loss
                position = Position(
                    candle.symbol,
                    agent.name,
                    "e",
                    candle.ts,
                    stop,
                    intent.take_profit,
                    Decimal(1),
                    intent.entry_price,
                    initial_stop=stop,
                )
            elif position is None:
                continue
            elif intent.action is IntentAction.REDUCE:
                assert intent.size_hint == Decimal("0.5")
                position.qty /= 2
                position.exits += 1
                reductions += 1
            elif intent.action is IntentAction.MOVE:
                assert position.stop_loss < intent.stop_loss  # only ever up, to the entry
                position.stop_loss = intent.stop_loss
        if position is not None and candle.low <= position.stop_loss:
            position = None  # stopped out, as the exchange would
        if position is not None and candle.high >= position.take_profit:
            position = None
    assert reductions > 0
