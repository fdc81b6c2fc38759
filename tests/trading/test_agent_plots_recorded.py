"""What a replay writes to ``indicators.csv`` after each candle is what the engine recorded for
the panel's chart right after the agents saw it (``AgentPlots.recorded``), not the agents'
attributes read a second time: the same values, in the declared order, agent after agent."""

from __future__ import annotations

from rampart.trading.agent_plots import AgentPlots


class _Indicator:
    def __init__(self) -> None:
        self.value: float | None = None


class _Agent:
    def __init__(self, name: str, plot: tuple[object, ...]) -> None:
        self.name, self.plot = name, plot
        self.fast, self.slow, self.rsi = _Indicator(), 0.0, _Indicator()


def test_recorded_gives_each_agents_lines_as_recorded_in_their_order() -> None:
    plots = AgentPlots(keep=3)
    first, second = _Agent("a", ("fast", "slow")), _Agent("b", (("rsi", "RSI"),))
    plots.add("BTC/USDT", first)
    assert plots.recorded("BTC/USDT") == (None, None)  # no candle recorded yet
    plots.add("BTC/USDT", second)
    first.fast.value, first.slow = 101.5, 99.0
    plots.record("BTC/USDT", 60_000)
    # The values as they were then, whatever the agents hold now.
    first.fast.value, second.rsi.value = 7.0, 55.0
    assert plots.recorded("BTC/USDT") == (101.5, 99.0, None)
    plots.record("BTC/USDT", 60_000)  # a repeated bar: nothing taken again
    assert plots.recorded("BTC/USDT") == (101.5, 99.0, None)
    plots.record("BTC/USDT", 120_000)
    assert plots.recorded("BTC/USDT") == (7.0, 99.0, 55.0)
    assert plots.recorded("BTC/USDT") == tuple(v for *_, v in plots.latest("BTC/USDT"))
    assert plots.recorded("ETH/USDT") == ()
