"""Telegram's flood limits: the Bot API stand-in answers 429 with
``retry_after`` past one message a second in a chat, thirty a second overall and twenty a minute
in a group, counted on the simulated clock the bot paces on. Every message the bot sends
(command replies, investor notices, operator alerts) goes through one limiter on that clock, so
with 50 investors sending six commands each every command is answered, later but never lost,
and a 429 is waited out instead of dropping the answer. No wall-time sleeps: the limiter waits
on the injected clock, which moves when it sleeps."""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections import defaultdict
from pathlib import Path

from rampart.observability.notify import FIRING, Notice
from tests.telegram.conftest import ALICE, OPERATOR, TgService

FIRST_ID = 30_000
INVESTORS = 50
COMMANDS = ["/portfolio", "/profit", "/balance", "/trades", "/why", "/help"]
ANSWERS = ["<b>Portfolio</b>", "<b>Profit</b>", "<b>Balance</b>", "", "", "<b>Commands</b>"]
FAILED = "Something went wrong"
GROUP = -1_001_234


def _most_in(stamps: list[float], window_s: float) -> int:
    """The most stamps inside any window of ``window_s`` seconds."""
    stamps = sorted(stamps)
    return max(
        (bisect.bisect_left(stamps, t + window_s) - i for i, t in enumerate(stamps)), default=0
    )


def assert_within_limits(sent_at: list[tuple[float, int]]) -> None:
    """What the stand-in accepted keeps Telegram's limits (checked again from its stamps)."""
    per_chat: dict[int, list[float]] = defaultdict(list)
    for stamp, chat in sent_at:
        per_chat[chat].append(stamp)
    for chat, stamps in per_chat.items():
        gaps = [b - a for a, b in itertools.pairwise(sorted(stamps))]
        assert all(g >= 1.0 - 1e-9 for g in gaps), (chat, min(gaps))
        if chat < 0:
            assert _most_in(stamps, 60.0) <= 20, chat
    assert _most_in([s for s, _ in sent_at], 1.0) <= 30


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def test_fifty_investors_sending_six_commands_each_all_get_their_answers(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, limits=True) as svc:
            ids = list(range(FIRST_ID, FIRST_ID + INVESTORS))
            await svc.register(ids)
            start = svc.ops.now_ms() / 1000
            mark = len(svc.api.sent_at)
            last = 0
            # Everyone at once: each investor's first command, then each one's second, …
            for command in COMMANDS:
                for uid in ids:
                    last = svc.api.push_text(uid, command)
            await svc.until(lambda: svc.bot.processed >= last, limit_s=120)

            for uid in ids:
                texts = svc.api.texts(uid)
                assert len(texts) == len(COMMANDS), (uid, texts)
                assert not any(FAILED in t or "too fast" in t for t in texts), (uid, texts)
                # In the order asked: a chat's answers are never reordered.
                for text, heading in zip(texts, ANSWERS, strict=True):
                    assert text.startswith(heading), (uid, text[:80])
            sent = svc.api.sent_at[mark:]
            assert len(sent) == INVESTORS * len(COMMANDS)
            # Kept under the limit by the bot, not by Telegram's refusals.
            assert svc.api.limited == []
            assert_within_limits(sent)
            waits = [stamp - start for stamp, _ in sent]
            # Six answers in one chat take at least five seconds, 300 at thirty a second ten:
            # the answers were paced, and none waited for long.
            assert max(waits) >= 9.0
            assert _p99(waits) < 30.0

    asyncio.run(scenario())


def test_a_429_on_a_reply_is_waited_out_and_the_answer_arrives(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE)
            svc.ops.advance(5_000)
            svc.api.limits = True
            svc.api.stamp = lambda: svc.ops.now_ms() / 1000
            svc.api.flood[ALICE] = [7]  # Telegram holds Alice's chat for seven seconds
            asked = svc.ops.now_ms() / 1000
            answer = await svc.send(ALICE, "/portfolio")
            assert svc.api.flooded == [ALICE]
            assert len(answer) == 1 and answer[0].startswith("<b>Portfolio</b>"), answer
            (stamp,) = [s for s, chat in svc.api.sent_at if chat == ALICE][-1:]
            assert stamp >= asked + 7
            assert svc.api.limited == []

    asyncio.run(scenario())


def _alert(n: int) -> Notice:
    return Notice(FIRING, f"Drill{n}", "P2", f"drill-{n}", "A drill.", None, 1.0, ">", 60_000, 0, n)


def test_operator_alerts_share_the_limit_with_replies(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, limits=True) as svc:
            notifier = svc.bot.notifier()
            mark = len(svc.api.sent_at)
            sends = [notifier.send(_alert(n)) for n in range(5)]
            results = await asyncio.gather(
                *sends, svc.send(OPERATOR, "/status"), return_exceptions=True
            )
            assert not [r for r in results if isinstance(r, BaseException)], results
            texts = svc.api.texts(OPERATOR)
            assert sum(1 for t in texts if "Drill" in t) == 5
            assert any(t.startswith("<b>Status</b>") for t in texts)
            assert svc.api.limited == []
            assert_within_limits(svc.api.sent_at[mark:])

    asyncio.run(scenario())


def test_a_group_gets_at_most_twenty_messages_a_minute(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, limits=True) as svc:
            last = 0
            for _ in range(25):
                last = svc.api.push_text(OPERATOR, "/status", chat=GROUP)
            await svc.until(lambda: svc.bot.processed >= last, limit_s=60)
            answers = svc.api.texts(GROUP)
            assert len(answers) == 25 and all(a.startswith("<b>Status</b>") for a in answers)
            stamps = [s for s, chat in svc.api.sent_at if chat == GROUP]
            assert stamps[-1] - stamps[0] >= 60.0  # the 21st waited for the minute to pass
            assert svc.api.limited == []
            assert_within_limits(svc.api.sent_at)

    asyncio.run(scenario())
