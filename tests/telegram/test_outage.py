"""Replies across a Telegram outage: a reply that fails on the network is
sent again after a back-off on the Clock until it goes, in order in its chat, however long the
outage (a 60 s outage left 45 of 56 commands unanswered until the next restart); a refusal is
never retried, and a notice that asked to hear failures hears them (its outbox retries)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from telegram.error import BadRequest, NetworkError, TimedOut

from rampart.clock import SimClock
from rampart.telegram.pacer import RETRY_CAP_S, Pacer
from tests.telegram.conftest import ALICE, BOB, TgService

START = 1_000_000
OUTAGE_MS = 15 * 60_000
"""A quarter of an hour of Telegram answering 502 (simulated time: costs no wall time)."""


class Flaky:
    """A sendMessage that fails ``failures`` times (``error`` each), then succeeds."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.sent: list[tuple[int, str]] = []
        self.tries: list[int] = []
        self.fail: dict[str, list[Exception]] = {}

    def call(self, text: str):  # type: ignore[no-untyped-def]
        async def post() -> dict[str, Any]:
            self.tries.append(self.clock.now_ms())
            errors = self.fail.get(text)
            if errors:
                raise errors.pop(0)
            self.sent.append((self.clock.now_ms(), text))
            return {"text": text}

        return post


async def _send(pacer: Pacer, api: Flaky, text: str, **limits: Any) -> Any:
    return await pacer.process_request(
        api.call(text), (), {}, "sendMessage", {"chat_id": 5}, limits or None
    )


def test_a_network_failure_is_retried_with_backoff_in_order_and_a_refusal_is_not() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        api, pacer = Flaky(clock), Pacer(clock)
        api.fail["first"] = [NetworkError("Bad Gateway (502)") for _ in range(8)] + [TimedOut()]
        first = asyncio.create_task(_send(pacer, api, "first"))
        second = asyncio.create_task(_send(pacer, api, "second"))
        await asyncio.wait_for(asyncio.gather(first, second), 5)
        assert [t for _, t in api.sent] == ["first", "second"]  # never overtaken
        gaps = [b - a for a, b in zip(api.tries, api.tries[1:9], strict=False)]
        # 1 s doubling, then capped: never a tight loop, never a wait past the cap.
        assert gaps[:5] == [1_000, 2_000, 4_000, 8_000, 16_000]
        assert max(gaps) == RETRY_CAP_S * 1000
        assert pacer.stats.network_retries == 9
        api.fail["bad"] = [BadRequest("Can't parse entities")]
        with pytest.raises(BadRequest):
            await asyncio.wait_for(_send(pacer, api, "bad"), 5)
        api.fail["notice"] = [NetworkError("Bad Gateway (502)")]
        with pytest.raises(NetworkError):  # the outbox keeps it and tries again itself
            await asyncio.wait_for(_send(pacer, api, "notice", flood="raise", lane="money"), 5)
        await pacer.shutdown()

    asyncio.run(scenario())


def test_commands_asked_during_an_outage_are_all_answered_in_order_after_it(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        svc = TgService(tmp_path)
        down = {"on": False}
        failed: list[int] = []
        handle = svc.api._handle

        async def outage(request: web.Request) -> web.Response:
            if down["on"] and request.match_info["method"].lower() == "sendmessage":
                failed.append(1)
                return web.json_response({"ok": False, "description": "Bad Gateway"}, status=502)
            return await handle(request)

        svc.api._handle = outage  # type: ignore[method-assign]
        async with svc:
            await svc.onboard(ALICE)
            await svc.onboard(BOB)
            pace = svc.pace
            began = pace.now_ms()  # the outage lasts OUTAGE_MS on the clock the bot paces on
            down["on"] = True
            asked = {ALICE: ["/foo1", "/foo2", "/foo3", "/foo4"], BOB: ["/bar1", "/bar2"]}
            before = {uid: len(svc.api.texts(uid)) for uid in asked}
            for n in range(4):
                for uid, commands in asked.items():
                    if n < len(commands):
                        svc.api.push_text(uid, commands[n])
            await svc.until(lambda: len(failed) >= 6)  # each command's reply failed once
            assert isinstance(pace, SimClock)
            pace.set(max(pace.now_ms(), began + OUTAGE_MS))
            assert all(len(svc.api.texts(uid)) == before[uid] for uid in asked)
            down["on"] = False
            target = len(svc.api.updates)
            await svc.until(lambda: svc.bot.processed >= target)
            for uid, commands in asked.items():
                answers = svc.api.texts(uid)[before[uid] :]
                assert [c for a in answers for c in commands if c in a] == commands, answers

    asyncio.run(scenario())
