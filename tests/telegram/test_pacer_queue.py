"""The pacer's queue of one chat and what a caller hears while the chat is held, on a clock
the test moves (rampart.telegram.pacer): money before replies before reports, each lane in
arrival order; a caller asking to hear floods is told the seconds left of the hold, rounded up
and at least one; the request's arguments reach Telegram's call unchanged."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram.error import RetryAfter

from rampart.telegram.bot_api import retry_after_s
from rampart.telegram.pacer import Pacer
from tests.telegram.conftest import DrivenClock
from tests.telegram.test_pacer import START, _settle


def test_a_chats_queue_goes_by_lane_then_by_arrival() -> None:
    async def scenario() -> None:
        clock = DrivenClock(START)
        pacer, sent = Pacer(clock), []

        def ask(text: str, lane: str) -> asyncio.Task[Any]:
            async def post() -> bool:
                sent.append(text)
                return True

            limits = {"lane": lane}
            call = pacer.process_request(post, (), {}, "sendMessage", {"chat_id": 7}, limits)
            return asyncio.create_task(call)

        jobs = [ask("r1", "reply")]
        await _settle()  # r1 went; the rest wait for chat 7's next second
        for text, lane in [("r2", "reply"), ("p1", "report"), ("r3", "reply"), ("m1", "money")]:
            jobs.append(ask(text, lane))
            await _settle()
        jobs += [ask("m2", "money"), ask("p2", "report"), ask("r4", "reply")]
        await _settle()
        for second in range(1, 9):
            clock.set(START + second * 1_000)
            await _settle()
        await asyncio.gather(*jobs)
        assert sent == ["r1", "m1", "m2", "r2", "r3", "r4", "p1", "p2"]
        await pacer.shutdown()

    asyncio.run(scenario())


def test_while_a_chat_is_held_a_caller_asking_to_hear_is_told_the_seconds_left() -> None:
    async def scenario() -> None:
        clock = DrivenClock(START)
        pacer = Pacer(clock)

        async def flooded() -> bool:
            raise RetryAfter(3)

        async def ask() -> Any:
            limits = {"flood": "raise"}
            return await pacer.process_request(
                flooded, (), {}, "sendMessage", {"chat_id": 7}, limits
            )

        waits = []
        for at in (0, 998, 2_000, 2_001, 2_999):
            clock.set(START + at)
            with pytest.raises(RetryAfter) as told:
                await ask()
            waits.append(retry_after_s(told.value))
        # The first from Telegram; then, without a request, what is left of its three seconds.
        assert waits == [3.0, 3.0, 1.0, 1.0, 1.0]
        clock.set(START + 3_000)  # the hold is over: the request goes (and is refused again)
        with pytest.raises(RetryAfter):
            await ask()
        assert pacer.stats.floods == 2
        await pacer.shutdown()

    asyncio.run(scenario())


def test_the_requests_arguments_reach_telegrams_call_unchanged() -> None:
    async def scenario() -> None:
        clock = DrivenClock(START)
        pacer, seen = Pacer(clock), []

        async def call(*args: Any, **kwargs: Any) -> bool:
            seen.append((args, kwargs))
            return True

        for endpoint in ("getMe", "sendMessage"):
            await pacer.process_request(
                call, ("a",), {"text": endpoint}, endpoint, {"chat_id": 7}, None
            )
        assert seen == [(("a",), {"text": "getMe"}), (("a",), {"text": "sendMessage"})]
        await pacer.shutdown()

    asyncio.run(scenario())
