"""Plan 001's "<2s /vibe response time" is a setting the bot reads: ``/vibe`` waits for the
LLM's reading ``telegram.vibe_response_s`` (2 s by default) and no longer; past it the parser
answers (tests/llm/test_vibe.py: a slow LLM gets the parser's proposal)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from rampart.config import load_settings
from rampart.telegram import vibe
from tests.telegram.conftest import ALICE, TgService


def test_the_shipped_budget_is_the_plans() -> None:
    assert load_settings(None).telegram.vibe_response_s == 2.0
    assert vibe.LLM_BUDGET_S == 2.0


def test_vibe_waits_for_the_llm_as_long_as_the_setting_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[float] = []
    propose = vibe.propose

    async def counted(*args: Any, **kw: Any) -> vibe.Proposal:
        asked.append(kw["timeout_s"])
        return await propose(*args, **kw)

    monkeypatch.setattr(vibe, "propose", counted)

    async def scenario() -> list[str]:
        async with TgService(tmp_path, telegram={"vibe_response_s": 0.75}) as svc:
            await svc.register([ALICE])
            return await svc.send(ALICE, "/vibe long ETH, tight stop, 2% target")

    answer = asyncio.run(scenario())
    assert asked == [0.75], answer
    assert "Proposed trade" in answer[0]
