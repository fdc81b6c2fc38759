"""``/report`` gives an investor their own weekly summary; ``/daily`` is for operators."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rampart.reports.period import ms_day
from rampart.store import queries
from tests.telegram.conftest import ALICE, OPERATOR, TgService


def test_report_and_daily_commands(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.trade(1500)
            account = f"tg-{ALICE}"
            trades = queries.trades(svc.session.db, account)
            assert trades
            day = ms_day(trades[0].closed_at)
            svc.ops.set(max(svc.ops.now_ms(), trades[0].closed_at + 8 * 86_400_000))

            text = "\n".join(await svc.send(ALICE, f"/report {day.isoformat()}"))
            assert "<b>Your week," in text and f"Account {account}" in text
            assert "<pre>" in text and "trades closed" in text and "![" not in text

            bad = await svc.send(ALICE, "/report 2024-02-31")
            assert bad == ["'2024-02-31' is not a date; write it as YYYY-MM-DD, e.g. 2024-03-01."]

            # An investor's /daily DATE is their own business day, never the service's report.
            own = "\n".join(await svc.send(ALICE, f"/daily {day.isoformat()}"))
            assert f"</b>, {day.isoformat()}" in own and "trades closed" in own
            assert "Rampart daily report" not in own
            daily = "\n".join(await svc.send(OPERATOR, f"/daily {day.isoformat()}"))
            assert f"<b>Rampart daily report, {day.isoformat()} (UTC)</b>" in daily
            assert all(len(m) <= 4096 for m in await svc.send(OPERATOR, f"/daily {day}"))

    asyncio.run(scenario())
