"""Edges of the pacer's waits (rampart.telegram.pacer), on simulated clocks, no wall sleep:
a wait of one millisecond is slept, not skipped (skipped, the dispatcher spun on a clock that
moves only when slept on); a deletion held after a network failure goes again when its hold
ends, not when the overall thirty-a-second budget frees (it does not count toward it); when
that budget frees, the oldest request waiting goes first, whichever chat is older; a chat
whose failing request was given up starts its next back-off at one second again."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.error import NetworkError

from rampart.clock import SimClock
from rampart.telegram.pacer import Pacer
from tests.telegram.conftest import DrivenClock
from tests.telegram.test_pacer import START, _settle


def _run(scenario: Any) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(10):  # a hang is a failure, not a stuck suite
            await scenario()

    asyncio.run(bounded())


def _post(tries: list[tuple[int, str]], clock: SimClock, text: str, fails: int = 0):  # type: ignore[no-untyped-def]
    left = [fails]

    async def post() -> dict[str, Any]:
        tries.append((clock.now_ms() - START, text))
        if left[0]:
            left[0] -= 1
            raise NetworkError("down")
        return {"text": text}

    return post


def test_a_one_millisecond_wait_is_slept_not_skipped() -> None:
    async def scenario() -> None:
        clock = SimClock(START)  # moves only when the pacer sleeps on it
        pacer, tries = Pacer(clock, chat_gap_ms=1), []
        for text in ("first", "second"):
            asked = pacer.process_request(
                _post(tries, clock, text), (), {}, "sendMessage", {"chat_id": 7}, None
            )
            await asked
        assert tries == [(0, "first"), (1, "second")]
        await pacer.shutdown()

    _run(scenario)


def test_a_held_deletion_goes_again_when_its_hold_ends_whatever_the_overall_budget() -> None:
    async def scenario() -> None:
        clock = DrivenClock(START)
        pacer, tries = Pacer(clock, overall_per_s=2), []

        def ask(text: str, endpoint: str, chat: int, fails: int = 0) -> asyncio.Task[Any]:
            post = _post(tries, clock, text, fails)
            call = pacer.process_request(post, (), {}, endpoint, {"chat_id": chat}, None)
            return asyncio.create_task(call)

        deletion = ask("delete", "deleteMessage", 7, fails=1)  # fails: held one second
        await _settle()
        clock.set(START + 500)
        await _settle()
        sent = [ask("to 1", "sendMessage", 1), ask("to 2", "sendMessage", 2)]
        await asyncio.gather(*sent)  # the overall budget is full until START + 1 500
        assert pacer.next_due_ms() == START + 1_000
        clock.set(START + 1_000)
        await asyncio.wait_for(deletion, 5)
        assert tries == [(0, "delete"), (500, "to 1"), (500, "to 2"), (1_000, "delete")]
        await pacer.shutdown()

    _run(scenario)


def test_when_the_overall_budget_frees_the_oldest_waiting_request_goes_first() -> None:
    async def scenario() -> None:
        clock = SimClock(START)
        pacer, tries = Pacer(clock, overall_per_s=1), []

        async def ask(text: str, chat: int) -> Any:
            post = _post(tries, clock, text)
            return await pacer.process_request(post, (), {}, "sendMessage", {"chat_id": chat}, None)

        # Chat 1's queue is older than chat 2's, but its second request came after chat 2's.
        await asyncio.gather(ask("1a", 1), ask("2a", 2), ask("1b", 1))
        assert tries == [(0, "1a"), (1_000, "2a"), (2_000, "1b")]
        await pacer.shutdown()

    _run(scenario)


def test_a_chat_whose_failing_request_was_given_up_starts_its_back_off_afresh() -> None:
    async def scenario() -> None:
        clock = DrivenClock(START)
        pacer, tries = Pacer(clock), []

        def ask(text: str) -> asyncio.Task[Any]:
            post = _post(tries, clock, text, fails=1)
            call = pacer.process_request(post, (), {}, "sendMessage", {"chat_id": 7}, None)
            return asyncio.create_task(call)

        gone = ask("given up")  # fails: held one second
        await _settle()
        gone.cancel()  # its caller gave up during the hold: the chat's queue is drained
        await _settle()
        clock.set(START + 1_000)
        await _settle()
        later = ask("later")  # fails once too: one second again, not two
        await _settle()
        clock.set(START + 2_000)
        await asyncio.wait_for(later, 5)
        assert tries == [(0, "given up"), (1_000, "later"), (2_000, "later")]
        await pacer.shutdown()

    _run(scenario)
