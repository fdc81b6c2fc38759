"""Planted agents for the research tests, and a quick way to run a search through the engine.

``NoiseAgent`` is a planted overfit: its one parameter, ``seed``, picks one of many streams of
random entries and exits; no setting has an edge, so the best of a search is luck.
``PeekAgent`` is a planted lookahead: built with the candles it may see (as a vectorised
indicator would be handed a whole data frame), it buys when the *next* candle closes higher.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rampart.agents import registry
from rampart.agents.base import AgentView, RuleAgent
from rampart.agents.indicators import ATR
from rampart.agents.space import SIZE_HINT, ParamSpace, int_param
from rampart.config import Settings
from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent
from rampart.domain.performance import period_for
from rampart.market.loaders import load_candles
from rampart.research.folds import walk_forward
from rampart.research.objectives import Constraints
from rampart.research.plan import SearchPlan
from rampart.wiring.backtest import EngineBacktest

SHORT = "XRP_ETH-5m.feather"
"""706 candles of 5 minutes: the CI search's file."""


class NoiseAgent(RuleAgent):
    name = "noise"
    description = "Random entries and exits, one stream per seed (a planted overfit)."
    space = ParamSpace((int_param("seed", 0, 0, 1_000_000), SIZE_HINT))

    def __init__(self, *, seed: int = 0, size_hint: Decimal | float | str = Decimal(1)) -> None:
        super().__init__(size_hint)
        self.seed = seed
        self.warmup = 15
        self._atr = ATR(14)
        self._draw = 0.5

    def _advance(self, candle: Candle) -> None:
        self._atr.update(candle.high, candle.low, candle.close)
        self._draw = random.Random(self.seed * 1_000_003 + candle.ts).random()

    def _decide(self, view: AgentView) -> list[Intent]:
        atr = self._atr.value
        if atr is None:
            return []
        if self.holding(view):
            return self.close_long(view, 0.6, "noise says out") if self._draw < 0.15 else []
        if self._draw > 0.9:
            return self.open_long(view, atr, 1.5, Decimal("1.5"), 0.6, "noise says in")
        return []


class PeekAgent(RuleAgent):
    """Buys when the candle after this one closes higher: it reads the future."""

    name = "peek"
    description = "A planted lookahead."
    space = ParamSpace((SIZE_HINT,))

    def __init__(self, visible: Sequence[Candle] = (), *, size_hint: Any = Decimal(1)) -> None:
        super().__init__(size_hint)
        self.warmup = 15
        self._atr = ATR(14)
        self._next = {a.ts: b.close for a, b in itertools.pairwise(visible)}

    def _advance(self, candle: Candle) -> None:
        self._atr.update(candle.high, candle.low, candle.close)

    def _decide(self, view: AgentView) -> list[Intent]:
        atr = self._atr.value
        upcoming = self._next.get(view.candle.ts)
        if atr is None or upcoming is None or self.holding(view):
            return []
        if upcoming > view.candle.close:
            return self.open_long(view, atr, 1.5, Decimal("1.5"), 0.9, "the next close is higher")
        return []


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The planted overfit registered as an agent for the length of a test."""
    monkeypatch.setitem(registry._AGENTS, NoiseAgent.name, NoiseAgent)
    yield


def engine_search(
    data: Path,
    settings: Settings,
    *,
    agent: str = "trend",
    study: str = "t",
    trials: int = 8,
    folds: int = 1,
    jobs: int = 1,
    seed: int | None = 7,
    prune: bool = False,
    constraints: Constraints | None = None,
    objective: str = "sharpe",
    fixed: dict[str, Any] | None = None,
) -> tuple[SearchPlan, EngineBacktest, list[tuple[int, float]]]:
    """A plan and the engine backtest for ``data``, searched over ``agent``'s declarations."""
    series = load_candles(data).series
    candles = list(series.iter_candles())
    space = registry.agent_space(agent)
    fixed = fixed or {}
    period = period_for(series.timeframe_ms)
    plan = SearchPlan(
        study=study,
        agent=agent,
        objective=objective,
        constraints=constraints or Constraints(),
        trials=trials,
        jobs=jobs,
        seed=seed,
        prune=prune,
        folds=tuple(walk_forward(len(candles), folds)),
        searched=tuple(p for p in space if p.search and p.name not in fixed),
        fixed=fixed,
        period_ms=period,
        data=data.name,
    )
    backtest = EngineBacktest(
        settings,
        agent,
        "moderate",
        Decimal(1),
        candles,
        Instrument.for_price(series.symbol, series.typical_price()),
        period,
    )
    return plan, backtest, [(c.close_ts, float(c.close)) for c in candles]
