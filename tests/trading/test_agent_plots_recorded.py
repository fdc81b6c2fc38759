"""What a replay writes to ``indicators.csv`` after each candle is what the engine recorded for
the panel's chart right after the agents saw it (``AgentPlots.recorded``), not the agents'
attributes read a second time: the same values, in the declared order, agent after agent."""

from __future__ import annotations

from pathlib import Path

from rampart.reports.indicator_chart import write_indicators_csv
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


def test_the_last_readings_are_kept_as_recorded_gives_them() -> None:
    """``last`` (what a replay's curve point reads, a field and not a call) is ``recorded``
    after every record, a repeated bar and a second agent included; an agent added since the
    last record clears it, so nothing short of its lines is read."""
    plots = AgentPlots(keep=3)
    first, second = _Agent("a", ("fast", "slow")), _Agent("b", (("rsi", "RSI"),))
    plots.add("BTC/USDT", first)
    assert "BTC/USDT" not in plots.last
    first.fast.value = 3.0
    plots.record("BTC/USDT", 60_000)
    assert plots.last["BTC/USDT"] == plots.recorded("BTC/USDT") == (3.0, 0.0)
    plots.add("BTC/USDT", second)
    assert "BTC/USDT" not in plots.last
    assert plots.recorded("BTC/USDT") == (3.0, 0.0, None)
    second.rsi.value, first.fast.value = 40.0, 4.0
    plots.record("BTC/USDT", 60_000)  # repeated for the first agent, new for the second
    assert plots.last["BTC/USDT"] == plots.recorded("BTC/USDT") == (3.0, 0.0, 40.0)
    plots.record("BTC/USDT", 120_000)
    assert plots.last["BTC/USDT"] == plots.recorded("BTC/USDT") == (4.0, 0.0, 40.0)


def test_the_csv_cells_are_the_values_repr_and_empty_for_none(tmp_path: Path) -> None:
    rows = [(0, 1.5, (None, 0.1)), (60_000, 2.0, (1e-07, float(10**17))), (120_000, 3.25, ())]
    path = tmp_path / "indicators.csv"
    write_indicators_csv(rows, ["fast", "slow"], path)
    by_hand = "".join(
        ",".join([str(ts), repr(close), *["" if v is None else repr(v) for v in values]]) + "\r\n"
        for ts, close, values in rows
    )
    assert path.read_bytes().decode() == "ts,close,fast,slow\r\n" + by_hand
