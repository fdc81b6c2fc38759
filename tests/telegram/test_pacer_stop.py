"""The pacer's stop and a request's place while another is on its way (rampart.telegram.pacer),
on a clock the test moves, no wall sleep: a stop lets the request on its way be answered, fails
what is still queued with why and logs how many, ends an idle dispatcher by waking it, and is
bounded when an answer never comes; a request queued while its chat's head is on its way never
takes that head's place (a money request goes right behind it), and two deletions in one chat
are each their own queue."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import structlog
from telegram.error import NetworkError

from rampart.telegram import pacer as pacer_module
from rampart.telegram.pacer import Pacer
from tests.telegram.conftest import DrivenClock
from tests.telegram.test_pacer import START, _settle

STOPPED = "The bot stopped before sending this."


class Gated:
    """Telegram's side: records each try in order; a text in ``gates`` waits for its event
    (it is on its way meanwhile), a text in ``fails`` fails on the network once."""

    def __init__(self) -> None:
        self.tries: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.fails: set[str] = set()

    def call(self, text: str):  # type: ignore[no-untyped-def]
        async def post() -> dict[str, Any]:
            self.tries.append(text)
            gate = self.gates.get(text)
            if gate is not None:
                await gate.wait()
            if text in self.fails:
                self.fails.discard(text)
                raise NetworkError("down")
            return {"text": text}

        return post


def _ask(pacer: Pacer, api: Gated, text: str, endpoint: str = "sendMessage") -> asyncio.Task[Any]:
    request = pacer.process_request(api.call(text), (), {}, endpoint, {"chat_id": 7}, None)
    return asyncio.create_task(request)


def _run(scenario: Any) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(10):  # a hang is a failure, not a stuck suite
            await scenario()

    asyncio.run(bounded())


def _info_logs() -> Any:
    # The suite's conftest filters below ERROR; these tests read a warning line.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    return structlog.testing.capture_logs()


def test_a_stop_lets_the_request_on_its_way_finish_and_fails_the_queued_ones_saying_why() -> None:
    async def scenario() -> None:
        clock = DrivenClock(START)
        api, pacer = Gated(), Pacer(clock)
        api.gates["on its way"] = asyncio.Event()
        before = structlog.get_config()["wrapper_class"]
        try:
            with _info_logs() as logs:
                going = _ask(pacer, api, "on its way")
                await _settle()
                queued = [_ask(pacer, api, "queued 1"), _ask(pacer, api, "queued 2")]
                await _settle()
                stopping = asyncio.create_task(pacer.shutdown())
                await _settle()
                assert not stopping.done()  # waiting for the answer on its way
                api.gates["on its way"].set()
                await stopping
        finally:
            structlog.configure(wrapper_class=before)
        assert await going == {"text": "on its way"}
        for task in queued:
            with pytest.raises(NetworkError) as failed:
                await task
            assert failed.value.message == STOPPED
        assert api.tries == ["on its way"] and pacer.queued() == 0
        lines = [e for e in logs if e["event"] == "telegram_unsent_at_stop"]
        assert [(e["log_level"], e["messages"]) for e in lines] == [("warning", 2)]

    _run(scenario)


def test_a_stop_with_nothing_queued_logs_nothing_and_refuses_what_comes_after() -> None:
    async def scenario() -> None:
        clock = DrivenClock(START)
        api, pacer = Gated(), Pacer(clock)
        await _ask(pacer, api, "sent")
        before = structlog.get_config()["wrapper_class"]
        try:
            with _info_logs() as logs:
                await pacer.shutdown()
        finally:
            structlog.configure(wrapper_class=before)
        assert [e for e in logs if e["event"] == "telegram_unsent_at_stop"] == []
        with pytest.raises(NetworkError) as refused:
            await _ask(pacer, api, "after the stop")
        assert refused.value.message == "The bot is stopping; nothing more is sent."
        assert api.tries == ["sent"]

    _run(scenario)


@pytest.mark.parametrize("waiting", ["idle", "for a chat's next second"])
def test_a_stop_wakes_the_dispatcher_which_ends_by_itself(
    monkeypatch: pytest.MonkeyPatch, waiting: str
) -> None:
    # Bounded wall time for the case the dispatcher is never woken: it would then be cancelled.
    monkeypatch.setattr(pacer_module, "STOP_WAIT_S", 0.05)

    async def scenario() -> None:
        clock = DrivenClock(START)
        api, pacer = Gated(), Pacer(clock)
        await _ask(pacer, api, "sent")
        later = _ask(pacer, api, "next second") if waiting != "idle" else None
        await _settle()
        dispatcher = pacer._task
        assert dispatcher is not None and not dispatcher.done()
        await pacer.shutdown()
        assert dispatcher.done() and not dispatcher.cancelled()
        if later is not None:
            with pytest.raises(NetworkError):
                await later

    _run(scenario)


def test_a_stop_is_bounded_when_the_answer_on_its_way_never_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pacer_module, "STOP_WAIT_S", 0.05)

    async def scenario() -> None:
        clock = DrivenClock(START)
        api, pacer = Gated(), Pacer(clock)
        api.gates["never answered"] = asyncio.Event()  # never set
        going = _ask(pacer, api, "never answered")
        await _settle()
        dispatcher = pacer._task
        await pacer.shutdown()
        assert dispatcher is not None and dispatcher.cancelled()
        # Cut off: its caller hears the stop (Telegram may have it: sent again after a restart).
        with pytest.raises(NetworkError) as failed:
            await going
        assert failed.value.message == STOPPED

    _run(scenario)


def test_requests_queued_while_the_head_is_on_its_way_go_after_it_by_lane() -> None:
    async def scenario() -> None:
        clock = DrivenClock(START)
        api, pacer = Gated(), Pacer(clock)
        api.gates["r1"] = asyncio.Event()
        jobs = [_ask(pacer, api, "r1")]
        await _settle()  # r1 on its way
        for text, endpoint in [("r2", "sendMessage"), ("m", "editMessageText")]:
            jobs.append(_ask(pacer, api, text, endpoint))
            await _settle()
        jobs.append(_ask(pacer, api, "r3"))
        await _settle()
        api.gates["r1"].set()
        for second in range(1, 4):
            await _settle()
            clock.set(START + second * 1_000)
        await asyncio.gather(*jobs)
        assert api.tries == ["r1", "m", "r2", "r3"]
        await pacer.shutdown()

    _run(scenario)


def test_a_request_that_failed_on_its_way_keeps_the_head_over_one_queued_meanwhile() -> None:
    async def scenario() -> None:
        clock = DrivenClock(START)
        api, pacer = Gated(), Pacer(clock)
        api.gates["reply"] = asyncio.Event()
        api.fails.add("reply")
        reply = _ask(pacer, api, "reply")
        await _settle()
        outcome = _ask(pacer, api, "outcome", "editMessageText")  # queued while it is on its way
        await _settle()
        api.gates["reply"].set()  # then it fails: held one second, still first in its chat
        for second in range(1, 3):
            await _settle()
            clock.set(START + second * 1_000)
        await asyncio.gather(reply, outcome)
        assert api.tries == ["reply", "reply", "outcome"]
        await pacer.shutdown()

    _run(scenario)


def test_two_deletions_in_one_chat_each_go_at_once() -> None:
    async def scenario() -> None:
        clock = DrivenClock(START)
        api, pacer = Gated(), Pacer(clock)
        api.gates["delete 1"] = asyncio.Event()
        first = _ask(pacer, api, "delete 1", "deleteMessage")
        second = _ask(pacer, api, "delete 2", "deleteMessage")
        await _settle()
        # The first still on its way, the second went beside it: no queue between them.
        assert api.tries == ["delete 1", "delete 2"] and await second == {"text": "delete 2"}
        api.gates["delete 1"].set()
        assert await first == {"text": "delete 1"}
        await pacer.shutdown()

    _run(scenario)
