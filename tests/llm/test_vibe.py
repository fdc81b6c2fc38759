"""/vibe asks the LLM first and falls back to the deterministic parser."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from rampart.clock import SimClock
from rampart.llm.standin import LlmStandIn
from rampart.risk.profiles import get_profile
from rampart.telegram import vibe

from .helpers import decider

MARKS = {"BTC/USDT": Decimal("30000"), "ETH/USDT": Decimal("2000")}
TICKS = {"BTC/USDT": Decimal("0.01"), "ETH/USDT": Decimal("0.01")}
TEXT = "buy some ether, tight stop, 2% target"


def _eth_long(_messages: object) -> str:
    return json.dumps(
        {
            "action": "enter",
            "symbol": "ETH/USDT",
            "side": "buy",
            "stop_loss": 1975.123,
            "take_profit": 2050.001,
            "confidence": 0.6,
            "rationale": "asked for",
        }
    )


async def _propose(behaviour: str, timeout_s: float = 2.0) -> tuple[vibe.Proposal, int]:
    async with LlmStandIn(default=behaviour, reply=_eth_long) as standin:
        d = decider(standin.url, SimClock(0), timeout_s=5)
        proposal = await vibe.propose(
            TEXT, MARKS, MARKS, get_profile("moderate"), TICKS, llm=d, timeout_s=timeout_s
        )
        await d.client.aclose()
        return proposal, standin.calls


def test_the_llm_reading_is_used_when_valid() -> None:
    proposal, calls = asyncio.run(_propose("valid"))
    assert calls == 1
    assert proposal.symbol == "ETH/USDT"
    assert (proposal.stop_loss, proposal.take_profit) == (Decimal("1975.12"), Decimal("2050.01"))


@pytest.mark.parametrize("behaviour", ["invalid_json", "500", "slow"])
def test_the_parser_answers_when_the_llm_fails(behaviour: str) -> None:
    proposal, calls = asyncio.run(_propose(behaviour, timeout_s=0.3))
    parsed = vibe.parse(TEXT, MARKS, MARKS, get_profile("moderate"), TICKS)
    assert proposal == parsed
    assert calls >= 1
