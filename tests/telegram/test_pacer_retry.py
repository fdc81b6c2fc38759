"""The pacer after a failed send (rampart.telegram.pacer), on a SimClock that moves when the
pacer sleeps — no wall time. A failure on the way (NetworkError, a timeout) keeps the request
at the head of its chat and holds that chat only, for 1 s doubling to 30 s, counted per chat
and forgotten once a send there succeeds or is refused; the request goes again until it is
answered and its caller never hears the failure. A refusal (400, 403), any other error, a
failure asked to be raised, or one during a stop, is heard by the caller at once, tried once.

These are the fast checks of what tests/telegram/test_restart_flood.py exercises at length,
which is why mutation's ``inbox`` area leaves that file out (docs/mutation.md)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
import structlog
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from rampart.clock import SimClock
from rampart.telegram.bot_api import MONEY, REPLY, REPORT, kind_of, retried, retry_after_s
from rampart.telegram.pacer import Pacer
from tests.telegram.conftest import DrivenClock
from tests.telegram.test_pacer import START, _settle

Tries = list[tuple[int, Any, str]]


class Flaky:
    """Fails each chat's sends with the errors queued for it, then answers; records each try."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.tries: Tries = []
        self.errors: dict[Any, list[Exception]] = {}

    def call(self, chat: Any, text: str):  # type: ignore[no-untyped-def]
        async def post() -> dict[str, Any]:
            self.tries.append((self.clock.now_ms() - START, chat, text))
            errors = self.errors.get(chat)
            if errors:
                raise errors.pop(0)
            return {"chat": chat, "text": text}

        return post

    def times(self, text: str) -> list[int]:
        return [at for at, _, t in self.tries if t == text]


async def _send(
    pacer: Pacer, api: Flaky, chat: Any, text: str, endpoint: str = "sendMessage", **limits: Any
) -> Any:
    return await pacer.process_request(
        api.call(chat, text), (), {}, endpoint, {"chat_id": chat}, limits or None
    )


def _run(scenario: Any) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(10):  # a hang is a failure, not a stuck suite
            await scenario()

    asyncio.run(bounded())


def test_a_network_failure_is_tried_again_after_one_second_doubling_to_thirty() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        api, pacer = Flaky(clock), Pacer(clock)
        api.errors[7] = [NetworkError("down")] * 5 + [TimedOut()] * 2
        answer = await _send(pacer, api, 7, "reply")
        # Tries at 0, then after 1, 2, 4, 8, 16 s, then 30 s twice (32 s and 64 s capped).
        assert api.times("reply") == [0, 1_000, 3_000, 7_000, 15_000, 31_000, 61_000, 91_000]
        assert answer == {"chat": 7, "text": "reply"}  # the caller hears only the answer
        assert pacer.stats.network_retries == 7 and pacer.stats.sent == 1
        assert list(pacer.stats.waits_ms) == [91_000]  # from joining the queue to the answer
        assert pacer.queued() == 0 and pacer.next_due_ms() is None
        await pacer.shutdown()

    _run(scenario)


def test_only_the_failing_chat_is_held_and_its_later_replies_wait_behind_in_order() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        api, pacer = Flaky(clock), Pacer(clock)
        api.errors[7] = [NetworkError("down")] * 3
        await asyncio.gather(
            _send(pacer, api, 7, "first"),
            _send(pacer, api, 7, "second"),
            _send(pacer, api, 8, "other"),
            _send(pacer, api, 8, "other again"),
        )
        # Chat 8 goes on at its own pace while chat 7 backs off (1 s, 2 s, 4 s).
        assert api.times("other") == [0] and api.times("other again") == [1_000]
        assert api.times("first") == [0, 1_000, 3_000, 7_000]
        # The held reply stays first in its chat; the next follows one second after its answer.
        assert api.times("second") == [8_000]
        assert [t for _, c, t in api.tries if c == 7][-2:] == ["first", "second"]
        await pacer.shutdown()

    _run(scenario)


