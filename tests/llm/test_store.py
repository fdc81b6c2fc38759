"""The llm_calls table and llm_cost, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa

from rampart.store.db import open_database
from rampart.store.llm_calls import LlmCall, calls_between, llm_cost, record_call


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _call(ts: int, cost: str, *, cached: bool = False, outcome: str = "ok") -> LlmCall:
    return LlmCall(
        ts=ts,
        agent="alice",
        model="m-1",
        prompt_tokens=0 if cached else 120,
        completion_tokens=0 if cached else 30,
        cost_usd=Decimal(cost),
        cached=cached,
        outcome=outcome,
        latency_ms=12.5,
    )


def test_llm_cost_sums_a_window_exactly(db: sa.Engine) -> None:
    record_call(db, _call(1_000, "0.000123456789012345678901"))
    record_call(db, _call(2_000, "0", cached=True))
    record_call(db, _call(3_000, "0.1", outcome="invalid"))
    record_call(db, _call(9_000, "5"))  # outside the window

    cost = llm_cost(db, 1_000, 9_000)

    assert cost.calls == 3
    assert cost.cache_hits == 1
    assert cost.prompt_tokens == 240
    assert cost.completion_tokens == 60
    assert cost.cost_usd == Decimal("0.100123456789012345678901")
    assert cost.cache_hit_rate == pytest.approx(1 / 3)
    assert [c.ts for c in calls_between(db, 0, 10_000)] == [1_000, 2_000, 3_000, 9_000]
    assert calls_between(db, 2_000, 2_001)[0].cached is True


def test_an_empty_window_costs_nothing(db: sa.Engine) -> None:
    cost = llm_cost(db, 0, 10)
    assert (cost.calls, cost.cost_usd, cost.cache_hit_rate) == (0, Decimal(0), None)


def test_an_unknown_outcome_is_refused(db: sa.Engine) -> None:
    with pytest.raises(ValueError, match="unknown LLM call outcome"):
        record_call(db, _call(1, "0", outcome="weird"))
    assert llm_cost(db, 0, 10).calls == 0
