"""The bot's one limiter on its own (rampart.telegram.pacer), on a SimClock that moves when the
limiter sleeps: FIFO per chat, one message a second per chat, thirty a second overall, twenty a
minute per group, a 429 held and sent again (or raised, when asked), a caller that gave up
skipped, and what is queued at a stop failed rather than left hanging."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from telegram.error import NetworkError, RetryAfter

from rampart.clock import FeedClock, SimClock
from rampart.telegram.pacer import Pacer
from tests.telegram.conftest import DrivenClock

START = 1_000_000


class Api:
    """Records when each message was sent (on the clock); floods chats on request."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.sent: list[tuple[int, Any, str]] = []
        self.flood: dict[Any, list[int]] = {}

    def call(self, chat: Any, text: str):  # type: ignore[no-untyped-def]
        async def post() -> dict[str, Any]:
            waits = self.flood.get(chat)
            if waits:
                raise RetryAfter(waits.pop(0))
            self.sent.append((self.clock.now_ms(), chat, text))
            return {"chat": chat, "text": text}

        return post


async def _send(pacer: Pacer, api: Api, chat: Any, text: str, **limits: Any) -> Any:
    return await pacer.process_request(
        api.call(chat, text), (), {}, "sendMessage", {"chat_id": chat}, limits or None
    )


def test_each_limit_is_kept_and_every_message_is_sent_in_order() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        api, pacer = Api(clock), Pacer(clock)
        await pacer.initialize()
        jobs = [_send(pacer, api, chat, f"{chat}-{n}") for n in range(3) for chat in range(40)]
        jobs += [_send(pacer, api, -100, f"group-{n}") for n in range(25)]
        results = await asyncio.gather(*jobs)
        assert len(results) == len(api.sent) == 3 * 40 + 25
        for chat in [*range(40), -100]:
            mine = [(ts, int(text.split("-")[-1])) for ts, c, text in api.sent if c == chat]
            # In the order asked, one a second at most.
            assert [n for _, n in mine] == list(range(len(mine)))
            assert all(b[0] - a[0] >= 1_000 for a, b in itertools.pairwise(mine))
        stamps = [ts for ts, _, _ in api.sent]
        assert max(sum(1 for t in stamps if s <= t < s + 1_000) for s in stamps) <= 30
        group = [ts for ts, c, _ in api.sent if c == -100]
        assert max(sum(1 for t in group if s <= t < s + 60_000) for s in group) <= 20
        assert group[20] - group[0] >= 60_000
        assert pacer.stats.sent == len(api.sent) and pacer.queued() == 0
        await pacer.shutdown()

    asyncio.run(scenario())


def test_a_429_holds_the_chat_and_the_message_goes_again_unless_asked_to_raise() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        api, pacer = Api(clock), Pacer(clock)
        api.flood[7] = [5]
        first, other = await asyncio.gather(_send(pacer, api, 7, "a"), _send(pacer, api, 8, "b"))
        assert first["text"] == "a" and other["text"] == "b"
        when = {text: ts for ts, _, text in api.sent}
        # Chat 8's message went out in the same round as chat 7's refused one.
        assert when["a"] >= START + 5_000 and when["b"] == START
        assert pacer.stats.floods == 1
        # Asked to raise (the outbox): the 429, and a held chat refused without a request.
        api.flood[9] = [30]
        with pytest.raises(RetryAfter):
            await _send(pacer, api, 9, "c", flood="raise")
        with pytest.raises(RetryAfter):
            await _send(pacer, api, 9, "d", flood="raise")
        assert [t for _, c, t in api.sent if c == 9] == []
        await pacer.shutdown()

    asyncio.run(scenario())


def test_on_a_simulated_feed_the_pacer_counts_real_seconds_not_the_stopped_feeds() -> None:
    """Given a simulated feed's FeedClock (a server's ops clock in tests), the pacer counts the
    feed's pace: two alerts for the operator chat in one moment of business time both go out
    after the feed stopped. Counting the feed's own time, the second waited for the feed's next
    second, which never came (the page "No worker is running" was held behind another)."""

    async def scenario() -> None:
        market = SimClock(START)  # the feed stopped: nothing moves its time
        pace = SimClock(0)  # the wall, as a SimClock: moves when slept on
        api, pacer = Api(pace), Pacer(FeedClock(market, pace))
        async with asyncio.timeout(10):
            await asyncio.gather(_send(pacer, api, 5, "first"), _send(pacer, api, 5, "second"))
        assert [(ts, text) for ts, _, text in api.sent] == [(0, "first"), (1_000, "second")]
        assert market.now_ms() == START
        await pacer.shutdown()

    asyncio.run(scenario())


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_a_caller_that_gave_up_is_skipped_and_a_stop_fails_what_is_queued() -> None:
    async def scenario() -> None:
        clock = DrivenClock(START)  # moves only when the test moves it
        api, pacer = Api(clock), Pacer(clock)
        api.flood[1] = [3600]
        held = asyncio.create_task(_send(pacer, api, 1, "held"))
        gone = asyncio.create_task(_send(pacer, api, 1, "gone"))
        later = asyncio.create_task(_send(pacer, api, 1, "later"))
        await _settle()
        gone.cancel()  # its caller gave up while it waited behind the hold
        other = asyncio.create_task(_send(pacer, api, 3, "ok"))
        await _settle()
        assert not other.done()  # a 429 pauses every chat, not only the one refused
        clock.set(START + 3_600_000)
        assert (await asyncio.wait_for(held, 5))["text"] == "held"
        assert (await asyncio.wait_for(other, 5))["text"] == "ok"
        stuck = asyncio.create_task(_send(pacer, api, 1, "at the stop"))
        clock.set(START + 3_601_000)  # chat 1's next second
        await asyncio.wait_for(later, 5)
        assert [t for _, _, t in api.sent] == ["held", "ok", "later"]
        await _settle()
        await pacer.shutdown()  # "at the stop" waits for chat 1's next second
        with pytest.raises(NetworkError):
            await stuck
        with pytest.raises(NetworkError):
            await _send(pacer, api, 4, "after the stop")

    asyncio.run(scenario())
