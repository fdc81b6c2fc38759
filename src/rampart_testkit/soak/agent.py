"""Agents for the soak: a busy rule agent, and a wrapper that times every decision.

The built-in agents trade a few times a day; a soak wants many orders to prove that none is
lost or duplicated, so some accounts run :class:`ChurnAgent`: it enters every ``every`` bars
when flat, with an ATR bracket inside the profile's limits (stop-loss and take-profit both
real orders on the exchange), and closes with a market exit after ``hold`` bars when neither
leg has filled, which exercises cancels of protective orders too.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Annotated, Any, Protocol

from rampart.agents.base import Agent, AgentBase, AgentView, RuleAgent, check_int
from rampart.agents.indicators import ATR
from rampart.agents.registry import make_agent
from rampart.agents.space import SIZE, ParamSpace, between
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent


class LatencySink(Protocol):
    def add(self, seconds: float) -> None: ...


class ChurnAgent(RuleAgent):
    name = "churn"
    description = "Soak load: enters every N bars when flat, exits after M bars if still open."

    def __init__(
        self,
        *,
        every: Annotated[int, between(1, 1000)] = 5,
        hold: Annotated[int, between(1, 10_000)] = 12,
        atr_period: Annotated[int, between(1, 200)] = 5,
        atr_k: Annotated[float, between(0.1, 10.0, step=0.1)] = 1.0,
        target_rr: Annotated[Decimal | float | str, between(1.0, 5.0, step=0.1)] = Decimal("1.2"),
        size_hint: Annotated[Decimal | float | str, SIZE] = Decimal("0.5"),
    ) -> None:
        super().__init__(size_hint)
        self.every = check_int(self.name, "every", every, 1)
        self.hold = check_int(self.name, "hold", hold, 1)
        self.atr_k = atr_k
        self.target_rr = Decimal(str(target_rr))
        self._atr = ATR(check_int(self.name, "atr_period", atr_period, 1))
        self.warmup = atr_period + 1

    space = ParamSpace.of(__init__)
    """Its parameters as the signature states them, like a built-in agent's (the registry
    reads an agent's parameters from its space)."""

    def _advance(self, candle: Candle) -> None:
        self._atr.update(candle.high, candle.low, candle.close)

    def _decide(self, view: AgentView) -> list[Intent]:
        atr = self._atr.value
        if atr is None:
            return []
        pos = view.position
        if pos is not None and pos.qty > 0:
            held_bars = (view.ts - pos.opened_at) // max(view.candle.timeframe_ms, 1)
            if held_bars >= self.hold:
                return self.close_long(view, 0.5, f"held {held_bars} bars")
            return []
        if self.bars % self.every:
            return []
        return self.open_long(view, atr, self.atr_k, self.target_rr, 0.5, "soak churn entry")


def soak_agent_factory(latency: LatencySink | None = None, *, compute_only: bool = False) -> Any:
    """``make_agent`` for the engine: ``churn`` or any built-in agent, each wrapped so the
    time from a candle reaching the agents to each decision lands in ``latency`` (with
    ``compute_only``, the agent's own work only: :class:`ComputeTimedAgent`)."""
    wrap = ComputeTimedAgent if compute_only else TimedAgent

    def factory(name: str, params: dict[str, Any] | None) -> Agent:
        inner: Agent = ChurnAgent(**(params or {})) if name == "churn" else make_agent(name, params)
        return inner if latency is None else wrap(inner, latency)

    return factory


class TimedAgent(AgentBase):
    """Measures signal latency: from the moment the candle is handed to the agent (its
    indicators update) to the moment each decision on it is returned."""

    def __init__(self, inner: Agent, sink: LatencySink) -> None:
        self.inner = inner
        self.name = inner.name
        self.warmup = inner.warmup
        self.sink = sink
        self._seen = 0.0

    def update(self, candle: Candle) -> None:
        self._seen = time.perf_counter()
        self.inner.update(candle)

    def decide(self, view: AgentView) -> list[Intent]:
        intents = self.inner.decide(view)
        self.sink.add(time.perf_counter() - self._seen)
        return intents


class ComputeTimedAgent(TimedAgent):
    """Signal generation alone: the agent's indicator update plus its decision, without what
    the engine does between them (venue calls of the position monitor, orders sent). Against
    a remote exchange those calls cross the network, and their time is the order latency's,
    not the signal's."""

    def __init__(self, inner: Agent, sink: LatencySink) -> None:
        super().__init__(inner, sink)
        self._update_s = 0.0

    def update(self, candle: Candle) -> None:
        started = time.perf_counter()
        self.inner.update(candle)
        self._update_s = time.perf_counter() - started

    def decide(self, view: AgentView) -> list[Intent]:
        started = time.perf_counter()
        intents = self.inner.decide(view)
        self.sink.add(self._update_s + time.perf_counter() - started)
        return intents
