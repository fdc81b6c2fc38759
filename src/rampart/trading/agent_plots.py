"""The indicators agents ask to have drawn (``rampart.agents.plotting``), read after each
candle and kept beside the engine's candles for the panel's trade chart.

A run pays for them only where they are drawn: the service reads them after every candle (the
panel's chart), a replay only on the candles of its curve's points (its ``indicators.csv`` and
chart, :meth:`AgentPlots.ask`), a research trial never (nothing draws them)."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable

from rampart.agents.plotting import PlotLine, declared_plot, reading, readings


class AgentPlots:
    def __init__(self, keep: int = 300) -> None:
        self.keep = keep
        self._by_symbol: dict[str, list[tuple[object, tuple[PlotLine, ...]]]] = {}
        self._trails: dict[tuple[str, int], deque[tuple[int, tuple[float | None, ...]]]] = {}
        self.declared = False
        """Whether any agent declares a line."""
        self.every_candle = True
        """Whether every candle's readings are taken; off, only those :meth:`ask` asks for."""
        self.wanted = False
        """Whether the next candle's readings are taken (read on every candle: a field, not a
        call)."""
        self._fresh = False
        self.last: dict[str, tuple[float | None, ...]] = {}
        """Per symbol, :meth:`recorded` as the last :meth:`record` left it (read after a candle
        as a field, not a call); absent until a candle is recorded after the agents changed."""

    def only_when_asked(self) -> None:
        """Take readings only on the candles :meth:`ask` names (a replay's curve points), none
        unasked (a research trial): decided once, before the agents are added."""
        self.every_candle = self.wanted = False

    def add(self, symbol: str, agent: object) -> None:
        """Draw what ``agent`` declares on ``symbol`` (checked: refused in plain words)."""
        lines = declared_plot(agent)
        if lines and all(a is not agent for a, _ in self._by_symbol.get(symbol, ())):
            self._by_symbol.setdefault(symbol, []).append((agent, lines))
            self.declared = True
            self.wanted = self.every_candle
            self._trails[symbol, id(agent)] = deque(maxlen=self.keep)
            self.last.pop(symbol, None)  # one line more: read again at the next record

    def ask(self) -> None:
        """Take the readings of the candles seen until :meth:`taken` (a replay's curve point)."""
        self.wanted, self._fresh = self.declared, False

    def taken(self, symbol: str, ts: int) -> tuple[float | None, ...]:
        """The readings since :meth:`ask`, as :meth:`recorded` gives them; read now when no
        candle was seen since (the price guard held it) and one was seen before."""
        if not self.every_candle:
            if not self._fresh and any(self._trails.values()):
                self.record(symbol, ts)
            self.wanted = False
        return self.recorded(symbol)

    def record(self, symbol: str, ts: int) -> None:
        """After the agents on ``symbol`` saw the candle opening at ``ts``."""
        self._fresh = True
        values: tuple[float | None, ...] = ()
        for agent, lines in self._by_symbol.get(symbol, ()):
            trail = self._trails[symbol, id(agent)]
            # A repeated bar (the agent ignored it too) keeps the readings it had.
            if not trail or trail[-1][0] < ts:
                trail.append((ts, readings(agent, lines)))
            values += trail[-1][1]
        self.last[symbol] = values

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
