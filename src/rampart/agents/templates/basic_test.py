"""Tests of the template_agent agent: pytest test_template_agent.py"""

from __future__ import annotations

from pathlib import Path

from rampart.agents.plugins import probe_candles
from rampart.agents.registry import make_agent
from rampart.domain.orders import Side

SPEC = f"{Path(__file__).with_name('template_agent.py')}:TemplateAgent"


def test_it_meets_the_agent_protocol() -> None:
    # make_agent refuses, in one sentence, an agent that does not (members, space, probe).
    agent = make_agent(SPEC, {"period": 20})
    assert agent.warmup == 101


def test_it_buys_with_a_stop_below_and_a_target_above() -> None:
    from decimal import Decimal

    from rampart.agents.base import AgentConstraints, agent_view
    from rampart.domain.instruments import Instrument

    agent = make_agent(SPEC)
    candles = probe_candles(300)
    instrument = Instrument.for_price(candles[0].symbol, 100.0)
    limits = AgentConstraints(Decimal("0.005"), Decimal("0.05"), Decimal("1.5"))
    buys = []
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
            None,
            limits,
            candle.close_ts,
        )
        buys += [x for x in agent.decide(view) if x.side is Side.BUY]
    assert buys
    for intent in buys:
        assert intent.stop_loss < intent.entry_price < intent.take_profit
