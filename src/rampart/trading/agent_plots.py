"""The indicators agents ask to have drawn (``rampart.agents.plotting``), read after each
candle and kept beside the engine's candles for the panel's trade chart."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable

from rampart.agents.plotting import PlotLine, declared_plot, reading


class AgentPlots:
    def __init__(self, keep: int = 300) -> None:
        self.keep = keep
        self._by_symbol: dict[str, list[tuple[object, tuple[PlotLine, ...]]]] = {}
        self._trails: dict[tuple[str, int], deque[tuple[int, tuple[float | None, ...]]]] = {}
        self.wanted = False
        """Whether any agent declares a line (read on every candle: a field, not a call)."""

    def add(self, symbol: str, agent: object) -> None:
        """Draw what ``agent`` declares on ``symbol`` (checked: refused in plain words)."""
        lines = declared_plot(agent)
        if lines and all(a is not agent for a, _ in self._by_symbol.get(symbol, ())):
            self._by_symbol.setdefault(symbol, []).append((agent, lines))
            self.wanted = True
            self._trails[symbol, id(agent)] = deque(maxlen=self.keep)

    def record(self, symbol: str, ts: int) -> None:
        """After the agents on ``symbol`` saw the candle opening at ``ts``."""
        for agent, lines in self._by_symbol.get(symbol, ()):
            trail = self._trails[symbol, id(agent)]
            if trail and trail[-1][0] >= ts:
                continue  # a repeated bar: the agent ignored it too
            trail.append((ts, tuple([reading(agent, line) for line in lines])))

    def recorded(self, symbol: str) -> tuple[float | None, ...]:
        """Every drawn line's value as :meth:`record` last took it, the agents in their order
        (what :meth:`latest` reads again; None for an agent with no candle yet)."""
        values: tuple[float | None, ...] = ()
        for agent, lines in self._by_symbol.get(symbol, ()):
            trail = self._trails[symbol, id(agent)]
            values += trail[-1][1] if trail else (None,) * len(lines)
        return values

    def latest(self, symbol: str) -> Iterable[tuple[str, PlotLine, float | None]]:
        """Each drawn line's value after the last candle: (agent name, line, value)."""
        for agent, lines in self._by_symbol.get(symbol, ()):
            name = str(getattr(agent, "name", type(agent).__name__))
            for line in lines:
                yield name, line, reading(agent, line)

    def series(self, symbol: str, only: Collection[object]) -> list[dict[str, object]]:
        """Each line on ``symbol`` drawn by one of the agents ``only`` (the asking accounts'
        own: an investor sees no other account's agent's values): its agent, attribute, pane
        and (time, value) points (the candle's open time, as the chart's candles are placed)."""
        out: list[dict[str, object]] = []
        for agent, lines in self._by_symbol.get(symbol, ()):
            if not any(agent is mine for mine in only):
                continue
            trail = self._trails[symbol, id(agent)]
            name = getattr(agent, "name", type(agent).__name__)
            for i, line in enumerate(lines):
                points = [{"time": ts, "value": v[i]} for ts, v in trail if v[i] is not None]
                out.append({"agent": name, "name": line.label, "pane": line.pane, "points": points})
        return out
