"""Nothing untrue under a flood: investors press Confirm on ``/demo`` while
others send six commands each, the stand-in keeping Telegram's limits with edits counted. Every
confirmer is told the order was placed — never "nothing was changed" — and the proposal loses
its buttons; every command is answered. (Before, the edit went around the pacer, got 429 and
the bot apologised to 19 of 35.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rampart.telegram import portfolio_view
from rampart.telegram.bot import SORRY, SORRY_AFTER
from tests.telegram.conftest import TgService
from tests.telegram.flood_demo import demo_ready, flood_and_confirm

FLOODERS = list(range(20_000, 20_012))
CONFIRMERS = list(range(21_000, 21_008))


def test_confirm_under_a_flood_tells_the_outcome_and_removes_the_buttons(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.register(FLOODERS)
            confirm = await demo_ready(svc, CONFIRMERS)
            out = await flood_and_confirm(svc, FLOODERS, confirm)
            assert out.sorry == 0, out
            assert out.placed == out.confirmed == len(CONFIRMERS), out
            assert out.buttons_left == 0, out
            assert out.answered >= out.asked, out
            assert svc.api.refusals() == []

    asyncio.run(scenario())


def test_a_demo_is_held_before_its_agent_can_trade_and_no_apology_denies_a_placed_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hold is in place the moment the account exists in the engine (a candle processed
    between the start and the hold let 2 of 200 demo agents trade). And a failure after the
    order was placed (here: the portfolio that follows) never says "nothing was changed"."""

    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            held_at_start: list[bool] = []
            start = svc.operator.add_account

            async def add_account(spec):  # type: ignore[no-untyped-def]
                await start(spec)
                holds = svc.session.engine.holds.to_dict().get(spec.account_id, {})
                held_at_start.append(bool(holds))

            svc.operator.add_account = add_account  # type: ignore[method-assign]
            uid = 21_500
            await demo_ready(svc, [uid])
            assert held_at_start == [True]

            async def broken(*args: object) -> str:
                raise RuntimeError("the portfolio could not be read")

            monkeypatch.setattr(portfolio_view, "portfolio_text", broken)
            told = await svc.press(uid, "Confirm")
            assert any("Order placed" in t for t in told), told
            assert SORRY_AFTER in told and SORRY not in told, told

    asyncio.run(scenario())
