"""The one pacer for everything: after a 429 nothing goes to any chat until
``retry_after`` has passed; edits count toward a chat's one message a second; deletions and
button answers go through it; money notices and outcomes go before queued replies, replies
before reports."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.error import RetryAfter

from rampart.clock import SimClock
from rampart.telegram.pacer import Pacer
from tests.telegram.test_pacer import START

Sent = list[tuple[int, str, Any]]


def _call(clock: SimClock, sent: Sent, endpoint: str, chat: Any, flood: list[int]):  # type: ignore[no-untyped-def]
    async def post() -> dict[str, Any]:
        if flood:
            raise RetryAfter(flood.pop(0))
        sent.append((clock.now_ms(), endpoint, chat))
        return {"ok": True}

    return post


async def _ask(
    pacer: Pacer,
    clock: SimClock,
    sent: Sent,
    endpoint: str,
    chat: Any,
    *,
    flood: list[int] | None = None,
    lane: str | None = None,
) -> Any:
    data = {"chat_id": chat} if chat is not None else {"callback_query_id": "q"}
    limits = {"lane": lane} if lane else None
    return await pacer.process_request(
        _call(clock, sent, endpoint, chat, flood or []), (), {}, endpoint, data, limits
    )


def test_after_a_429_nothing_goes_to_any_chat_until_retry_after() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        sent: Sent = []
        pacer = Pacer(clock)
        first = asyncio.create_task(_ask(pacer, clock, sent, "sendMessage", 1, flood=[3]))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        others = [_ask(pacer, clock, sent, "sendMessage", c) for c in range(2, 60)]
        await asyncio.gather(first, *others)
        after = [ts for ts, _, chat in sent if chat != 1]
        # Every other chat waited out the 3 s Telegram asked for.
        assert min(after) >= START + 3_000, min(after) - START
        await pacer.shutdown()

    asyncio.run(scenario())


def test_edits_count_toward_the_chat_and_deletions_and_answers_are_paced() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        sent: Sent = []
        pacer = Pacer(clock)
        await asyncio.gather(
            _ask(pacer, clock, sent, "sendMessage", 5),
            _ask(pacer, clock, sent, "editMessageText", 5),
            _ask(pacer, clock, sent, "deleteMessage", 5),
            _ask(pacer, clock, sent, "answerCallbackQuery", None),
        )
        when = {endpoint: ts for ts, endpoint, _ in sent}
        assert abs(when["editMessageText"] - when["sendMessage"]) >= 1_000
        assert when["deleteMessage"] == when["answerCallbackQuery"] == START  # not counted
        assert pacer.stats.sent == 4  # all four went through the pacer
        await pacer.shutdown()

    asyncio.run(scenario())


def test_money_goes_before_replies_and_replies_before_reports() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        sent: Sent = []
        pacer = Pacer(clock)
        jobs = [_ask(pacer, clock, sent, "sendMessage", 7, lane="reply") for _ in range(5)]
        jobs.append(_ask(pacer, clock, sent, "sendDocument", 7))
        jobs.append(_ask(pacer, clock, sent, "sendMessage", 7, lane="money"))
        tasks = [asyncio.create_task(j) for j in jobs]
        await asyncio.gather(*tasks)
        # Queued last, the notice goes first; the chart waits behind the five replies.
        assert pacer.stats.lane_waits_ms["money"][0] == 0
        assert sorted(pacer.stats.lane_waits_ms["reply"]) == [1_000, 2_000, 3_000, 4_000, 5_000]
        assert [endpoint for _, endpoint, _ in sent][-1] == "sendDocument"
        await pacer.shutdown()

    asyncio.run(scenario())
