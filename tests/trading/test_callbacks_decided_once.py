"""Which callbacks an agent overrides is asked once, when its account is added: an agent that
overrides none costs its orders no question about them, and one that does is still asked."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from rampart.agents.base import AgentView
from rampart.domain.intents import Intent
from rampart.trading import callbacks

from .helpers import ScriptedAgent, build, candle, feed, long_intent
from .test_agent_callbacks import Looking


def _asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every callback name ``callbacks.overrides`` is asked about, in order."""
    asked: list[str] = []
    real: Callable[[object, str], bool] = callbacks.overrides

    def overrides(agent: object, name: str) -> bool:
        asked.append(name)
        return real(agent, name)

    monkeypatch.setattr(callbacks, "overrides", overrides)
    return asked


def _every_other_candle(i: int, view: AgentView) -> list[Intent]:
    """A long on even candles (the position open already refuses most): a decision with an
    intent on every other candle."""
    return [long_intent(view, "0.98", "1.04")] if i % 2 == 0 else []


def test_an_agent_overriding_no_callback_is_asked_about_them_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _asked(monkeypatch)
    agent = ScriptedAgent(_every_other_candle)

    async def run() -> int:
        engine, _venue, clock, _bus = await build(agent)
        at_load = len(asked)
        await feed(engine, clock, [candle(i, 100, 101, 99.5, 100) for i in range(20)])
        assert engine.accounts["a1"].ledger.positions  # intents were decided and one filled
        return at_load

    at_load = asyncio.run(run())
    assert sorted(asked[:at_load]) == sorted([*callbacks._LOOKS, "on_fill"])
    assert asked[at_load:] == ["on_start"]  # once, before the first decision


def test_an_agent_overriding_them_is_still_asked() -> None:
    agent = Looking()
    agent.entry = False

    async def run() -> None:
        engine, _venue, clock, _bus = await build(agent, agent_name="scripted")
        (sub,) = engine._subs["BTC/USDT"]
        assert sub.looks and sub.hears_fills
        await feed(engine, clock, [candle(0, 100, 101, 99.5, 100)])
        (refused,) = engine.accounts["a1"].rejections
        assert refused.code == "agent_veto"

    asyncio.run(run())
