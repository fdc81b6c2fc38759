"""The alert itself: a P0 alert to an operator chat that never wrote to
the bot is a failure the alert engine hears (it logs it and records it on the incident), not
a silent 403; once the operator has sent /start, the same notifier delivers it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rampart.observability.notify import FIRING, FanOut, LogNotifier, Notice, NotifyError
from tests.telegram.conftest import OPERATOR, TgService


def _mass_trips(ts: int) -> Notice:
    return Notice(
        FIRING, "MassBreakerTrips", "P0", "MassBreakerTrips", "5 accounts tripped a breaker "
        "within 10 minutes", 5.0, 5.0, ">=", ts, ts, incident_id=7,
    )  # fmt: skip


def test_a_p0_alert_is_not_lost_silently_before_the_operator_wrote(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, operator_wrote=False) as svc:
            fan_out = FanOut([LogNotifier(), svc.bot.notifier()])
            notice = _mass_trips(svc.ops.now_ms())
            with pytest.raises(NotifyError) as failed:
                await fan_out.send(notice)
            assert "telegram failed" in failed.value.message
            assert "can't initiate conversation" in failed.value.message
            assert svc.api.refusals("sendMessage"), "Telegram refused it: nothing arrived"
            assert not any("MassBreakerTrips" in t for t in svc.api.texts(OPERATOR))

            await svc.send(OPERATOR, "/start")
            await fan_out.send(notice)  # the engine's repeat of the open incident
            (alert,) = [t for t in svc.api.texts(OPERATOR) if "MassBreakerTrips" in t]
            assert "[P0] FIRING" in alert and "(incident 7)" in alert

    asyncio.run(scenario())
