"""The ``llm`` agent: asks a model for each decision, held to the same risk engine as any rule.

How an async model call fits the engine: the ``Agent`` protocol's ``decide_async``, which
the engine awaits for every decision (a rule agent's returns its ``decide``); this agent's
awaits the model. The alternatives were worse: answering
with the *previous* candle's completed call acts on stale prices and makes a replay depend on
how fast the model answered; calling from a background task would let decisions race candles.
The engine already awaits the venue per candle, so awaiting a bounded (timed-out) model call
there keeps replays deterministic.

The model is reached through :class:`DecisionSource`, a port the adapter in ``rampart.llm``
implements (the dependency rule: agents never import adapters). Fail safe: whatever the
source cannot do yields no intents, never an exception; once the daily budget is spent the
configured rule agent decides instead until the budget refills at UTC midnight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Protocol

from rampart.agents.base import Agent, AgentBase, AgentView, check_decimal, check_int
from rampart.agents.space import ParamSpace, between, choice_param
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent
from rampart.domain.money import ONE, ZERO

NAME = "llm"
FALLBACKS = ("trend", "mean_reversion", "breakout")
"""The rule agents an ``llm`` agent may fall back on (``rampart.agents.registry`` checks the
list against the registered rule agents)."""


@dataclass(frozen=True, slots=True)
class LlmVerdict:
    intents: list[Intent] = field(default_factory=list)
    outcome: str = "ok"
    """``ok``, ``invalid``, ``timeout``, ``error`` or ``budget``."""

    @property
    def budget_spent(self) -> bool:
        return self.outcome == "budget"


class DecisionSource(Protocol):
    async def decide(self, view: AgentView, *, size_hint: Decimal, bars: int) -> LlmVerdict:
        """What the model proposes for this view; never raises."""


class LlmAgent(AgentBase):
    name = NAME
    description = "Asks an LLM for each entry; a rule agent decides once the daily budget is spent."

    def __init__(
        self,
        source: DecisionSource | None,
        fallback: Agent,
        *,
        size_hint: Annotated[object, between(0.01, 1.0, step=0.01, search=False)] = Decimal("0.5"),
        bars: Annotated[object, between(5, 200)] = 20,
        warmup: Annotated[object, between(1, 1000)] = 30,
    ) -> None:
        self.source = source
        self.fallback = fallback
        self.size_hint = check_decimal(NAME, "size_hint", size_hint, ZERO, ONE)
        self.bars = check_int(NAME, "bars", bars, 5)
        self.warmup = max(check_int(NAME, "warmup", warmup, 1), self.bars)
        if source is None:
            # The fallback makes every decision, from when its own indicators have settled.
            self.warmup = max(self.warmup, int(getattr(fallback, "warmup", 1)))
        self.seen = 0
        self.last_ts: int | None = None
        self.fallback_decisions = 0

    space = ParamSpace.of(__init__, choice_param("fallback", None, FALLBACKS))
    """The signature's parameters, each stated once there, and the fallback rule agent's name
    (the constructor takes the agent itself; ``None``: the settings pick it)."""

    def update(self, candle: Candle) -> None:
        self.fallback.update(candle)
        if self.last_ts is not None and candle.ts <= self.last_ts:
            return
        self.last_ts = candle.ts
        self.seen += 1

    def decide(self, view: AgentView) -> list[Intent]:
        """Without a running model (no source configured) the fallback decides."""
        if self.source is None:
            self.fallback_decisions += 1
            return self.fallback.decide(view)
        return []

    async def decide_async(self, view: AgentView) -> list[Intent]:
        if self.source is None:
            return self.decide(view)
        if self.seen < self.warmup or view.candle.ts != self.last_ts:
            return []
        verdict = await self.source.decide(view, size_hint=self.size_hint, bars=self.bars)
        if verdict.budget_spent:
            self.fallback_decisions += 1
            return self.fallback.decide(view)
        return verdict.intents
