"""A notice is checked against the account when it leaves, not when it was queued:
"trading goes on" never reaches an investor whose account is under the kill switch
again, paused or halted by the time the notice goes out."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rampart.notices.investor_notices import claims_normal
from tests.telegram.conftest import ALICE, OPERATOR
from tests.telegram.notices_support import NoticeService


def test_which_notices_claim_the_account_trades_normally() -> None:
    assert claims_normal("state|tg-1|active|5")
    assert claims_normal("kill|tg-1|False|5|ab") and claims_normal("pause|tg-1|False|5|ab")
    assert not claims_normal("state|tg-1|halted|5")
    assert not claims_normal("kill|tg-1|True|5|ab") and not claims_normal("pause|tg-1|True|5|x")
    assert not claims_normal("breaker|tg-1|drawdown|5") and not claims_normal("entry|x")


def test_a_release_told_after_the_kill_switch_is_engaged_again_is_not_sent(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with NoticeService(tmp_path) as svc:
            await svc.onboard(ALICE)
            svc.outbox._deliverer = lambda: None  # no bot: queued while the operator acts
            await svc.send(OPERATOR, "/kill drill")
            await svc.send(OPERATOR, "/unkill drill over")
            await svc.send(OPERATOR, "/kill again")
            svc.outbox._deliverer = lambda: svc.bot
            await svc.drain()
            told = svc.notices(ALICE, "the kill switch")
            assert len(told) == 2 and all("engaged" in t for t in told), told
            assert svc.outbox.stats.dropped >= 1
            # Released for good: now it is true, and told.
            await svc.send(OPERATOR, "/unkill all clear")
            await svc.delivered(ALICE, "released the kill switch")

    asyncio.run(scenario())


def test_a_resume_told_while_the_operator_paused_the_account_again_is_not_sent(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with NoticeService(tmp_path) as svc:
            await svc.onboard(ALICE)
            svc.outbox._deliverer = lambda: None
            await svc.send(OPERATOR, "/pause_user tg-101 checking")
            await svc.send(OPERATOR, "/resume_user tg-101")
            await svc.send(OPERATOR, "/pause_user tg-101 again")
            svc.outbox._deliverer = lambda: svc.bot
            await svc.drain()
            assert svc.notices(ALICE, "resumed your account") == []
            assert len(svc.notices(ALICE, "paused your account")) == 2

    asyncio.run(scenario())


def test_on_a_fleet_a_breaker_counts_once_the_mirror_has_caught_up() -> None:
    """Under ``rampart serve`` the leave-time check covered only the kill switch and pauses: a
    "trades normally again" notice went out while a breaker had halted the account again, the
    mirror having loaded the new halt. A breaker now counts once the mirror's state is as new as
    the event the notice tells; an older mirror may still show the halt the notice lifts."""
    from types import SimpleNamespace

    from rampart.risk.restrictions import HALTED, KILL_SWITCH, MAX_DRAWDOWN, PAUSED, Restriction
    from rampart.wiring.notices import trades_normally

    halted = Restriction(MAX_DRAWDOWN, HALTED, "fell 21 % from its peak", needs_operator=True)
    shown: dict[str, tuple[Restriction, ...]] = {"tg-1": (halted,)}
    operator = SimpleNamespace(
        is_running=lambda a: a in shown, restrictions=lambda a: shown.get(a, ())
    )
    bot = SimpleNamespace(operator=operator)
    loaded: dict[str, int] = {"tg-1": 900}
    check = trades_normally(bot, loaded.get)  # type: ignore[arg-type]
    assert check("tg-1", 1_000) is True  # the mirror predates the release: its halt is old
    loaded["tg-1"] = 1_100
    assert check("tg-1", 1_000) is False  # loaded after the release, halted again: not true
    assert check("tg-2", 1_000) is None
    shown["tg-1"] = (Restriction(KILL_SWITCH, PAUSED, "drill", needs_operator=True),)
    loaded["tg-1"] = 0
    assert check("tg-1", 1_000) is False  # the kill switch: the mirror has it at once
    assert trades_normally(bot)("tg-1", 1_000) is False  # one process: every cause counts
