"""Operator commands for the rollout (/rollout, /hold, /rollback, /gonogo) and the model
registry (/models, /model_rollback): answers in words, investors refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rampart.rollout.state import load_state
from tests.telegram.conftest import ALICE, OPERATOR, TgService


def test_rollout_commands_with_rollout_off(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            off = await svc.send(OPERATOR, "/rollout")
            assert off == ["<b>Rollout</b> is off: every account trades on the open stage."]
            verdict = "\n".join(await svc.send(OPERATOR, "/gonogo"))
            # A fresh service has no backup drill, no alert test and no kill drill on record.
            assert "<b>GO/NO-GO</b>" in verdict and "NO-GO" in verdict.splitlines()[-1]
            assert "❌" in verdict
            refused = await svc.send(ALICE, "/gonogo")
            assert "for operators only" in refused[0]

    asyncio.run(scenario())


def test_hold_and_rollback_from_telegram(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, extra={"rollout": {"enabled": True}}) as svc:
            status = "\n".join(await svc.send(OPERATOR, "/rollout"))
            assert "stage <b>internal</b>" in status
            assert "Ramp: step 1 (BTC/USDT; 100 in all)" in status
            assert (
                "Next: step 2 (T+8 h): BTC/USDT, ETH/USDT, SOL/USDT; 300 in all is due in" in status
            )
            assert await svc.send(OPERATOR, "/hold") == [
                "Say why: /hold REASON, or /hold release REASON to lift it."
            ]
            held = await svc.send(OPERATOR, "/hold waiting for the exchange's maintenance")
            assert held == ["Hold on internal placed; no promotion until released."]
            state = load_state(svc.session.db)
            assert state is not None and state.held
            lifted = await svc.send(OPERATOR, "/hold release maintenance done")
            assert "lifted" in lifted[0]
            state = load_state(svc.session.db)
            assert state is not None and not state.held
            # internal is the first stage: there is nothing to step back to.
            first = await svc.send(OPERATOR, "/rollback errors")
            assert "internal" in first[0] and "Rolled back" not in first[0]
            assert "for operators only" in (await svc.send(ALICE, "/hold mine"))[0]
            state = load_state(svc.session.db)
            assert state is not None and state.stage == "internal"

    asyncio.run(scenario())


def test_models_commands_without_models(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            none = await svc.send(OPERATOR, "/models")
            assert none == [
                "No models yet. Train one with <code>rampart models train --data FILE</code>."
            ]
            nothing = await svc.send(OPERATOR, "/model_rollback bad model")
            assert nothing == ["No model is in production, so there is nothing to roll back."]
            assert "for operators only" in (await svc.send(ALICE, "/models"))[0]

    asyncio.run(scenario())