def test_the_back_off_starts_again_at_one_second_after_a_send_succeeds_or_is_refused() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        api, pacer = Flaky(clock), Pacer(clock)
        api.errors[7] = [NetworkError("down")] * 2
        await _send(pacer, api, 7, "a")  # tries at 0, 1 s, 3 s: answered
        api.errors[7] = [NetworkError("down")]
        await _send(pacer, api, 7, "b")
        assert api.times("a") == [0, 1_000, 3_000]
        assert api.times("b") == [4_000, 5_000]  # one second again, not four
        api.errors[7] = [NetworkError("down")] * 2 + [BadRequest("Chat not found")]
        with pytest.raises(BadRequest):
            await _send(pacer, api, 7, "c")
        api.errors[7] = [NetworkError("down")]
        await _send(pacer, api, 7, "d")
        start = api.times("c")[-1]
        assert api.times("c") == [6_000, 7_000, 9_000]
        assert api.times("d") == [start, start + 1_000]  # the refusal cleared the count
        assert pacer.stats.network_retries == 2 + 1 + 2 + 1
        await pacer.shutdown()

    _run(scenario)


@pytest.mark.parametrize(
    "error",
    [BadRequest("Message is too long"), Forbidden("bot was blocked"), ValueError("a bug")],
    ids=["refused", "forbidden", "not telegram's"],
)
def test_a_refusal_or_any_other_error_is_heard_at_once_and_never_tried_again(
    error: Exception,
) -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        api, pacer = Flaky(clock), Pacer(clock)
        api.errors[7] = [error]
        with pytest.raises(type(error)):
            await _send(pacer, api, 7, "refused")
        assert await _send(pacer, api, 7, "next") == {"chat": 7, "text": "next"}
        assert api.times("refused") == [0] and api.times("next") == [0]  # nothing held
        assert pacer.stats.network_retries == 0
        await pacer.shutdown()

    _run(scenario)


def test_a_caller_that_asked_to_hear_a_flood_hears_a_network_failure_too() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        api, pacer = Flaky(clock), Pacer(clock)
        down = NetworkError("down")
        api.errors[7] = [down]
        with pytest.raises(NetworkError) as heard:
            await _send(pacer, api, 7, "notice", flood="raise")
        assert heard.value is down and api.times("notice") == [0]
        assert pacer.stats.network_retries == 0
        await pacer.shutdown()

    _run(scenario)


def test_a_failure_during_a_stop_is_heard_as_it_was_not_held_for_a_retry() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        pacer = Pacer(clock)
        release = asyncio.Event()
        down = NetworkError("down on the way")

        async def post() -> dict[str, Any]:
            await release.wait()
            raise down

        sending = asyncio.create_task(
            pacer.process_request(post, (), {}, "sendMessage", {"chat_id": 7}, None)
        )
        await _settle()
        stopping = asyncio.create_task(pacer.shutdown())
        await asyncio.sleep(0)
        release.set()  # the answer comes back failed once the stop has begun
        await stopping
        with pytest.raises(NetworkError) as heard:
            await sending
        assert heard.value is down and pacer.stats.network_retries == 0

    _run(scenario)


def test_a_money_request_queued_during_the_back_off_goes_first_when_it_ends() -> None:
    async def scenario() -> None:
        clock = DrivenClock(START)  # moves only when the test moves it
        api, pacer = Flaky(clock), Pacer(clock)
        api.errors[7] = [NetworkError("down")]
        reply = asyncio.create_task(_send(pacer, api, 7, "reply"))
        await _settle()
        assert api.times("reply") == [0]  # failed, held for one second
        assert pacer.next_due_ms() == START + 1_000
        edit = asyncio.create_task(_send(pacer, api, 7, "outcome", "editMessageText"))
        await _settle()
        for second in (1, 2):
            clock.set(START + second * 1_000)
            await _settle()
            if second == 1:
                assert pacer.next_due_ms() == START + 2_000  # the edit's one-second gap
        await asyncio.gather(reply, edit)
        # Held, the reply is no longer on its way: lane order puts the order's outcome first.
        assert api.times("outcome") == [1_000] and api.times("reply") == [0, 2_000]
        await pacer.shutdown()

    _run(scenario)


