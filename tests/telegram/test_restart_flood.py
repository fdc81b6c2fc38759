"""Every command answered across a restart: 50 investors send six commands
each; the bot stops with most replies still waiting their turn at the pacer (the pace clock
held still), and the next start answers every command exactly once — or, when it waited past
``telegram.command_max_age_s``, says it took too long. (Before, 211 of 300 were never answered.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rampart.telegram.durable import TOO_LATE
from tests.telegram.conftest import SYMBOLS, DrivenClock, TgService
from tests.telegram.flood_demo import SIX

IDS = list(range(30_000, 30_050))


async def _flood_then_stop(svc: TgService) -> dict[int, int]:
    """Push 300 commands, let the bot handle them all with the pace clock still (a first round
    of 30 answers goes out), then stop it; the count of answers each investor had before."""
    svc.keeper.cancel()  # the pace stays put: replies past the first round wait
    await svc.register(IDS)
    marks = {uid: len(svc.api.texts(uid)) for uid in IDS}
    for command in SIX:
        for uid in IDS:
            svc.api.push_text(uid, command)
    pacer = svc.bot.pacer
    assert pacer is not None
    await svc.until(lambda: pacer.stats.sent + pacer.queued() >= len(IDS) * len(SIX), 60)
    svc.stop.set()
    await asyncio.wait_for(svc.task, timeout=30)
    return marks


def test_three_hundred_commands_are_answered_once_across_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, pace=DrivenClock()) as svc:
            marks = await _flood_then_stop(svc)
            before = sum(len(svc.api.texts(uid)) - marks[uid] for uid in IDS)
            assert before < 300, before  # stopped mid-flood
            await svc.start_bot(SYMBOLS)
            total = len(IDS) * len(SIX)
            await svc.until(
                lambda: sum(len(svc.api.texts(u)) - marks[u] for u in IDS) >= total, 120
            )
            await svc.until_quiet()  # nothing left that could still send an answer twice
            for uid in IDS:
                answers = svc.api.texts(uid)[marks[uid] :]
                assert len(answers) == len(SIX), (uid, answers)
                assert not any("went wrong" in a or a == TOO_LATE for a in answers)
            assert svc.api.refusals() == []

    asyncio.run(scenario())


def test_commands_waiting_past_the_age_are_answered_too_late_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        telegram = {"command_max_age_s": 60}
        async with TgService(tmp_path, pace=DrivenClock(), telegram=telegram) as svc:
            marks = await _flood_then_stop(svc)
            before = {uid: len(svc.api.texts(uid)) - marks[uid] for uid in IDS}
            svc.pace.advance(120_000)  # the bot was down two minutes
            await svc.start_bot(SYMBOLS)
            total = len(IDS) * len(SIX)
            await svc.until(
                lambda: sum(len(svc.api.texts(u)) - marks[u] for u in IDS) >= total, 120
            )
            await svc.until_quiet()
            for uid in IDS:
                answers = svc.api.texts(uid)[marks[uid] :]
                # What went before the stop, then one "too late" per command still waiting.
                assert len(answers) == len(SIX), (uid, answers)
                assert answers.count(TOO_LATE) == len(SIX) - before[uid]

    asyncio.run(scenario())
