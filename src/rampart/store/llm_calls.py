"""LLM call records: one row per decision asked of a model, and what they cost over a window.

The LLM agent and the ``/vibe`` parser write a row per call (answered, cached or refused); the
reports read :func:`llm_cost` for a period. Timestamps are UTC milliseconds from the caller's
Clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from rampart.store.models.llm import llm_calls

OUTCOMES = frozenset({"ok", "invalid", "timeout", "error", "budget"})


@dataclass(frozen=True, slots=True)
class LlmCall:
    ts: int
    agent: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    cached: bool
    outcome: str
    latency_ms: float


@dataclass(frozen=True, slots=True)
class LlmCost:
    calls: int
    """Every row in the window, cached answers included."""
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal

    @property
    def cache_hit_rate(self) -> float | None:
        return self.cache_hits / self.calls if self.calls else None


def record_call(engine: sa.Engine, call: LlmCall) -> None:
    if call.outcome not in OUTCOMES:
        raise ValueError(f"unknown LLM call outcome {call.outcome!r}")
    with engine.begin() as conn:
        conn.execute(
            llm_calls.insert().values(
                ts=call.ts,
                agent=call.agent,
                model=call.model,
                prompt_tokens=call.prompt_tokens,
                completion_tokens=call.completion_tokens,
                cost_usd=call.cost_usd,
                cached=call.cached,
                outcome=call.outcome,
                latency_ms=call.latency_ms,
            )
        )


def calls_between(engine: sa.Engine, start_ms: int, end_ms: int) -> list[LlmCall]:
    """Calls with ``start_ms <= ts < end_ms``, oldest first."""
    query = (
        sa.select(llm_calls)
        .where(llm_calls.c.ts >= start_ms, llm_calls.c.ts < end_ms)
        .order_by(llm_calls.c.ts, llm_calls.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        LlmCall(
            ts=r["ts"],
            agent=r["agent"],
            model=r["model"],
            prompt_tokens=r["prompt_tokens"],
            completion_tokens=r["completion_tokens"],
            cost_usd=r["cost_usd"],
            cached=bool(r["cached"]),
            outcome=r["outcome"],
            latency_ms=float(r["latency_ms"]),
        )
        for r in rows
    ]


def llm_cost(engine: sa.Engine, start_ms: int, end_ms: int) -> LlmCost:
    """Calls, cache hits, tokens and USD spent with ``start_ms <= ts < end_ms``.

    Money is summed in Python: on SQLite the column is text, and SUM would go through floats.
    """
    query = sa.select(
        llm_calls.c.cached,
        llm_calls.c.prompt_tokens,
        llm_calls.c.completion_tokens,
        llm_calls.c.cost_usd,
    ).where(llm_calls.c.ts >= start_ms, llm_calls.c.ts < end_ms)
    calls = hits = prompt = completion = 0
    cost = Decimal(0)
    with engine.connect() as conn:
        for cached, p, c, usd in conn.execute(query):
            calls += 1
            hits += 1 if cached else 0
            prompt += int(p)
            completion += int(c)
            cost += usd
    return LlmCost(calls, hits, prompt, completion, cost)
