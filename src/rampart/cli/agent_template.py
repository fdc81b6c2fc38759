"""The skeleton ``rampart agents new NAME`` writes: an agent of Agent API 1 and its test.

The agent is a working one (a close crossing its moving average, with an ATR bracket), so the
skeleton replays, optimizes and passes the checks before its author changes a line."""

from __future__ import annotations

AGENT = '''"""{title}: an agent of one's own (Agent API 1, docs/authors/agents.md).

Run it:      rampart replay --data FILE --agent {name}.py:{cls}
Search it:   rampart optimize --data FILE --agent {name}.py:{cls}
Check it:    rampart check-lookahead --data FILE --agent {name}.py:{cls}
"""

from __future__ import annotations

from decimal import Decimal

from rampart.agents.base import AgentView, RuleAgent, check_int
from rampart.agents.indicators import ATR, EMA
from rampart.agents.space import SIZE_HINT, ParamSpace, float_param, int_param
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent


class {cls}(RuleAgent):
    """Buys when the close crosses above its EMA; closes the long when it crosses below."""

    name = "{name}"
    api_version = "1"
    # Every constructor keyword, with the same default: replay --param, optimize and the
    # settings' params read this, and Rampart refuses the agent when the two disagree.
    space = ParamSpace(
        (
            int_param("period", 20, 3, 200, log=True),
            float_param("atr_k", 2.0, 0.5, 5.0, step=0.1),
            SIZE_HINT,
        )
    )

    def __init__(
        self, *, period: int = 20, atr_k: float = 2.0, size_hint: Decimal | str = Decimal(1)
    ) -> None:
        super().__init__(size_hint)
        self.period = check_int(self.name, "period", period, 2)
        self.atr_k = float(atr_k)
        # Bars before the first decision: an EMA remembers every bar it saw, so its signals
        # match a long-running agent's only after a few times its period (check-warmup).
        self.warmup = 5 * max(self.period, 14) + 1
        self._ema = EMA(self.period)
        self._atr = ATR(14)
        self._above: bool | None = None
        self._crossed = False

    def _advance(self, candle: Candle) -> None:
        """One closed bar: the indicators only ever see candles the engine feeds."""
        ema = self._ema.update(candle.close)
        self._atr.update(candle.high, candle.low, candle.close)
        if ema is None:
            return
        above = candle.close > ema
        self._crossed = self._above is not None and above != self._above
        self._above = above

    def _quiet(self, candle: Candle) -> bool:
        # No cross: _decide answers [] to every account, so the engine need not ask.
        return not self._crossed

    def _decide(self, view: AgentView) -> list[Intent]:
        atr = self._atr.value
        if not self._crossed or atr is None:
            return []
        if self._above and not self.holding(view):
            return self.open_long(view, atr, self.atr_k, Decimal(2), 0.6, "close crossed above EMA")
        if not self._above and self.holding(view):
            return self.close_long(view, 0.6, "close crossed below EMA")
        return []
'''

TEST = '''"""Tests of the {name} agent: pytest test_{name}.py"""

from __future__ import annotations

from pathlib import Path

from rampart.agents.plugins import probe_candles
from rampart.agents.registry import make_agent
from rampart.domain.orders import Side

SPEC = f"{{Path(__file__).with_name('{name}.py')}}:{cls}"


def test_it_meets_the_agent_protocol() -> None:
    # make_agent refuses, in one sentence, an agent that does not (members, space, probe).
    agent = make_agent(SPEC, {{"period": 20}})
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
            "test", candle.symbol, candle, candles[:i], instrument, Decimal(1000),
            Decimal(1000), None, limits, candle.close_ts,
        )
        buys += [x for x in agent.decide(view) if x.side is Side.BUY]
    assert buys
    for intent in buys:
        assert intent.stop_loss < intent.entry_price < intent.take_profit
'''


def class_name(name: str) -> str:
    """my_agent → MyAgent."""
    return "".join(part.capitalize() for part in name.split("_") if part) or "Agent"


def agent_source(name: str) -> str:
    title = name.replace("_", " ").capitalize()
    return AGENT.format(name=name, cls=class_name(name), title=title)


def test_source(name: str) -> str:
    return TEST.format(name=name, cls=class_name(name))
