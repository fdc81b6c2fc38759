"""Chats handled at once, each in order: while one investor's /vibe waits on
the model, another investor's command is answered; the waiting investor's next command is
answered only after their /vibe; and a Confirm tapped twice at once acts once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from rampart.domain.events import OrderUpdated
from rampart.domain.orders import OrderRole
from rampart.llm.decider import Answer
from rampart.telegram import vibe
from tests.telegram.conftest import ALICE, BOB, TgService


class HeldModel:
    """A model that answers nothing until the test lets it (then the parser reads the text)."""

    def __init__(self) -> None:
        self.asked = 0
        self.go = asyncio.Event()

    async def ask(self, prompt: Any, agent: str, check: Any) -> Answer:
        del prompt, agent, check
        self.asked += 1
        await self.go.wait()
        return Answer(None, "error", reason="held")


def test_one_chat_waiting_on_the_model_holds_up_no_other_and_keeps_its_own_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The model's answer is awaited however long the test holds it (no wall-clock budget).
    monkeypatch.setitem(vibe.propose.__kwdefaults__, "timeout_s", 3_600.0)

    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.register([ALICE, BOB])
            model = HeldModel()
            svc.session.llm = model  # type: ignore[attr-defined]
            alice_before = len(svc.api.texts(ALICE))
            svc.api.push_text(ALICE, "/vibe long BTC, tight stop, 3% target")
            svc.api.push_text(ALICE, "/nosuchcommand")
            await svc.until(lambda: model.asked == 1)
            bob_before = len(svc.api.texts(BOB))
            svc.api.push_text(BOB, "/nosuch")
            # Answered while Alice's /vibe waits (in order, it waited behind it for ever).
            await svc.until(lambda: len(svc.api.texts(BOB)) > bob_before)
            assert len(svc.api.texts(ALICE)) == alice_before
            model.go.set()
            await svc.until(lambda: len(svc.api.texts(ALICE)) >= alice_before + 2)
            proposal, unknown = svc.api.texts(ALICE)[alice_before:]
            assert "Proposed trade" in proposal and "/nosuchcommand" in unknown
            # Confirm tapped twice in the same moment: one order, one "placed".
            data, message_id = svc.api.button(ALICE, "Confirm")
            svc.api.push_button(ALICE, data, message_id)
            svc.api.push_button(ALICE, data, message_id)
            target = len(svc.api.updates)
            await svc.until(lambda: svc.bot.processed >= target)
            entries = {
                e.order.client_id
                for e in svc.events
                if isinstance(e, OrderUpdated) and e.order.role is OrderRole.ENTRY
            }
            assert len(entries) == 1, entries
            assert sum("Order placed" in t for t in svc.api.texts(ALICE)) == 1

    asyncio.run(scenario())