def test_an_uncounted_request_is_retried_on_its_own_without_holding_the_chat() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        api, pacer = Flaky(clock), Pacer(clock)
        api.errors[7] = [NetworkError("down")]
        deleted, sent = await asyncio.gather(
            _send(pacer, api, 7, "delete", "deleteMessage"), _send(pacer, api, 7, "text")
        )
        assert deleted == {"chat": 7, "text": "delete"} and sent == {"chat": 7, "text": "text"}
        assert api.times("delete") == [0, 1_000] and api.times("text") == [0]
        await pacer.shutdown()

    _run(scenario)


def test_which_failures_are_retried() -> None:
    assert retried(NetworkError("no connection")) and retried(TimedOut())
    assert not retried(BadRequest("Chat not found"))
    assert not retried(Forbidden("bot was blocked by the user"))
    assert not retried(RuntimeError("a bug"))


def test_a_pacer_started_again_after_a_stop_sends_again() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        api, pacer = Flaky(clock), Pacer(clock)
        await _send(pacer, api, 7, "before")
        await pacer.shutdown()
        with pytest.raises(NetworkError):
            await _send(pacer, api, 7, "while stopped")
        await pacer.initialize()  # what a restart of the bot does
        assert await _send(pacer, api, 7, "after") == {"chat": 7, "text": "after"}
        assert [t for _, _, t in api.tries] == ["before", "after"]
        await pacer.shutdown()

    _run(scenario)


def test_each_retry_is_logged_with_its_chat_its_wait_and_the_error() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        api, pacer = Flaky(clock), Pacer(clock)
        api.errors[7] = [NetworkError("down"), TimedOut()]
        api.errors[8] = [NetworkError("down")]
        before = structlog.get_config()["wrapper_class"]
        # The suite's conftest filters below ERROR; this test reads an info line.
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
        try:
            with structlog.testing.capture_logs() as logs:
                await asyncio.gather(
                    _send(pacer, api, 7, "reply"), _send(pacer, api, 8, "gone", "deleteMessage")
                )
        finally:
            structlog.configure(wrapper_class=before)
        lines = [e for e in logs if e["event"] == "telegram_send_retried"]
        # An uncounted request's queue is no chat: the log names none rather than its key.
        assert [(e["chat_id"], e["retry_in_s"], e["error"]) for e in lines] == [
            (None, 1.0, "NetworkError"),
            (7, 1.0, "NetworkError"),
            (7, 2.0, "TimedOut"),
        ]
        assert {e["log_level"] for e in lines} == {"info"}
        await pacer.shutdown()

    _run(scenario)


def test_a_429s_wait_is_read_in_seconds_whether_an_int_or_a_timedelta(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert retry_after_s(RetryAfter(3)) == 3.0
    # python-telegram-bot's next major version (opted into early here) gives a timedelta.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    assert retry_after_s(RetryAfter(timedelta(seconds=2.5))) == 2.5


def test_which_requests_are_paced_counted_and_in_which_lane() -> None:
    # (paced, counted, default lane); a chat action and the bot's own reads go straight on.
    assert kind_of("sendMessage") == (True, True, REPLY)
    for files in ("sendPhoto", "sendDocument", "sendMediaGroup"):
        assert kind_of(files) == (True, True, REPORT)
    assert kind_of("editMessageText") == (True, True, MONEY)
    for uncounted in ("deleteMessage", "deleteMessages", "answerCallbackQuery"):
        assert kind_of(uncounted) == (True, False, MONEY)
    for straight in ("sendChatAction", "getUpdates", "getMe", "setMyCommands"):
        assert kind_of(straight) is None
