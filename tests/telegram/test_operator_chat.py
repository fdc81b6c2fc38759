"""An operator chat that never wrote to the bot: the service is still ready
(``/health/ready`` 200, the chat reported as a degraded component, not a failed one), and the
bot asks Telegram's ``getChat`` less and less often instead of every heartbeat forever; the
operator's first message makes it healthy at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import httpx
from fastapi import FastAPI

from rampart.api import routes_health
from tests.telegram.conftest import OPERATOR, TgService

HEARTBEAT_MS = 5_000
HALF_HOUR_MS = 30 * 60_000


def _get_chats(svc: TgService) -> int:
    return sum(1 for meth, _ in svc.api.calls if meth == "getChat") + len(
        svc.api.refusals("getChat")
    )


def test_the_service_is_ready_while_the_operator_chat_is_unreachable(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, operator_wrote=False) as svc:
            app = FastAPI()
            app.include_router(routes_health.router)
            app.state.ctx = SimpleNamespace(health=svc.health)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
                answer = await http.get("/health/ready")
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["ready"] is True
            (chat,) = [c for c in body["checks"] if c["name"] == "operator chat"]
            assert chat["ok"] is False and "/start" in chat["detail"]
            assert body["degraded"] == ["operator chat"]
            ok, checks = await svc.health.ready()
            assert ok and not {c.name: c for c in checks}["operator chat"].ok

    asyncio.run(scenario())


def test_get_chat_backs_off_and_the_operators_first_message_ends_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, operator_wrote=False) as svc:
            start = _get_chats(svc)
            # Half an hour of heartbeats, each asking the health checks.
            for _ in range(HALF_HOUR_MS // HEARTBEAT_MS):
                svc.ops.advance(HEARTBEAT_MS)
                ok, checks = await svc.health.ready()
                assert not {c.name: c for c in checks}["operator chat"].ok
            asked = _get_chats(svc) - start
            # Doubling from a heartbeat up to five minutes apart: about a dozen in half an hour,
            # not 360.
            assert 4 <= asked <= 15, asked
            # The operator writes: the chat is reachable from the next check.
            await svc.send(OPERATOR, "/start")
            ok, checks = await svc.health.ready()
            assert {c.name: c for c in checks}["operator chat"].ok

    asyncio.run(scenario())
