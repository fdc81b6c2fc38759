"""The LLM budget holds when many ask at once (/vibe for fifty investors in
the same moment): the calls on their way count against the day's budget, so asking together
sends no more calls than asking one after another would."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.clock import SimClock
from rampart.llm.prompt import text_prompt
from rampart.llm.standin import LlmStandIn
from tests.llm.helpers import decider
from tests.llm.test_agent import hold_reply

START = 1_700_000_000_000


def test_asking_at_once_sends_no_more_calls_than_the_budget_allows_one_by_one() -> None:
    async def scenario() -> None:
        async with LlmStandIn(reply=hold_reply) as standin:
            d = decider(standin.url, SimClock(START), daily_usd="1000")

            def ask(n: int):  # type: ignore[no-untyped-def]
                return d.ask(text_prompt(f"long BTC {n}", {}), "vibe", lambda _: None)

            await ask(0)
            cost = d.budget.spent
            assert cost > 0
            # Room for two and a half more calls: one by one, three would go (the third
            # starts with half a call's room left), and then the budget is spent.
            d.budget.daily_usd = cost + cost * Decimal("2.5")
            answers = await asyncio.gather(*(ask(n) for n in range(1, 11)))
            assert standin.calls == 1 + 3
            assert sum(a.outcome == "budget" for a in answers) == 7
            assert d.budget.spent == 4 * cost
            await d.client.aclose()

    asyncio.run(scenario())
