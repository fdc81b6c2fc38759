"""The operator's side of the bot: scoped command menus and the
operator chat checked at start, so alerts that cannot arrive are said, not silent;
a degraded component, not a reason to be unready."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from rampart.telegram.text import INVESTOR_HELP, OPERATOR_HELP
from tests.telegram.conftest import OPERATOR, TgService

INVESTOR = {c for c, _ in INVESTOR_HELP}
OPERATOR_ONLY = {c for c, _ in OPERATOR_HELP} - INVESTOR


def test_investors_menu_has_no_operator_commands_and_the_operator_has_both(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            menus = svc.api.commands
            assert set(menus) == {"default", f"chat:{OPERATOR}"}, menus
            assert set(menus["default"]) == INVESTOR
            assert not OPERATOR_ONLY & set(menus["default"])
            operator = menus[f"chat:{OPERATOR}"]
            assert set(operator) == INVESTOR | OPERATOR_ONLY
            assert len(operator) == len(set(operator))  # Telegram wants each command once
            assert {"kill", "pause_user", "portfolio"} <= set(operator)
            assert not svc.api.refusals("setMyCommands")

    asyncio.run(scenario())


def _log_events(svc: TgService) -> list[dict[str, object]]:
    return [json.loads(line) for line in svc.log_path.read_text().splitlines() if line.strip()]


def test_an_operator_chat_that_never_wrote_is_a_warning_and_a_degraded_health_check(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, operator_wrote=False) as svc:
            problem = svc.bot.operator_chat_problem or ""
            assert "chat not found" in problem.lower() and "/start" in problem, problem
            warned = [
                e for e in _log_events(svc) if e["event"] == "telegram_operator_chat_unreachable"
            ]
            assert len(warned) == 1 and warned[0]["level"] == "warning"
            assert warned[0]["chat_id"] == OPERATOR
            # No menu could be set for a chat Telegram does not know; said, not raised.
            assert f"chat:{OPERATOR}" not in svc.api.commands
            assert any(e["event"] == "telegram_operator_menu_not_set" for e in _log_events(svc))
            ok, checks = await svc.health.ready()
            chat = {c.name: c for c in checks}["operator chat"]
            # Degraded, still ready: trading does not wait for the operator's chat.
            assert ok and not chat.ok and not chat.required and "/start" in chat.detail
            degraded = (await svc.send(OPERATOR, "/health"))[0]
            assert "ready, degraded" in degraded and "⚠️ operator chat" in degraded
            # The operator sends /start: the next health check finds the chat.
            await svc.send(OPERATOR, "/start")
            ok, checks = await svc.health.ready()
            assert ok and {c.name: c for c in checks}["operator chat"].ok
            # The operator asks for the health checks in Telegram and sees it too.
            health = (await svc.send(OPERATOR, "/health"))[0]
            assert "operator chat" in health and "ready" in health

    asyncio.run(scenario())


def test_a_reachable_operator_chat_is_healthy_from_the_start(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            assert svc.bot.operator_chat_problem is None
            ok, checks = await svc.health.ready()
            assert ok and [c.name for c in checks] == ["operator chat"]
            assert not any(
                e["event"] == "telegram_operator_chat_unreachable" for e in _log_events(svc)
            )

    asyncio.run(scenario())
