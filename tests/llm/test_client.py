"""The LLM client and decider against the local OpenAI-compatible stand-in on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from rampart.clock import SimClock
from rampart.domain.intents import IntentAction
from rampart.domain.orders import Side
from rampart.llm.client import RATE_LIMITED, SERVER, TIMEOUT, LlmClient, LlmError
from rampart.llm.standin import LlmStandIn
from rampart.observability.metrics import Metrics

from .helpers import KEY, MODEL, candles, decider, view

START = 1_700_000_000_000


def _value(metrics: Metrics, name: str, labels: dict[str, str] | None = None) -> float:
    found = metrics.registry.get_sample_value(name, labels or {})
    return 0.0 if found is None else found


def test_a_valid_answer_becomes_one_bracketed_long() -> None:
    async def scenario() -> None:
        async with LlmStandIn() as standin:
            clock = SimClock(START)
            metrics = Metrics()
            d = decider(standin.url, clock, metrics=metrics.llm)
            history = candles(40)
            verdict = await d.decide(view(history), size_hint=Decimal("0.5"), bars=20)
            await d.client.aclose()
        assert verdict.outcome == "ok"
        [intent] = verdict.intents
        close = history[-1].close_dec
        assert (intent.side, intent.action, intent.agent) == (Side.BUY, IntentAction.OPEN, "llm")
        assert intent.stop_loss < close < intent.take_profit
        assert intent.size_hint == Decimal("0.5")
        assert standin.calls == 1
        body = standin.requests[0]
        assert body["model"] == MODEL
        assert body["response_format"] == {"type": "json_object"}
        assert standin.headers[0]["Authorization"] == f"Bearer {KEY}"
        tokens = _value(metrics, "rampart_llm_tokens_total", {"kind": "prompt"})
        assert tokens > 0
        assert _value(metrics, "rampart_llm_calls_total", {"outcome": "ok"}) == 1
        # 0.5 $/1k prompt + 1.5 $/1k completion, as the budget charged it.
        assert d.budget.spent > 0
        assert _value(metrics, "rampart_llm_cost_usd_total") == pytest.approx(float(d.budget.spent))

    asyncio.run(scenario())


def test_invalid_json_is_no_trade_and_counted() -> None:
    async def scenario() -> None:
        async with LlmStandIn(default="invalid_json") as standin:
            metrics = Metrics()
            d = decider(standin.url, SimClock(START), metrics=metrics.llm)
            verdict = await d.decide(view(candles(40)), size_hint=Decimal(1), bars=20)
            again = await d.decide(view(candles(40)), size_hint=Decimal(1), bars=20)
            await d.client.aclose()
        assert (verdict.intents, verdict.outcome) == ([], "invalid")
        assert again.outcome == "invalid"
        assert standin.calls == 2  # an invalid answer is never cached
        assert _value(metrics, "rampart_llm_calls_total", {"outcome": "invalid"}) == 2

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "content",
    [
        {"action": "enter", "symbol": "BTC/USDT", "side": "buy", "confidence": 0.9},
        {"action": "buy", "confidence": 0.9},
        {"action": "hold", "confidence": 1.5},
        {"action": "hold", "confidence": 0.5, "extra": 1},
    ],
)
def test_schema_invalid_decisions_are_no_trade(content: dict[str, object]) -> None:
    async def scenario() -> str:
        async with LlmStandIn(reply=lambda _m: json.dumps(content)) as standin:
            d = decider(standin.url, SimClock(START))
            verdict = await d.decide(view(candles(40)), size_hint=Decimal(1), bars=20)
            await d.client.aclose()
        assert verdict.intents == []
        return verdict.outcome

    assert asyncio.run(scenario()) == "invalid"


@pytest.mark.parametrize(
    ("side", "stop", "target"),
    [("buy", "1.02", "1.05"), ("buy", "0.98", "0.99"), ("sell", "1.02", "0.97")],
)
def test_a_bracket_on_the_wrong_side_or_a_short_is_invalid(
    side: str, stop: str, target: str
) -> None:
    history = candles(40)
    close = history[-1].close_dec

    def reply(_messages: object) -> str:
        return json.dumps(
            {
                "action": "enter",
                "symbol": "BTC/USDT",
                "side": side,
                "stop_loss": str(close * Decimal(stop)),
                "take_profit": str(close * Decimal(target)),
                "confidence": 0.8,
            }
        )

    async def scenario() -> None:
        async with LlmStandIn(reply=reply) as standin:
            d = decider(standin.url, SimClock(START))
            verdict = await d.decide(view(history), size_hint=Decimal(1), bars=20)
            await d.client.aclose()
        assert (verdict.intents, verdict.outcome) == ([], "invalid")

    asyncio.run(scenario())


def test_a_slow_answer_past_the_timeout_is_no_trade() -> None:
    async def scenario() -> None:
        async with LlmStandIn(default="slow") as standin:
            d = decider(standin.url, SimClock(START), timeout_s=0.2)
            verdict = await d.decide(view(candles(40)), size_hint=Decimal(1), bars=20)
            with pytest.raises(LlmError) as caught:
                await d.client.complete([{"role": "user", "content": "x"}])
            await d.client.aclose()
        assert (verdict.intents, verdict.outcome) == ([], "timeout")
        assert caught.value.code == TIMEOUT
        assert standin.calls == 2  # a timeout is not retried: a late decision is worthless

    asyncio.run(scenario())


def test_429_is_retried_after_retry_after_on_the_clock() -> None:
    async def scenario() -> None:
        async with LlmStandIn(script=["429", "500"], retry_after="3") as standin:
            clock = SimClock(START)
            d = decider(standin.url, clock, retries=2)
            verdict = await d.decide(view(candles(40)), size_hint=Decimal(1), bars=20)
            await d.client.aclose()
        assert verdict.outcome == "ok"
        assert standin.calls == 3
        # 3 s from Retry-After, then 1 s of backoff (0.5 s × 2), slept on the simulated clock.
        assert clock.now_ms() - START == 4_000

    asyncio.run(scenario())


@pytest.mark.parametrize(("behaviour", "code"), [("429", RATE_LIMITED), ("500", SERVER)])
def test_429_and_500_after_retries_are_no_trade(behaviour: str, code: str) -> None:
    async def scenario() -> None:
        async with LlmStandIn(default=behaviour) as standin:
            d = decider(standin.url, SimClock(START), retries=2)
            verdict = await d.decide(view(candles(40)), size_hint=Decimal(1), bars=20)
            with pytest.raises(LlmError) as caught:
                await d.client.complete([{"role": "user", "content": "x"}])
            await d.client.aclose()
        assert (verdict.intents, verdict.outcome) == ([], "error")
        assert caught.value.code == code
        assert KEY not in caught.value.message
        assert standin.calls == 6  # 1 + 2 retries, twice

    asyncio.run(scenario())


def test_an_unreachable_endpoint_is_an_error_without_the_key() -> None:
    async def scenario() -> None:
        client = LlmClient(
            base_url="http://127.0.0.1:9/v1", api_key=KEY, model=MODEL, clock=SimClock(0), retries=1
        )
        with pytest.raises(LlmError) as caught:
            await client.complete([{"role": "user", "content": "x"}])
        await client.aclose()
        assert KEY not in caught.value.message
        assert KEY not in repr(caught.value)

    asyncio.run(scenario())


def test_the_budget_running_out_stops_calls_until_utc_midnight() -> None:
    async def scenario() -> None:
        async with LlmStandIn() as standin:
            clock = SimClock(START)
            metrics = Metrics()
            d = decider(standin.url, clock, daily_usd="0.5", ttl_s=0, metrics=metrics.llm)
            history = candles(60)
            outcomes = []
            for i in range(40, 60):
                verdict = await d.decide(view(history[:i]), size_hint=Decimal(1), bars=20)
                outcomes.append(verdict.outcome)
            spent_calls = standin.calls
            gauge = _value(metrics, "rampart_llm_budget_exhausted")
            clock.set((START // 86_400_000 + 1) * 86_400_000)  # the next UTC day
            tomorrow = await d.decide(view(history), size_hint=Decimal(1), bars=20)
            await d.client.aclose()
        paid = outcomes.index("budget")
        assert 0 < paid < 20
        assert outcomes[paid:] == ["budget"] * (20 - paid)
        assert spent_calls == paid  # nothing is sent once the budget is spent
        assert gauge == 1
        assert tomorrow.outcome == "ok"
        assert standin.calls == paid + 1
        assert _value(metrics, "rampart_llm_budget_exhausted") == 0

    asyncio.run(scenario())
