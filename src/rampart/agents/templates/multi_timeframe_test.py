"""Tests of the template_agent agent: pytest test_template_agent.py"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from rampart.agents.base import AgentConstraints, agent_view
from rampart.agents.informative import SeriesBook, declared
from rampart.agents.plugins import probe_candles
from rampart.agents.registry import make_agent
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Side

SPEC = f"{Path(__file__).with_name('template_agent.py')}:TemplateAgent"


def test_it_meets_the_agent_protocol() -> None:
    # make_agent refuses, in one sentence, an agent that does not (members, space, probe).
    agent = make_agent(SPEC, {"hours": 12})
    assert agent.warmup == 156  # 13 hours of 5-minute bars: the hourly mean's warm-up


def test_it_sees_closed_hours_only_and_buys_with_a_bracket() -> None:
    agent = make_agent(SPEC)
    candles = probe_candles(600)
    symbol = candles[0].symbol
    book, specs = SeriesBook(), declared(agent)
    book.want_all(specs, symbol)  # as the engine and the checks do: closed bars only
    instrument = Instrument.for_price(symbol, 100.0)
    limits = AgentConstraints(Decimal("0.005"), Decimal("0.05"), Decimal("1.5"))
    buys = []
    for i, candle in enumerate(candles, 1):
        book.feed(candle)
        agent.update(candle)
        now = candle.close_ts
        view = agent_view(
            "test", symbol, candle, candles[:i], instrument, Decimal(1000), Decimal(1000),
            None, limits, now, book.view(specs, symbol, now),
        )  # fmt: skip
        assert all(bar.close_ts <= now for bar in view.series("1h"))
        buys += [x for x in agent.decide(view) if x.side is Side.BUY]
    assert buys
    for intent in buys:
        assert intent.stop_loss < intent.entry_price < intent.take_profit
