"""Synthetic candles, views and a decider wired to the local stand-in."""

from __future__ import annotations

import math
from decimal import Decimal

from rampart.agents.base import AgentConstraints, AgentView
from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.domain.instruments import DEFAULT_INSTRUMENTS
from rampart.llm.budget import Budget, Price
from rampart.llm.cache import AnswerCache
from rampart.llm.client import LlmClient
from rampart.llm.decider import LlmDecider
from rampart.observability.metrics import LlmMetrics, Metrics

SYMBOL = "BTC/USDT"
KEY = "sk-test-SECRET-never-shown"
MODEL = "standin-1"
PRICES = {MODEL: Price(Decimal("0.5"), Decimal("1.5"))}
CONSTRAINTS = AgentConstraints(Decimal("0.005"), Decimal("0.05"), Decimal("1.2"))


def candles(n: int, start_ms: int = 1_700_000_000_000) -> list[Candle]:
    out = []
    for i in range(n):
        close = 30_000 + 400 * math.sin(i / 7) + 5 * i
        out.append(
            Candle(SYMBOL, start_ms + i * 60_000, close - 3, close + 20, close - 25, close, 1.5)
        )
    return out


def view(history: list[Candle], *, account: str = "alice") -> AgentView:
    candle = history[-1]
    return AgentView(
        account_id=account,
        symbol=SYMBOL,
        candle=candle,
        history=history,
        instrument=DEFAULT_INSTRUMENTS[SYMBOL],
        equity=Decimal(10_000),
        cash=Decimal(10_000),
        position=None,
        constraints=CONSTRAINTS,
        ts=candle.close_ts,
    )


def decider(
    url: str,
    clock: SimClock,
    *,
    timeout_s: float = 5.0,
    retries: int = 2,
    daily_usd: str = "100",
    ttl_s: float = 3600,
    db: object = None,
    metrics: LlmMetrics | None = None,
) -> LlmDecider:
    client = LlmClient(
        base_url=url, api_key=KEY, model=MODEL, clock=clock, timeout_s=timeout_s, retries=retries
    )
    return LlmDecider(
        client,
        cache=AnswerCache(clock, ttl_s),
        budget=Budget(clock, Decimal(daily_usd), PRICES),
        clock=clock,
        db=db,  # type: ignore[arg-type]
        metrics=metrics if metrics is not None else Metrics().llm,
    )
